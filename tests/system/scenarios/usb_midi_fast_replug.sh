# A USB MIDI controller unplugged and plugged back faster than one `scan`
# period (0.2 s): the port comes back under the same name and client number,
# with the bridge's subscriptions gone. The replug must be noticed: values
# after it reach the orchestra and the feedback is sent again.
usb_setup 1
midi_gadget nano 0x0944 0x0117 "KORG INC." "nanoKONTROL2" "RIG0001"
plug nano
eventually 20 seq_port nanoKONTROL2 || fail "no ALSA client for the nanoKONTROL2"
controller nano

csd /tmp/t.csd '
instr 1
  outvalue "fb", chnget:k("knob")
endin
alwayson 1'
cat >/tmp/t.yaml <<'YAML'
csound:
  csd: t.csd
scan: 2s
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
send_midi nano b0 01 40
eventually 10 value_is knob 64 || fail "CC 1 = 64 never reached the orchestra (knob=$(value knob))"

for i in 1 2 3; do
  : >/tmp/nano.rx
  unplug nano
  sleep 0.2
  plug nano
  eventually 10 seq_port nanoKONTROL2 || fail "replug $i: no ALSA client"
  v=$((16 + i))
  # The controller's side needs its rawmidi open again before it can send.
  sleep 0.5
  send_midi nano b0 01 "$(printf %02x $v)"
  eventually 6 value_is knob $v || fail "replug $i: a CC after a replug within one scan never arrived (knob=$(value knob)); devices: $(ctl devices)"
  eventually 6 received nano "b0 02 40" || eventually 1 received nano "b0 02 $(printf %02x $v)" ||
    fail "replug $i: feedback not sent again: $(cat /tmp/nano.rx)"
  log "fast replug $i: noticed"
done
