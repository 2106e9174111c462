<CsoundSynthesizer>
<CsOptions>
-odac -d -m0
</CsOptions>
<CsInstruments>
; csbridge demo orchestra, run by mappings/default.yaml.
;
; Plug in a MIDI keyboard: its notes play the polyphonic synth (instr 1,
; through Csound's MIDI input), its controllers shape it through the channels
; cc1..cc8 and cc74 (values 0..1, as the default mapping writes them).
; Plug in a sensor board printing "light=512", "dist=80" or "pot=300": the
; ambient voice (instr 10, always on) follows it. With nothing plugged in the
; ambient voice plays a quiet, dark drone.
;
; Input channels (written by the bridge)
;   cc1   mod wheel: vibrato depth and a little filter (also MIDI CC 1 itself)
;   cc2   synth filter resonance                      default 0.2
;   cc3   synth detune (chorus)                       default 0.3
;   cc4   synth attack, 3 ms .. 1.8 s                 default 0.1
;   cc5   synth release, 80 ms .. 3.2 s               default 0.35
;   cc6   reverb amount                               default 0.35
;   cc7   master volume                               default 0.8
;   cc8   ambient voice level                         default 0.6
;   cc74  synth brightness (filter cutoff)            default 0.6
;   light raw 0..1023: brightness of the ambient voice (0: dark)
;   dist  distance in cm, 0..400: nearer plays a pentatonic "theremin" voice
;         and deepens the tremolo; 0 or beyond 300 cm is silence for that voice
;   pot   raw 0..1023: motion and width of the ambient voice
;   mode  string: "minor" turns the ambient chord and theremin scale minor
; Output channels (for feedback and `csbridge ctl get`)
;   level  RMS of the output, 0..1
;   led    level as an LED brightness, 0..255 (whole numbers)
;   voices number of synth notes sounding

sr = 48000
ksmps = 64
nchnls = 2
0dbfs = 1

massign 0, 1          ; every MIDI channel plays the synth
pgmassign 0, 0        ; program changes do not pick instruments

; Declares a control input channel and gives it its value until the bridge
; writes one.
opcode ControlIn, 0, Si
  Sname, idefault xin
  chn_k Sname, 1
  chnset idefault, Sname
endop

ControlIn "cc1", 0
ControlIn "cc2", 0.2
ControlIn "cc3", 0.3
ControlIn "cc4", 0.1
ControlIn "cc5", 0.35
ControlIn "cc6", 0.35
ControlIn "cc7", 0.8
ControlIn "cc8", 0.6
ControlIn "cc74", 0.6
ControlIn "light", 0
ControlIn "dist", 0
ControlIn "pot", 0
chn_S "mode", 1
chn_k "level", 2
chn_k "led", 2
chn_k "voices", 2

gaRevL init 0
gaRevR init 0
gaDryL init 0
gaDryR init 0

; A channel clamped to 0..1 and smoothed, so steps from a knob do not click.
opcode Knob, k, S
  Sname xin
  kv chnget Sname
  kv limit kv, 0, 1
  kv port kv, 0.02
  xout kv
endop

; --- the synth: one instance per MIDI note ---------------------------------
instr 1
  inote notnum
  ivel veloc 0, 1
  iatt = 0.003 * 600 ^ limit(chnget:i("cc4"), 0, 1)
  irel = 0.08 * 40 ^ limit(chnget:i("cc5"), 0, 1)
  kenv madsr iatt, 0.5, 0.65, irel

  kwheel ctrl7 1, 1, 0, 1
  kmod = max(kwheel, Knob("cc1"))
  kbend pchbend 0, 2
  kvib poscil 0.3 * kmod, 5.3
  kcps = cpsmidinn(inote + kbend + kvib)

  kdet = 0.0008 + 0.006 * Knob("cc3")
  a1 vco2 0.4, kcps * (1 + kdet)
  a2 vco2 0.4, kcps * (1 - kdet)
  a3 vco2 0.35, kcps * 0.5, 12
  asig = a1 + a2 + a3

  kbright = Knob("cc74")
  kcut = cpsmidinn(inote) * (1 + 12 * kbright * kbright) * (0.35 + 0.65 * kenv) + 1200 * kmod
  kcut limit kcut, 60, 15000
  kres = 0.05 + 0.6 * Knob("cc2")
  asig moogladder asig, kcut, kres

  kvol = Knob("cc7")
  asig = asig * kenv * (0.25 + 0.75 * ivel * ivel) * 0.3 * kvol * kvol
  ipan = 0.25 + 0.5 * limit((inote - 36) / 60, 0, 1)
  aL = asig * sqrt(1 - ipan)
  aR = asig * sqrt(ipan)
  gaDryL += aL
  gaDryR += aR
  ksend = Knob("cc6")
  gaRevL += aL * ksend
  gaRevR += aR * ksend
endin

; --- the ambient voice: always on, follows the sensor board -----------------
instr 10
  klight chnget "light"
  klight port limit(klight, 0, 1023) / 1023, 0.25
  kpot chnget "pot"
  kpot port limit(kpot, 0, 1023) / 1023, 0.25
  kdist chnget "dist"
  Smode chnget "mode"
  kminor = strcmpk(Smode, "minor") == 0 ? 1 : 0
  klevel = Knob("cc8")

  ; A drone on D: root, fifth, octave and a third that turns minor with mode.
  kthird port 4 - kminor, 0.5
  kdet = 0.002 + 0.01 * kpot
  kwide poscil 1, 0.07
  a1 vco2 0.3, cpsmidinn(38) * (1 + kdet * kwide)
  a2 vco2 0.3, cpsmidinn(45) * (1 - kdet)
  a3 vco2 0.25, cpsmidinn(50) * (1 + kdet)
  a4 vco2 0.2, cpsmidinn(50 + kthird) * (1 - kdet * kwide)
  a5 vco2 0.2, cpsmidinn(57), 12
  apad = a1 + a2 + a3 + a4 + a5

  ; Light opens the filter (350 Hz in the dark, ~8 kHz in full light); the pot
  ; speeds up its slow sweep.
  ksweep poscil 0.4, 0.03 + 0.4 * kpot
  kcut = 350 * 2 ^ (4.5 * klight + ksweep)
  apad moogladder apad, kcut, 0.15 + 0.2 * klight

  ; Something near the distance sensor (1..300 cm): nearer is more.
  kon = (kdist >= 1 && kdist <= 300) ? 1 : 0
  kprox = kon == 1 ? 1 - kdist / 300 : 0
  kprox port kprox, 0.1
  ktrem poscil 0.5, 1.5 + 6 * kprox
  apad = apad * (1 - 0.6 * kprox * (0.5 + ktrem))

  ; ...and plays a pentatonic voice, its note picked by the distance.
  kmajor[] fillarray 0, 2, 4, 7, 9
  kminors[] fillarray 0, 3, 5, 7, 10
  kstep = int(limit(kprox, 0, 0.999) * 15)
  kdeg = kminor == 1 ? kminors[kstep % 5] : kmajor[kstep % 5]
  ktnote = 62 + 12 * int(kstep / 5) + kdeg
  ktnote portk ktnote, 0.04
  kvib poscil 0.15, 5
  kgate port kon, 0.15
  atheremin poscil 1, cpsmidinn(ktnote + kvib)
  aover poscil 0.3, cpsmidinn(ktnote + kvib) * 2
  atheremin = (atheremin + aover) * kgate * 0.05

  ; The filter passes less in the dark: make up for part of it.
  asig = (apad * 0.25 * (1.3 - 0.5 * klight) + atheremin) * klevel
  kpan poscil 0.2, 0.05
  aL = asig * (0.5 - kpan)
  aR = asig * (0.5 + kpan)
  gaDryL += aL
  gaDryR += aR
  gaRevL += aL * 0.8
  gaRevR += aR * 0.8
endin

; --- the mix: reverb, a soft limiter, monitoring channels -------------------
instr 99
  arevL, arevR reverbsc gaRevL, gaRevR, 0.86, 9000
  aL = gaDryL + 0.6 * arevL
  aR = gaDryR + 0.6 * arevR
  aL dcblock2 aL
  aR dcblock2 aR
  ; Linear up to 0.75, then a soft knee that never passes 0.95.
  aL clip aL, 0, 0.95, 0.8
  aR clip aR, 0, 0.95, 0.8
  outs aL, aR
  clear gaRevL, gaRevR, gaDryL, gaDryR

  klevel rms (aL + aR) * 0.5
  chnset klevel, "level"
  chnset int(limit(klevel * 4, 0, 1) * 255), "led"
  chnset active:k(1), "voices"
endin

alwayson 10
alwayson 99
</CsInstruments>
<CsScore>
f0 z
</CsScore>
</CsoundSynthesizer>
