; Round-trip bench orchestra (outvalue variant): copies control channel "x" to
; "y" every k-cycle, y sent with outvalue. Used by bench/run for every host
; (csbridge, the Python ctcsound host, and the csound command alone as floor).
<CsoundSynthesizer>
<CsOptions>
-d -m0 -b64 -B128
</CsOptions>
<CsInstruments>
sr = 48000
ksmps = 64
nchnls = 1
0dbfs = 1

chn_k "x", 1
chn_k "y", 2

instr 1
  kx chnget "x"
  outvalue "y", kx
endin
</CsInstruments>
<CsScore>
i1 0 z
</CsScore>
</CsoundSynthesizer>
