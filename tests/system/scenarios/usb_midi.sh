# A USB MIDI controller (a nanoKONTROL2's ids) over the real snd-usb-audio
# driver and the ALSA sequencer: a CC reaches the orchestra, feedback reaches
# the controller, an unplug is seen, and after a slow replug both work again
# and the last feedback value is sent again.
usb_setup 1
midi_gadget nano 0x0944 0x0117 "KORG INC." "nanoKONTROL2" "RIG0001"
plug nano
eventually 20 seq_port nanoKONTROL2 || fail "no ALSA client for the nanoKONTROL2"
log "ALSA clients:"; cat /proc/asound/seq/clients | grep '^Client'
controller nano

csd /tmp/t.csd '
instr 1
  outvalue "fb", chnget:k("knob")
endin
alwayson 1'
cat >/tmp/t.yaml <<'YAML'
csound:
  csd: t.csd
midi:
  api: alsa
devices:
  nano:
    midi: "nanoKONTROL2*"
map:
  - {from: nano cc 1, to: knob, range: raw}
feedback:
  - {from: fb, to: nano cc 2, range: [0, 127], rate: 0}
YAML
bridge /tmp/t.yaml
eventually 30 state_is running || fail "not running"
eventually 10 device_is connected || fail "the controller was never connected"
log "connected: $(ctl devices)"

send_midi nano b0 01 40
eventually 10 value_is knob 64 || fail "CC 1 = 64 never reached the orchestra (knob=$(value knob))"
eventually 10 received nano "b0 02 40" || fail "feedback CC 2 = 64 never reached the controller: $(cat /tmp/nano.rx)"
log "CC in and feedback out over ALSA and USB"

unplug nano
eventually 10 device_is absent || fail "the unplug was not seen: $(ctl devices)"
log "unplug seen"
sleep 1.5
: >/tmp/nano.rx
plug nano
eventually 10 device_is connected || fail "the replug was not seen: $(ctl devices)"
eventually 10 received nano "b0 02 40" || fail "feedback not sent again after the replug: $(cat /tmp/nano.rx)"
send_midi nano b0 01 21
eventually 10 value_is knob 33 || fail "CC after the replug never arrived (knob=$(value knob))"
log "replug: values and feedback again"
