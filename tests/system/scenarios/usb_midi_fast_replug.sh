# A USB MIDI controller unplugged and plugged back 5 times in a row (50 with
# `rig --full`), mostly faster than one `scan` period (0.1 to 0.3 s): the port
# comes back under the same name and client number, with the bridge's
# subscriptions gone. Every 5th gap is 1 s long, and `status` must then say
# the port is gone. Then 1 replug (5 with --full) while a reset runs. Every
# replug must be noticed: values after it reach the orchestra and the last
# feedback value is sent again.
replugs=5 during_reset=1
[ "${CSB_RIG_FULL:-0}" = 1 ] && replugs=50 during_reset=5
nano_bridge 2s

latencies=() after_port=()
# When the kernel lists the controller's client again.
appearances /tmp/nano.appeared 'b"\"nanoKONTROL2\"" in open("/proc/asound/seq/clients", "rb").read()'
last=40 # the feedback value the controller had last

# replug I GAP [RESET]: unplug, wait GAP seconds, plug; with RESET, a reset
# is asked for just before the plug.
replug() {
  local i=$1 gap=$2 reset=${3:-}
  : >/tmp/nano.rx
  unplug nano
  sleep "$gap"
  eventually 5 gone_seen /tmp/nano.appeared || fail "replug $i: the port was still listed ${gap}s after the unplug"
  if [ "$gap" = 1 ]; then
    device_is connected && fail "replug $i: status says connected with the controller unplugged: $(ctl devices)"
  fi
  [ -n "$reset" ] && { ctl reset >/dev/null || fail "replug $i: ctl reset refused"; }
  plug_timed nano dummy_udc.0 /tmp/nano.appeared "MIDI input .* connected"
  [ -z "$reset" ] && { latencies+=($((t_open - t_plug))); after_port+=($((t_open - t_exists))); }
  local v=$((i % 100 + 1))
  eventually 6 received nano "b0 02 $last" || fail "replug $i: feedback $last not sent again: $(cat /tmp/nano.rx)"
  [ -n "$reset" ] && { eventually 20 state_is running || fail "replug $i: the reset never ended"; }
  send_midi nano b0 01 "$(printf %02x $v)"
  eventually 6 value_is knob $v || fail "replug $i: a CC after the replug never arrived (knob=$(value knob)); devices: $(ctl devices)"
  last=$(printf %02x $v)
}

gaps=(0.1 0.2 0.3)
for i in $(seq 1 "$replugs"); do
  gap=${gaps[$((i % 3))]}
  ((i % 5 == 0)) && gap=1
  replug "$i" "$gap"
done
log "$replugs replugs noticed, feedback sent again and values after each"
for i in $(seq $((replugs + 1)) $((replugs + during_reset))); do replug "$i" 0.2 reset; done
log "$during_reset replugs during a reset noticed"

n=${#latencies[@]}
log "over $n replugs, from the plug to the input open: $(median_worst "${latencies[@]}") (USB enumeration included, under TCG)"
log "over $n replugs, from the port listed to the input open: $(median_worst "${after_port[@]}")"
connects=$(ctl devices | sed -n 's/.*"connects":\([0-9]*\).*/\1/p')
total=$((replugs + during_reset))
[ "$connects" -ge $((total + 1)) ] || fail "connects $connects after $total replugs"
