<CsoundSynthesizer>
<CsOptions>
-odac -d -m0
</CsOptions>
<CsInstruments>
; csbridge demo orchestra, run by mappings/default.yaml and every map in
; mappings/ (docs/mappings.md lists them).
;
; Plug in a MIDI keyboard: its notes play the polyphonic synth (instr 1,
; through Csound's MIDI input): velocity sets loudness and brightness, pitch
; bend bends by up to 2 semitones, the mod wheel (MIDI CC 1 on channel 1)
; adds vibrato, the sustain pedal holds notes. Its
; controllers shape it through the channels cc1..cc10 and cc74 (values 0..1,
; as the default mapping writes them). Notes on MIDI channel 10 (drum pads:
; Akai MPD218, Arturia MiniLab) play a small drum kit, notes 35..51 in the
; General MIDI drum layout and tuned mallets above and below.
; Plug in a sensor board printing "light=512", "dist=80" or "pot=300": the
; ambient voice (instr 10, always on) follows it. With nothing plugged in the
; ambient voice plays a quiet, dark drone; it steps back while the synth plays.
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
;   cc9   echo amount (ping-pong delay)               default 0.15
;   cc10  echo time, 80 ms .. 1.2 s                   default 0.5
;   cc74  synth brightness (filter cutoff)            default 0.6
;   light raw 0..1023: brightness of the ambient voice (0: dark)
;   dist  distance in cm, 0..400: nearer plays a pentatonic "theremin" voice
;         and deepens the tremolo; 0 or beyond 300 cm is silence for that voice
;   pot   raw 0..1023: motion and width of the ambient voice
;   mode  string: "minor" turns the ambient chord, the theremin and the Scale
;         instrument minor
; Output channels (for feedback and `csbridge ctl get`)
;   level  RMS of the output, 0..1
;   led    level as an LED brightness, 0..255 (whole numbers)
;   meter  level in four steps, 0..3 (whole numbers): 0 silence or the drone
;          alone, 1 quiet playing, 2 playing, 3 loud; for LEDs
;   voices number of synth notes sounding
; Score instruments (for `score:` mappings)
;   i "Scale" 0 DUR STEP VEL [OFFSET]   plays step STEP+OFFSET of the D
;         pentatonic scale (from D3, five steps an octave) on the synth;
;         VEL 0..1
;   i "Drum" 0 DUR NOTE VEL             plays drum NOTE (General MIDI) or a
;         mallet; VEL 0..1; each sound lasts as long as it rings, whatever DUR
;   i 1 0 DUR NOTE VEL                  plays the synth; VEL 0..127

sr = 48000
ksmps = 64
nchnls = 2
0dbfs = 1

massign 0, 1          ; every MIDI channel plays the synth...
massign 10, 2         ; ...but channel 10, the drum pads' channel
pgmassign 0, 0        ; program changes do not pick instruments
maxalloc 1, 40        ; a bound on CPU for small boards, far above ten fingers

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
ControlIn "cc9", 0.15
ControlIn "cc10", 0.5
ControlIn "cc74", 0.6
ControlIn "light", 0
ControlIn "dist", 0
ControlIn "pot", 0
chn_S "mode", 1
chn_k "level", 2
chn_k "led", 2
chn_k "meter", 2
chn_k "voices", 2

giSine ftgen 0, 0, 16384, 10, 1

gaRevL init 0
gaRevR init 0
gaDryL init 0
gaDryR init 0
gaEcho init 0

; A channel clamped to 0..1 and smoothed, so steps from a knob do not click.
; The smoothing starts from the channel's value, not from 0: a note must not
; open with its volume and filter sweeping up.
opcode Knob, k, S
  Sname xin
  iv = limit(chnget:i(Sname), 0, 1)
  kv chnget Sname
  kv limit kv, 0, 1
  kv port kv, 0.02, iv
  xout kv
endop

; 1 while the "mode" channel says minor.
opcode IsMinor, k, 0
  Smode chnget "mode"
  xout strcmpk(Smode, "minor") == 0 ? 1 : 0
endop

; --- the synth: one instance per MIDI note, or `i 1 0 DUR NOTE VEL` -------
instr 1
  midinoteonkey p4, p5  ; a MIDI note writes its key and velocity into p4, p5
  inote = p4
  ivel = limit(p5 / 127, 0, 1)
  ichn midichn          ; 0 when a score event started the note
  ichn = ichn == 0 ? 1 : ichn

  iatt = 0.003 * 600 ^ limit(chnget:i("cc4"), 0, 1)
  irel = 0.08 * 40 ^ limit(chnget:i("cc5"), 0, 1)
  kenv madsr iatt, 0.6, 0.7, irel

  ; Vibrato from the mod wheel or the cc1 channel, fading in over a third of
  ; a second so a held wheel does not wobble the attack. (Not aftertouch:
  ; Csound reads it as full until a controller sends one.)
  kwheel ctrl7 ichn, 1, 0, 1
  kmod = max(kwheel, Knob("cc1"))
  kfade linseg 0, 0.35, 1
  kvib poscil 0.3 * kmod * kfade, 5.3
  kbend pchbend 0, 2
  kdrift randi 0.04, 0.7, 2     ; a slow, slight drift: two voices never beat alike
  kcps = cpsmidinn(inote + kbend + kvib + kdrift)

  kdet = 0.0008 + 0.006 * Knob("cc3")
  a1 vco2 0.4, kcps * (1 + kdet)
  a2 vco2 0.4, kcps * (1 - kdet)
  a3 vco2 0.35, kcps * 0.5, 12
  asig = a1 + a2 + a3

  ; Brightness from cc74, velocity and the envelope; the mod wheel opens it
  ; a little more.
  kbright = Knob("cc74")
  kcut = cpsmidinn(inote) * (1 + 12 * kbright * kbright) * (0.5 + 0.7 * ivel) \
         * (0.35 + 0.65 * kenv) + 1200 * kmod
  kcut limit kcut, 60, 15000
  kres = 0.05 + 0.6 * Knob("cc2")
  asig moogladder asig, kcut, kres

  kvol = Knob("cc7")
  iamp = 0.15 + 0.85 * ivel ^ 1.5
  asig = asig * kenv * iamp * 0.85 * kvol * kvol
  ipan = 0.25 + 0.5 * limit((inote - 36) / 60, 0, 1)
  aL = asig * sqrt(1 - ipan)
  aR = asig * sqrt(ipan)
  gaDryL += aL
  gaDryR += aR
  ksend = Knob("cc6")
  gaRevL += aL * ksend
  gaRevR += aR * ksend
  gaEcho += (aL + aR) * Knob("cc9")
endin

; --- MIDI channel 10: each note starts a one-shot drum, whatever its length --
instr 2
  inote notnum
  ivel veloc 0, 1
  event_i "i", "Drum", 0, 2, inote, ivel
  turnoff
endin

; --- `i "Drum" 0 DUR NOTE VEL`: a small synthesised kit ----------------------
instr Drum
  inote = p4
  iamp = 0.25 + 0.75 * limit(p5, 0, 1) ^ 1.5
  kvol = Knob("cc7")
  if inote == 35 || inote == 36 then              ; bass drum: a falling sine
    p3 = 0.6
    kpitch expseg 160, 0.05, 50, 0.5, 42
    kamp expseg 1, 0.45, 0.001
    asig poscil kamp, kpitch
    aclick expseg 1, 0.004, 0.001
    asig = (asig + rand:a(0.3) * aclick) * 1.1
    ipan = 0.5
  elseif inote == 38 || inote == 40 then          ; snare: noise and a tone
    p3 = 0.35
    anoise rand 1
    anoise butterbp anoise, 3200, 4000
    knenv expseg 1, 0.2, 0.001
    ktone expseg 1, 0.08, 0.001
    abody poscil ktone, 185
    asig = anoise * knenv * 0.7 + abody * 0.6
    ipan = 0.45
  elseif inote == 37 then                         ; side stick
    p3 = 0.12
    kenv expseg 1, 0.05, 0.001
    asig butterbp rand:a(1), 1700, 600
    asig = (asig * 1.5 + poscil:a(0.5, 520)) * kenv
    ipan = 0.4
  elseif inote == 39 then                         ; hand clap: three bursts and a tail
    p3 = 0.4
    aphase phasor 90
    aburst = (1 - aphase) ^ 4 * linseg:a(1, 0.033, 1, 0, 0)
    atail expseg 0.001, 0.033, 0.001, 0.001, 0.8, 0.25, 0.001
    asig butterbp rand:a(1), 1300, 900
    asig = asig * (aburst + atail) * 1.3
    ipan = 0.55
  elseif inote == 42 || inote == 44 || inote == 46 then   ; hi-hats, closed and open
    idec = inote == 46 ? 0.45 : 0.06
    p3 = idec + 0.05
    kenv expseg 1, idec, 0.001
    asig buthp rand:a(1), 7000
    asig = asig * kenv * 0.5
    ipan = 0.65
  elseif inote == 49 || inote == 57 || inote == 51 || inote == 59 then   ; cymbals
    idec = (inote == 51 || inote == 59) ? 0.9 : 1.6
    p3 = idec
    kenv expseg 1, idec, 0.001
    ; inharmonic square partials, as analogue machines make them
    am = vco2:a(1, 587, 10) + vco2:a(1, 845, 10) + vco2:a(1, 1097, 10) + vco2:a(1, 1391, 10)
    asig buthp am * 0.25 + rand:a(0.5), 5000
    asig = asig * kenv * 0.35
    ipan = 0.35
  elseif inote >= 41 && inote <= 50 then          ; toms, tuned by note
    p3 = 0.55
    ihz = 70 * 2 ^ ((inote - 41) / 12)
    kpitch expseg ihz * 1.6, 0.03, ihz, 0.5, ihz * 0.85
    kamp expseg 1, 0.5, 0.001
    asig poscil kamp, kpitch
    ipan = 0.3 + 0.4 * (inote - 41) / 9
  else                                            ; anything else: a tuned mallet
    p3 = 1.4
    icps = cpsmidinn(inote)
    kenv expseg 1, 1.3, 0.001
    kidx expseg 3, 0.25, 0.3
    asig foscili kenv * 0.5, icps, 1, 3.5, kidx, giSine
    asig += poscil:a(kenv * 0.3, icps * 4) * expseg:k(1, 0.2, 0.01)
    ipan = 0.25 + 0.5 * limit((inote - 36) / 60, 0, 1)
  endif
  adeclick linseg 1, p3 - 0.01, 1, 0.01, 0   ; whatever is left fades, never cuts
  asig = asig * adeclick * iamp * kvol * kvol
  aL = asig * sqrt(1 - ipan)
  aR = asig * sqrt(ipan)
  gaDryL += aL
  gaDryR += aR
  gaRevL += aL * 0.15
  gaRevR += aR * 0.15
endin

; --- `i "Scale" 0 DUR STEP VEL [OFFSET]`: a step of the pentatonic on D -----
; Buttons and pads without notes of their own play in the ambient voice's key.
instr Scale
  istep = p4 + p6 < 0 ? 0 : p4 + p6
  imajor[] fillarray 0, 2, 4, 7, 9
  iminor[] fillarray 0, 3, 5, 7, 10
  Smode chnget "mode"
  ideg = strcmp(Smode, "minor") == 0 ? iminor[istep % 5] : imajor[istep % 5]
  inote = 50 + 12 * int(istep / 5) + ideg
  event_i "i", 1, 0, p3, inote, 127 * limit(p5, 0, 1)
  turnoff
endin

; --- the ambient voice: always on, follows the sensor board -----------------
instr 10
  klight chnget "light"
  klight port limit(klight, 0, 1023) / 1023, 0.25
  kpot chnget "pot"
  kpot port limit(kpot, 0, 1023) / 1023, 0.25
  kdist chnget "dist"
  kminor IsMinor
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

  ; The drone steps back (by about 8 dB) while synth notes sound, so it does
  ; not fight a key other than D; it comes back slowly after the last one.
  kplaying = active:k(1) > 0 ? 1 : 0
  kduck portk kplaying, kplaying == 1 ? 0.3 : 2.5
  apad = apad * (1 - 0.6 * kduck)

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

; --- the mix: echo, reverb, a limiter, monitoring channels -------------------
instr 99
  ; Ping-pong echo: the first repeat on the left, the next on the right...
  ; Its time glides when cc10 moves, like a tape echo, instead of clicking.
  ktime = 0.08 * 15 ^ Knob("cc10")
  ktime port ktime, 0.3
  atime interp ktime
  aechoIn tone gaEcho, 5000
  abufL delayr 1.5
  aechoL deltapi atime
  abufR delayr 1.5
  aechoR deltapi atime
  ; delayw pairs with the delayr lines in the order they were declared.
  delayw aechoIn + tone(aechoR, 3500) * 0.45
  delayw tone(aechoL, 3500) * 0.45

  arevL, arevR reverbsc gaRevL + aechoL * 0.3, gaRevR + aechoR * 0.3, 0.86, 9000
  aL = gaDryL + 0.6 * arevL + 0.7 * aechoL
  aR = gaDryR + 0.6 * arevR + 0.7 * aechoR
  aL dcblock2 aL
  aR dcblock2 aR
  clear gaRevL, gaRevR, gaDryL, gaDryR, gaEcho

  ; A peak limiter that looks one block (1.3 ms) ahead: the gain is worked
  ; out from the block about to be played and reaches it before its first
  ; sample, so peaks stay at 0.7 without a click; it recovers over about half
  ; a second. Ten notes struck at full velocity stay clean; the soft clip
  ; after it is only a safety net.
  kpeakL max_k aL, 1, 1
  kpeakR max_k aR, 1, 1
  kpeak = max(kpeakL, kpeakR)
  kwant = kpeak > 0.7 ? 0.7 / kpeak : 1
  kgain init 1
  kgain = kwant < kgain ? kwant : kgain + (kwant - kgain) * 0.006
  again interp kgain
  aL delay aL, 1 / kr
  aR delay aR, 1 / kr
  aL = aL * again
  aR = aR * again
  ; Linear up to 0.76, then a soft knee that never passes 0.95.
  aL clip aL, 0, 0.95, 0.8
  aR clip aR, 0, 0.95, 0.8
  outs aL, aR

  klevel rms (aL + aR) * 0.5
  chnset klevel, "level"
  chnset int(limit(klevel * 4, 0, 1) * 255), "led"
  kmeter = klevel < 0.01 ? 0 : (klevel < 0.05 ? 1 : (klevel < 0.15 ? 2 : 3))
  chnset kmeter, "meter"
  chnset active:k(1), "voices"
endin

alwayson 10
alwayson 99
</CsInstruments>
<CsScore>
f0 z
</CsScore>
</CsoundSynthesizer>
