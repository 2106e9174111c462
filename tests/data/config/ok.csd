<CsoundSynthesizer>
<CsInstruments>
sr = 48000
ksmps = 64
nchnls = 1
0dbfs = 1

; Copies channel "x" to channel "y": enough for config tests and `csbridge check`.
instr 1
  kx chnget "x"
  chnset kx, "y"
endin
alwayson 1
</CsInstruments>
<CsScore>
f0 z
</CsScore>
</CsoundSynthesizer>
