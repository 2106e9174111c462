# A USB serial board (an Arduino Uno's ids, CDC ACM over the real cdc-acm
# driver) found by its /dev/serial/by-id name with udev running: its lines
# reach the orchestra and feedback lines reach it; unplugged mid-line, the
# board is seen gone, the half line is not taken for a value, and after the
# replug values arrive again and the last feedback is sent again. Then 3
# more replugs (10 with `rig --full`): with `scan: 30s`, each is opened from
# udev's event, and the time from the by-id link to the port open is printed.
# Last, DTR as the board sees it (usbmon): up after an open with the default
# dtr: true; with dtr: false (a reload), down right after each open.
uno_plugged
log "udev named it: $(ls /dev/serial/by-id)"

# The board: writes to its side of the link (the gadget's tty, raw).
board() {
  eventually 10 test -e /dev/ttyGS0 || fail "no /dev/ttyGS0"
  stty -F /dev/ttyGS0 raw -echo 2>/dev/null
  printf "$1" >/dev/ttyGS0
}

# What the bridge sends the board, read on the board's side.
: >/tmp/uno.rx
(while :; do cat /dev/ttyGS0 >>/tmp/uno.rx 2>/dev/null; sleep 0.05; done) &
pids+=($!)
board_got() { grep -q "$1" /tmp/uno.rx; }

# DTR as the board sees it: the host's SET_CONTROL_LINE_STATE requests
# (bmRequestType 21, bRequest 22; wValue bit 0 DTR, bit 1 RTS), read with
# usbmon on every bus.
modprobe usbmon || fail "no usbmon"
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
(cat /sys/kernel/debug/usb/usbmon/0u >/tmp/usbmon.txt) &
pids+=($!)
line_states() { grep -o ' s 21 22 [0-9a-f]\{4\}' /tmp/usbmon.txt | awk '{ printf "%s ", $4 }'; }
last_dtr() { local l; l=$(line_states); l=${l% }; echo $((0x${l##* } & 1)); }

csd /tmp/t.csd '
instr 1
  chnset chnget:k("light") * 2, "led"
endin
alwayson 1'
cat >/tmp/t.yaml <<'YAML'
csound:
  csd: t.csd
scan: 30s
devices:
  uno:
    serial: /dev/serial/by-id/usb-Arduino*
    baud: 115200
    format: lines
map:
  - {from: uno light, to: light}
feedback:
  - {from: led, to: uno, line: "led={value:d}"}
YAML
bridge /tmp/t.yaml
eventually 30 state_is running || fail "not running"
eventually 10 device_is connected || fail "the board was never connected: $(ctl devices)"
log "connected: $(ctl devices | grep -o '"port":"[^"]*"')"
sleep 0.3
[ "$(last_dtr)" = 1 ] || fail "DTR is not high after the open (dtr: true): $(line_states)"

# The port was just opened; give the link a moment, then send.
sleep 0.5
board "light 512\n"
eventually 10 value_is light 512 || fail "light 512 never arrived (light=$(value light))"
log "a line over USB ACM reached the orchestra"
eventually 10 board_got "led=1024" || fail "feedback led=1024 never reached the board: $(tail -c 200 /tmp/uno.rx)"
log "a feedback line reached the board"

board "light 77"   # no end of line: the cable goes mid-line
unplug uno
eventually 10 device_is absent || fail "the unplug was not seen: $(ctl devices)"
value_is light 512 || fail "the half line was taken for a value (light=$(value light))"
log "unplug mid-line seen, the half line dropped"
appearances /tmp/uno.appeared "os.path.exists('$byid')"
after_link=()
# replug I: plugs the board back (it was unplugged), expects it open well
# within the scan period and values and feedback working again.
replug() {
  local i=$1 v=$((100 + $1))
  : >/tmp/uno.rx
  eventually 10 gone_seen /tmp/uno.appeared || fail "replug $i: udev kept $byid after the unplug"
  log "replug $i (scan: 30s, so only udev's event opens it within 5 s)"
  plug_timed uno dummy_udc.0 /tmp/uno.appeared "device uno: connected on" 5
  after_link+=($((t_open - t_exists)))
  eventually 10 board_got "led=" || fail "replug $i: the last feedback was not sent again: $(tail -c 200 /tmp/uno.rx)"
  sleep 0.3
  board "light $v\n"
  eventually 10 value_is light $v || fail "replug $i: a line after the replug never arrived (light=$(value light))"
}
replug 1
log "replug: values again, feedback sent again"
n=3
[ "${CSB_RIG_FULL:-0}" = 1 ] && n=10
for i in $(seq 2 $((n + 1))); do
  unplug uno
  eventually 10 device_is absent || fail "unplug $i was not seen: $(ctl devices)"
  replug "$i"
done
log "over ${#after_link[@]} replugs, from the by-id link made to the port open: $(median_worst "${after_link[@]}")"

# reopened_by SED LABEL: the config edited with SED and reloaded, the board
# opened again; prints the control line states the board saw meanwhile.
opened_since() { [ "$(grep -c "device uno: connected on" /tmp/bridge.log)" -gt "$1" ]; }
reopened_by() {
  local before opens after
  sleep 0.5
  before=$(line_states)
  opens=$(grep -c "device uno: connected on" /tmp/bridge.log)
  sed -i "$1" /tmp/t.yaml
  ctl reload >/dev/null || fail "the reload with $2 was refused"
  eventually 10 opened_since "$opens" || fail "the board was not opened again with $2: $(tail -5 /tmp/bridge.log)"
  sleep 1
  after=$(line_states)
  echo "${after#"$before"}"
}

# dtr: false, by a reload (the device's settings changed: it is opened again).
first=$(line_states)
states=$(reopened_by 's/    format: lines/    format: lines\n    dtr: false/' "dtr: false")
log "control line states (wValue) seen by the board: at the opens so far '$first'; at the reopen with dtr: false '$states'"
[ "$(last_dtr)" = 0 ] || fail "dtr: false left DTR high: $states"
board "light 300\n"
eventually 10 value_is light 300 || fail "no line with dtr: false (light=$(value light))"
log "dtr: false: DTR low after the open, lines still arrive"

# Opened again with dtr: false kept (a baud change): what a reopen does.
states=$(reopened_by 's/    baud: 115200/    baud: 57600/' "baud 57600")
log "control line states at a reopen with dtr: false kept: '$states'"
[ "$(last_dtr)" = 0 ] || fail "a reopen with dtr: false left DTR high: $states"
