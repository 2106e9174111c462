# rig: systemd
# rig: full
# The show day, one scripted run with no hand on the service: systemd boots
# with nothing plugged in and the unit (installed by tools/install, with
# `watch: true`) reaches READY; a controller and a board are plugged in and
# both play; a bad config is saved and reloaded (refused, the old one plays
# on, the error in the journal); a CSD that does not compile is saved (the
# old performance plays on); both cables are pulled mid-note (no note left
# sounding) and plugged back in the other order; the guest is reset like a
# power cut mid-show, and after the boot the values are back, the devices
# play again, and the service plays without anything done to it. k-cycles
# are sampled every 100 ms all along: the longest silence (k-cycles not
# advancing) must be no longer than the one a `ctl reset` makes.
state=/var/lib/csb-rig
mkdir -p "$state"
phase=1
[ -f "$state/phase" ] && phase=2
echo "$phase" >"$state/phase"
log "boot $phase: systemd $(systemctl --version | head -1 | cut -d' ' -f2) is PID 1"
usb_setup 2
modprobe snd-dummy || fail "no snd-dummy"
eventually 30 test -d /run/udev || fail "systemd-udevd is not running"

bridge_config=/etc/csbridge/csbridge.yaml
show_csd=/etc/csbridge/show.csd
byid=/dev/serial/by-id/usb-Arduino__www.arduino.cc__Arduino_Uno_SHOW0001-if00
journal() { journalctl -b -u csbridge -o cat --no-pager; }
unit_is() { [ "$(systemctl show -p ActiveState --value csbridge)" = "$1" ]; }
board() { stty -F /dev/ttyGS0 raw -echo 2>/dev/null; printf "$1" >/dev/ttyGS0; }
connected() { ctl devices | grep -o "\"name\":\"$1\",[^}]*" | grep -q '"state":"connected"'; }
gadgets() {  # the controller and the board, made (they live in the kernel)
  midi_gadget nano 0x0944 0x0117 "KORG INC." "nanoKONTROL2" "SHOW0001"
  acm_gadget uno 0x2341 0x0043 "Arduino (www.arduino.cc)" "Arduino Uno" "SHOW0001"
  controller nano
}
plug_controller() {
  plug nano dummy_udc.0
  eventually 20 connected keys || fail "the controller was not opened: $(ctl devices)"
  sleep 0.3
}
plug_board() {
  plug uno dummy_udc.1
  eventually 20 connected uno || fail "the board was not opened: $(ctl devices)"
  sleep 0.5
}
# both_play CC LIGHT WHEN: CC 7 at CC (hex) reaches cc7 and "light LIGHT"
# reaches light.
both_play() {
  send_midi nano b0 07 "$1"
  eventually 10 value_near cc7 "$(awk -v c=$((16#$1)) 'BEGIN { print c / 127 }')" ||
    fail "the controller does not play $3 (cc7=$(value cc7))"
  board "light $2\n"
  eventually 10 value_is light "$2" || fail "the board does not play $3 (light=$(value light))"
}
# The k-cycle count every 100 ms, from the control socket: "MS KCYCLES"
# lines, -1 while the service does not answer.
sample_kcycles() {
  python3 -c '
import json, socket, sys, time
out = open(sys.argv[1], "a", buffering=1)
while True:
    t, k = int(time.time() * 1000), -1
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(0.5)
        s.connect("/run/csbridge/control.sock")
        s.sendall(b"status\n")
        buf = b""
        while b"\n" not in buf:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        s.close()
        k = json.loads(buf.split(b"\n")[0])["csound"]["kcycles"]
    except Exception:
        pass
    out.write("%d %d\n" % (t, k))
    time.sleep(0.1)
' "$1" &
  pids+=($!)
}
# longest_silence FILE [FROM TO]: the longest time (ms) the k-cycle count
# did not advance, within FROM..TO (ms) when given.
longest_silence() {
  awk -v from="${2:-0}" -v to="${3:-9999999999999}" '
    $1 < from || $1 > to { next }
    !started { started = 1; last = $1; prev = $2; next }
    { if ($2 >= 0 && $2 != prev) last = $1; else if ($1 - last > max) max = $1 - last; prev = $2 }
    END { print max + 0 }' "$1"
}

if [ "$phase" = 1 ]; then
  csd "$state/show.csd" '
massign 0, 1
instr 1
  a1 oscili 0.1 * chnget:k("cc7"), cpsmidinn(notnum())
  outs a1, a1
endin
instr 10
  chnset active:k(1), "notes"
endin
alwayson 10' "-+rtaudio=alsa -odac:hw:Dummy,0"
  mkdir -p /etc/csbridge
  cp "$state/show.csd" "$show_csd"
  cat >"$bridge_config" <<'YAML'
csound:
  csd: show.csd
  watch: true
devices:
  keys:
    midi: "nanoKONTROL2*"
    passthrough: true
  uno:
    serial: /dev/serial/by-id/usb-Arduino*
    baud: 115200
    format: lines
