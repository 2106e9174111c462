; MIDI round-trip bench orchestra for the hosts that map MIDI to channels
; (csbridge, bench/midi_python_host.py; see bench/README.md): copies control
; channel "x" (CC 1 from the test controller, raw 0..127) to "y" every
; k-cycle, y sent with outvalue; the host sends y back as CC 2. Also the CPU
; floor: `csound -odac -+rtaudio=null` on this file alone.
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
