# Every MIDI source kind, every MIDI feedback kind and passthrough notes over
# the real snd-usb-audio driver and the ALSA sequencer, from a USB MIDI
# controller (a nanoKONTROL2's ids): what the JACK tests check, on the path a
# board uses.
usb_setup 1
midi_gadget nano 0x0944 0x0117 "KORG INC." "nanoKONTROL2" "RIG0001"
plug nano
eventually 20 seq_port nanoKONTROL2 || fail "no ALSA client for the nanoKONTROL2"
controller nano
copied="vol pan2 fine np pbr n60 pt60 at prog bend tempo"
body=""
for n in $copied; do body+="  chnset chnget:k(\"$n\"), \"o_$n\""$'\n'; done
csd /tmp/t.csd "
massign 0, 0
massign 3, 7
instr 1
$body  outvalue \"level\", chnget:k(\"level_in\")
  chnset chnget:k(\"fine_in\"), \"fine_fb\"
  chnset chnget:k(\"lamp_in\"), \"lamp\"
  chnset active:k(7), \"active7\"
endin
alwayson 1
instr 7
  chnset notnum(), \"i7note\"
  chnset veloc(), \"i7vel\"
endin"
cat >/tmp/t.yaml <<YAML
csound:
  csd: t.csd
scan: 1s
midi:
  api: alsa
devices:
  nano:
    midi: "nanoKONTROL2*"
    passthrough: true
map:
$(cat "$CSB_ROOT/tests/data/midi/every_source_kind.yaml")
feedback:
  - {from: level, to: nano cc 20 ch 2, range: [0, 1], rate: 0}
  - {from: fine_fb, to: nano cc14 3, range: [0, 1], rate: 0}
  - {from: lamp, to: nano note 36, range: [0, 1], rate: 0}
YAML
bridge /tmp/t.yaml
eventually 30 state_is running || fail "not running"
eventually 10 device_is connected || fail "the controller was never connected"

# in: one kind at a time, each checked in the orchestra
check() {  # check NAME VALUE WHAT
  eventually 10 value_is "o_$1" "$2" || fail "$3 never reached the orchestra (o_$1=$(value "o_$1"))"
}
send_midi nano b0 07 63
check vol 99 "CC 7"
send_midi nano b0 0a 05 # channel 1: the mapping is for channel 2
send_midi nano b1 0a 4d
check pan2 77 "CC 10 on channel 2"
send_midi nano b0 21 03 b0 01 0a # LSB, then the MSB completes it
check fine $((10 * 128 + 3)) "cc14 1"
send_midi nano b0 63 02 b0 62 2c b0 06 14 b0 26 01 b0 60 01 # NRPN 300, data entry, increment
check np $((20 * 128 + 2)) "NRPN 300"
send_midi nano b0 65 00 b0 64 00 b0 06 0c b0 61 01 # RPN 0, data entry, decrement
check pbr $((12 * 128 - 1)) "RPN 0"
send_midi nano 90 3c 64
check n60 100 "note 60 on"
send_midi nano 90 3c 00
check n60 0 "note 60 off by velocity 0"
send_midi nano a0 3c 21
check pt60 33 "poly aftertouch"
send_midi nano d0 2c
check at 44 "channel aftertouch"
send_midi nano c0 07
check prog 7 "program change"
send_midi nano e0 00 50
check bend 2048 "pitch bend"
for i in $(seq 30); do
  send_midi nano f8
  sleep 0.02
done
has_tempo() { awk -v t="$(value o_tempo)" 'BEGIN { exit !(t > 0) }'; }
eventually 10 has_tempo || fail "MIDI clock gave no tempo (o_tempo=$(value o_tempo))"
log "every source kind over ALSA (clock: $(value o_tempo) BPM, from a shell under TCG)"

# passthrough: massign sends channel 3 to instr 7, channel 1 nowhere
send_midi nano 92 3e 65
eventually 10 value_is active7 1 || fail "a channel 3 note did not play instr 7 (active7=$(value active7))"
value_is i7note 62 && value_is i7vel 101 || fail "instr 7 saw note $(value i7note) velocity $(value i7vel)"
send_midi nano 82 3e 00
eventually 10 value_is active7 0 || fail "the note-off did not end instr 7"
log "passthrough notes play the instrument massign chose"

# out: every feedback kind reaches the controller
: >/tmp/nano.rx
ctl set level_in 0.5 >/dev/null
eventually 10 received nano "b1 14 40" || fail "feedback CC 20 on channel 2 never arrived: $(cat /tmp/nano.rx)"
ctl set fine_in 1 >/dev/null
eventually 10 received nano "b0 03 7f" || fail "feedback cc14 MSB never arrived: $(cat /tmp/nano.rx)"
eventually 10 received nano "b0 23 7f" || fail "feedback cc14 LSB never arrived: $(cat /tmp/nano.rx)"
ctl set lamp_in 1 >/dev/null
eventually 10 received nano "90 24 7f" || fail "feedback note 36 never arrived: $(cat /tmp/nano.rx)"
log "every feedback kind over ALSA: $(tr '\n' ',' </tmp/nano.rx)"
