# A USB MIDI controller unplugged and plugged back faster than one `scan`
# period (0.2 s): the port comes back under the same name and client number,
# with the bridge's subscriptions gone. The replug must be noticed: values
# after it reach the orchestra and the feedback is sent again.
nano_bridge 2s

opened_more_than() { [ "$(grep -c "MIDI input .* connected" /tmp/bridge.log)" -gt "$1" ]; }
ms_of_log() { date -d "$(echo "$1" | cut -c1-23)" +%s%3N; }  # a bridge log line's time
latencies=()
last=40  # the feedback value the controller had last
for i in 1 2 3; do
  : >/tmp/nano.rx
  unplug nano
  sleep 0.2
  before=$(grep -c "MIDI input .* connected" /tmp/bridge.log)
  t_plug=$(date +%s%3N)
  plug nano
  eventually 10 opened_more_than "$before" ||
    fail "replug $i: the input was not opened again: $(ctl devices)"
  t_open=$(ms_of_log "$(grep "MIDI input .* connected" /tmp/bridge.log | tail -1)")
  latencies+=($((t_open - t_plug)))
  log "replug $i: input open again $((t_open - t_plug)) ms after the plug (USB enumeration included)"
  v=$((16 + i))
  eventually 6 received nano "b0 02 $last" || fail "replug $i: feedback $last not sent again: $(cat /tmp/nano.rx)"
  send_midi nano b0 01 "$(printf %02x $v)"
  eventually 6 value_is knob $v || fail "replug $i: a CC after a replug within one scan never arrived (knob=$(value knob)); devices: $(ctl devices)"
  last=$(printf %02x $v)
  log "fast replug $i: noticed"
done
sorted=($(printf '%s\n' "${latencies[@]}" | sort -n))
log "from plug to input open: median ${sorted[1]} ms, worst ${sorted[2]} ms (under TCG)"