map:
  - {from: keys cc 7, to: cc7}
  - {from: uno light, to: light}
YAML
  cp "$bridge_config" "$state/good.yaml"
  "$CSB_ROOT/tools/install" >/tmp/install.log 2>&1 || { cat /tmp/install.log; fail "tools/install failed"; }
  eventually 60 unit_is active || fail "the unit never became active: $(systemctl status csbridge --no-pager 2>&1 | tail -20)"
  log "nothing plugged in, the unit is READY: $(systemctl show -p StatusText --value csbridge)"
  sample_kcycles "$state/k.1"
  eventually 30 state_is running || fail "not running: $(ctl status)"

  gadgets
  plug_controller
  plug_board
  both_play 7f 512 "once plugged in"
  log "a controller and a board plugged in: both play"

  # The silence of one reset: what every other silence is held to.
  sleep 1
  t0=$(date +%s%3N)
  ctl reset >/dev/null || fail "ctl reset refused"
  eventually 30 state_is running || fail "the reset never ended"
  sleep 1
  t1=$(date +%s%3N)
  reset_silence=$(longest_silence "$state/k.1" "$t0" "$t1")
  log "one reset: $reset_silence ms without k-cycles"

  printf 'scan: often\n' >>"$bridge_config"
  systemctl reload csbridge || fail "systemctl reload failed"
  eventually 10 bash -c 'journalctl -b -u csbridge -o cat --no-pager | grep -q "still running the configuration loaded before"' ||
    fail "the refused reload is not in the journal: $(journal | tail -10)"
  unit_is active && state_is running || fail "not playing after the refused reload: $(ctl status)"
  log "a bad config reloaded: refused ($(journal | grep -m1 -o 'csbridge.yaml:[0-9]*:[0-9]*: scan.*')), the old one plays on"
  cp "$state/good.yaml" "$bridge_config"

  sed -i 's/^endin$/endinn/' "$show_csd"
  eventually 10 bash -c "\"$CSB_BIN\" ctl --config $bridge_config status | grep -q '\"watch_error\":\"[^\"]'" ||
    fail "the bad CSD was not reported: $(ctl status)"
  state_is running || fail "the bad CSD stopped the performance: $(ctl status)"
  board "light 600\n"
  eventually 10 value_is light 600 || fail "not playing with the bad CSD saved (light=$(value light))"
  log "a CSD that does not compile saved: reported, the old performance plays on"
  cp "$state/show.csd" "$show_csd"  # fixed: watched, a reset plays it
  eventually 10 bash -c "\"$CSB_BIN\" ctl --config $bridge_config status | grep -q '\"watch_error\":\"\"'" ||
    fail "the fixed CSD was not taken: $(ctl status)"
  eventually 30 state_is running || fail "the fixed CSD does not play: $(ctl status)"

  send_midi nano 90 3c 64
  eventually 10 value_is notes 1 || fail "the note did not sound (notes=$(value notes))"
  unplug nano
  unplug uno
  eventually 10 value_is notes 0 || fail "a note is left sounding with the cables pulled (notes=$(value notes))"
  log "both cables pulled mid-note: no note left sounding"
  plug_board
  board "light 300\n"
  eventually 10 value_is light 300 || fail "the board does not play after the replug (light=$(value light))"
  plug_controller
  send_midi nano b0 07 40
  eventually 10 value_near cc7 0.50394 || fail "the controller does not play after the replug (cc7=$(value cc7))"
  log "plugged back in the other order: both play"

  sleep 2  # values are saved at most once a second
  longest=$(longest_silence "$state/k.1")
  log "boot 1: the longest silence was $longest ms (one reset: $reset_silence ms)"
  [ "$longest" -le $((reset_silence + 250)) ] || fail "a silence of $longest ms, longer than one reset ($reset_silence ms)"
  echo "$longest $reset_silence" >"$state/silence"
  sync
  log "the power goes mid-show"
  echo b >/proc/sysrq-trigger
  sleep 30
  fail "the guest did not reset"
fi

# Boot 2: nothing is done to the service.
unit_is active || fail "the unit is not active after the boot: $(systemctl status csbridge --no-pager 2>&1 | tail -20)"
up=$(journalctl -b -u csbridge -o short-monotonic --no-pager | grep -m1 "csound: playing" | sed -n 's/^\[ *\([0-9]*\)\.\([0-9]\{3\}\).*/\1\2/p')
log "boot 2: playing ${up} ms after the kernel started, started by systemd: $(systemctl show -p StatusText --value csbridge)"
value_near cc7 0.50394 || fail "cc7 not back after the power cut (cc7=$(value cc7))"
value_is light 300 || fail "light not back after the power cut (light=$(value light))"
log "values back: cc7=$(value cc7) light=$(value light)"
gadgets
plug_controller
plug_board
both_play 00 42 "after the boot"
log "devices back: both play"
read -r longest reset_silence <"$state/silence"
log "the show day: the longest silence while playing was $longest ms (one reset: $reset_silence ms); the power cut: playing again $up ms after the kernel started"
