# rig: systemd
# The appliance as a board runs it: systemd booted as PID 1, a sound card
# present, csbridge installed by tools/install and started as its unit with
# the unit's real hardening (no capabilities, closed device policy, address
# families, system-call filter), notify and journal, on the default config
# with its `*` MIDI glob narrowed to the controller (`*` would also take the
# gadget's own side, f_midi, which only the rig has). The unit reaches READY and plays to the card; a USB MIDI controller
# and an Arduino plugged in afterwards both play through the hardening (udev's
# events included); a bad config saved and reloaded leaves the old one
# playing, with the error in the journal; a service that stops answering is
# restarted by systemd's watchdog and plays again.
log "systemd $(systemctl --version | head -1 | cut -d' ' -f2) is PID 1"
usb_setup 2
modprobe snd-dummy || fail "no snd-dummy"
eventually 30 test -d /run/udev || fail "systemd-udevd is not running"

mkdir -p /etc/csbridge
sed -e 's|csd: \.\./csd/|csd: /usr/local/share/csbridge/csd/|' -e 's|midi: "\*"|midi: "nanoKONTROL2*"|' \
  "$CSB_ROOT/mappings/default.yaml" >/etc/csbridge/csbridge.yaml
grep -q 'midi: "nanoKONTROL2\*"' /etc/csbridge/csbridge.yaml || fail "the default config has no midi: \"*\" to narrow"
"$CSB_ROOT/tools/install" >/tmp/install.log 2>&1 || { cat /tmp/install.log; fail "tools/install failed"; }
log "installed: $(tail -1 /tmp/install.log)"
grep -q "kept /etc/csbridge/csbridge.yaml" /tmp/install.log || fail "tools/install did not keep the config: $(cat /tmp/install.log)"
bridge_config=/etc/csbridge/csbridge.yaml
journal() { journalctl -u csbridge -o cat --no-pager; }
unit_is() { [ "$(systemctl show -p ActiveState --value csbridge)" = "$1" ]; }
eventually 60 unit_is active || fail "the unit never became active: $(systemctl status csbridge --no-pager 2>&1 | tail -20)"
log "active (READY=1 sent): $(systemctl show -p StatusText --value csbridge)"
eventually 30 state_is running || fail "not running: $(ctl status)"
eventually 10 bash -c 'journalctl -u csbridge -o cat --no-pager | grep -q "playing"' ||
  fail "the journal never said playing: $(journal | tail -20)"
ctl status | grep -q '"audio":"device"' || fail "not playing to the sound card: $(ctl status)"
log "plays to the card: $(grep RUNNING /proc/asound/card*/pcm0p/sub0/status | head -1)"
journal | grep -q "following udev's events" || fail "udev's events are not followed under the unit: $(journal | grep serial)"

# A controller plugged in while it plays: CC 7 goes to cc7 as 0..1.
midi_gadget nano 0x0944 0x0117 "KORG INC." "nanoKONTROL2" "RIG0001"
plug nano
eventually 20 seq_port nanoKONTROL2 || fail "no ALSA client for the nanoKONTROL2"
controller nano
eventually 10 bash -c 'csbridge_devices=$("$0" ctl --config /etc/csbridge/csbridge.yaml devices); [[ $csbridge_devices == *nanoKONTROL2* ]]' "$CSB_BIN" ||
  fail "the controller was not opened under the unit: $(ctl devices); $(journal | tail -10)"
sleep 0.3
send_midi nano b0 07 7f
eventually 10 value_is cc7 1 || fail "CC 7 never reached cc7 (cc7=$(value cc7)): $(journal | tail -10)"
log "a controller plugged in plays under the unit"

# An Arduino plugged in while it plays: its lines set channels by name.
acm_gadget uno 0x2341 0x0043 "Arduino (www.arduino.cc)" "Arduino Uno" "85736323838351F0E1A1"
plug uno dummy_udc.1
eventually 20 test -e /dev/ttyGS0 || fail "no /dev/ttyGS0"
eventually 10 bash -c 'journalctl -u csbridge -o cat --no-pager | grep -q "device acm: connected on /dev/ttyACM0"' ||
  fail "the board was not opened under the unit: $(ctl devices); $(journal | tail -10)"
sleep 0.5
stty -F /dev/ttyGS0 raw -echo
printf 'light 512\n' >/dev/ttyGS0
eventually 10 value_is light 512 || fail "light 512 never arrived (light=$(value light)): $(journal | tail -10)"
log "a board plugged in plays under the unit"

# A bad config saved and reloaded: refused, the old one plays on.
cp "$bridge_config" /tmp/good.yaml
printf 'scan: often\n' >>"$bridge_config"
systemctl reload csbridge || fail "systemctl reload failed"
eventually 10 bash -c 'journalctl -u csbridge -o cat --no-pager | grep -q "still running the configuration loaded before"' ||
  fail "the refused reload is not in the journal: $(journal | tail -10)"
journal | grep -q "csbridge.yaml:[0-9]*:[0-9]*: scan" || fail "the journal does not name the line: $(journal | tail -10)"
unit_is active && state_is running || fail "not playing after the refused reload: $(ctl status)"
send_midi nano b0 07 00
eventually 10 value_is cc7 0 || fail "the controller stopped playing after the refused reload"
log "a bad config reloaded: refused ($(journal | grep -m1 'csbridge.yaml:[0-9]*:[0-9]*: scan')), the old one plays on"
cp /tmp/good.yaml "$bridge_config"

# A service that stops answering (SIGSTOP: no watchdog ping comes):
# systemd's watchdog (WatchdogSec=10s) ends it and the unit starts it again;
# the kept values come back and the controller plays again.
pid=$(systemctl show -p MainPID --value csbridge)
restarts=$(systemctl show -p NRestarts --value csbridge)
restarted() { [ "$(systemctl show -p NRestarts --value csbridge)" -gt "$restarts" ]; }
kill -STOP "$pid"
eventually 60 restarted || fail "the watchdog never restarted the stopped service: $(systemctl show -p ActiveState,Result,NRestarts csbridge)"
journal | grep -qi "watchdog timeout" || fail "the journal does not say the watchdog fired: $(journal | tail -10)"
eventually 60 unit_is active || fail "the unit did not come back: $(systemctl show -p ActiveState,Result csbridge)"
eventually 30 state_is running || fail "not running after the watchdog's restart: $(ctl status)"
[ "$(systemctl show -p MainPID --value csbridge)" != "$pid" ] || fail "the same process after a restart"
eventually 10 value_is light 512 || fail "the kept value did not come back (light=$(value light))"
nano_connected() { ctl devices | grep -o '{[^{}]*nanoKONTROL2[^{}]*}' | grep -q '"state":"connected"'; }
eventually 20 nano_connected || fail "the controller was not opened again: $(ctl devices)"
sleep 0.3
send_midi nano b0 07 7f
eventually 10 value_is cc7 1 || fail "the controller does not play after the restart (cc7=$(value cc7))"
log "a hung service: the watchdog restarted it ($(journal | grep -i -m1 'watchdog timeout')), values and controller back"

# A clean stop: the unit ends inactive, not failed, and the values are kept.
systemctl stop csbridge
unit_is inactive || fail "the unit did not stop cleanly: $(systemctl show -p ActiveState,Result csbridge)"
grep -q '"light"' /var/lib/csbridge/values.json || fail "values not kept: $(cat /var/lib/csbridge/values.json)"
log "stopped cleanly, values kept in /var/lib/csbridge/values.json"
