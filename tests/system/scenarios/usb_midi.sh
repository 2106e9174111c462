# A USB MIDI controller (a nanoKONTROL2's ids) over the real snd-usb-audio
# driver and the ALSA sequencer: a CC reaches the orchestra, feedback reaches
# the controller, an unplug is seen, and after a slow replug both work again
# and the last feedback value is sent again.
nano_bridge 1s
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
