# A USB serial board (an Arduino Uno's ids, CDC ACM over the real cdc-acm
# driver) found by its /dev/serial/by-id name with udev running: its lines
# reach the orchestra; unplugged mid-line, the board is seen gone, the half
# line is not taken for a value, and after the replug values arrive again.
usb_setup 1
acm_gadget uno 0x2341 0x0043 "Arduino (www.arduino.cc)" "Arduino Uno" "85736323838351F0E1A1"
udev_start
plug uno
byid=/dev/serial/by-id/usb-Arduino__www.arduino.cc__Arduino_Uno_85736323838351F0E1A1-if00
udevadm settle --timeout=30
eventually 20 test -e "$byid" || fail "no $byid: $(ls -l /dev/serial/by-id 2>&1)"
log "udev named it: $(ls /dev/serial/by-id)"

# The board: writes to its side of the link (the gadget's tty, raw).
board() {
  eventually 10 test -e /dev/ttyGS0 || fail "no /dev/ttyGS0"
  stty -F /dev/ttyGS0 raw -echo 2>/dev/null
  printf "$1" >/dev/ttyGS0
}

csd /tmp/t.csd '
instr 1
endin'
cat >/tmp/t.yaml <<'YAML'
csound:
  csd: t.csd
scan: 200ms
devices:
  uno:
    serial: /dev/serial/by-id/usb-Arduino*
    baud: 115200
    format: lines
map:
  - {from: uno light, to: light}
YAML
bridge /tmp/t.yaml
eventually 30 state_is running || fail "not running"
eventually 10 device_is connected || fail "the board was never connected: $(ctl devices)"
log "connected: $(ctl devices | grep -o '"port":"[^"]*"')"

# The port was just opened; give the link a moment, then send.
sleep 0.5
board "light 512\n"
eventually 10 value_is light 512 || fail "light 512 never arrived (light=$(value light))"
log "a line over USB ACM reached the orchestra"

board "light 77"   # no end of line: the cable goes mid-line
unplug uno
eventually 10 device_is absent || fail "the unplug was not seen: $(ctl devices)"
value_is light 512 || fail "the half line was taken for a value (light=$(value light))"
log "unplug mid-line seen, the half line dropped"
plug uno
eventually 10 device_is connected || fail "the replug was not seen: $(ctl devices)"
sleep 0.5
board "light 300\n"
eventually 10 value_is light 300 || fail "a line after the replug never arrived (light=$(value light))"
log "replug: values again"
