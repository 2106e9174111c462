; MIDI round-trip bench, Csound's own MIDI row (see bench/README.md): CC 1 on
; channel 1 from Csound's MIDI input (-+rtmidi=jack -M...) is sent back as
; CC 2 on channel 1 (midiout, on change) through Csound's MIDI output (-Q...).
<CsoundSynthesizer>
<CsOptions>
-d -m0 -b64 -B128 -+raw_controller_mode=1
</CsOptions>
<CsInstruments>
sr = 48000
ksmps = 64
nchnls = 1
0dbfs = 1

massign 0, 0 ; no instrument is started by MIDI notes

instr 1
  kval ctrl7 1, 1, 0, 127
  kprev init -1
  if kval != kprev then
    midiout 176, 1, 2, kval
    kprev = kval
  endif
endin
</CsInstruments>
<CsScore>
i1 0 z
</CsScore>
</CsoundSynthesizer>
