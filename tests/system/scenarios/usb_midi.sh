# A USB MIDI controller (a nanoKONTROL2's ids) over the real snd-usb-audio
# driver and the ALSA sequencer: a CC reaches the orchestra, feedback reaches
# the controller, an unplug is seen, and after a slow replug both work again
# and the last feedback value is sent again.
nano_bridge 1s
eventually 10 received nano "b0 02 40" || fail "feedback CC 2 = 64 never reached the controller: $(cat /tmp/nano.rx)"
log "CC in and feedback out over ALSA and USB"

# Every sequencer client of the bridge (RtMidi's ports, the announce
# listener) is open non-blocking: a send never waits on the kernel.
seq_fds=0
for fd in /proc/"$bridge_pid"/fd/*; do
  [ "$(readlink "$fd")" = /dev/snd/seq ] || continue
  flags=$(awk '/^flags:/ { print $2 }' /proc/"$bridge_pid"/fdinfo/"${fd##*/}")
  ((0$flags & 04000)) || fail "sequencer fd ${fd##*/} is blocking (flags $flags)"
  seq_fds=$((seq_fds + 1))
done
((seq_fds >= 3)) || fail "expected the announce client, an input and an output: $seq_fds sequencer fds"
log "$seq_fds sequencer clients, all non-blocking"

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
