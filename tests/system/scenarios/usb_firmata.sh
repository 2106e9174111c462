# An Arduino Uno running StandardFirmata, as a USB ACM gadget with the Uno's
# ids (the real cdc-acm driver, found by its /dev/serial/by-id name with udev
# running); its side is tests/system/firmata_board.py, written from the
# protocol's documentation. The bridge sets the board up from its own
# replies (A0 is pin 14), an analog input and a pulled-up button reach the
# orchestra, feedback reaches a digital and a PWM pin; unplugged and plugged
# back in (the board starts afresh), it is set up again and gets its
# feedback again; restarted while plugged in, likewise.
uno_plugged
eventually 10 test -e /dev/ttyGS0 || fail "no /dev/ttyGS0"

rm -f /tmp/uno.cmd
mkfifo /tmp/uno.cmd
python3 "$CSB_ROOT/tests/system/firmata_board.py" /dev/ttyGS0 /tmp/uno.cmd /tmp/uno.state &
pids+=($!)
uno() { timeout 5 bash -c "echo '$*' >/tmp/uno.cmd" || fail "the board does not take commands"; }
pin() { grep -qx "$1" /tmp/uno.state; }  # pin "mode 14 2"
setups() { sed -n 's/^setups //p' /tmp/uno.state; }
setups_above() { [ "$(setups)" -gt "$1" ]; }  # set up again since

csd /tmp/t.csd '
chn_k "led_in", 1
chn_k "dim_in", 1
instr 1
  chnset chnget:k("led_in"), "led"
  chnset chnget:k("dim_in"), "dim"
endin
alwayson 1'
cat >/tmp/t.yaml <<'YAML'
csound:
  csd: t.csd
scan: 30s
devices:
  uno:
    serial: /dev/serial/by-id/usb-Arduino*
    format: firmata
    sampling: 20ms
map:
  - {from: uno A0, to: pot}
  - {from: uno D2, to: button, mode: pullup}
feedback:
  - {from: led, to: uno D13, rate: 0}
  - {from: dim, to: uno PWM9, range: [0, 255], rate: 0}
YAML
bridge /tmp/t.yaml
eventually 30 state_is running || fail "not running"
eventually 20 grep -q "20 pins: set up" /tmp/bridge.log || fail "the board was never set up"
log "$(grep -o 'device uno: Standard.*set up' /tmp/bridge.log | head -1)"
for p in "mode 14 2" "report_analog 0" "mode 2 11" "mode 13 1" "mode 9 3" "sampling 20"; do
  pin "$p" || fail "the board was not set up ($p): $(tr '\n' ' ' </tmp/uno.state)"
done
log "set up from its own replies: A0 on pin 14, D2 pulled up, D13 out, PWM9, 20 ms sampling"

uno analog 0 1023
eventually 10 value_is pot 1 || fail "A0 = 1023 never arrived (pot=$(value pot))"
uno analog 0 0
eventually 10 value_is pot 0 || fail "A0 = 0 never arrived (pot=$(value pot))"
eventually 10 value_is button 0 || fail "the button at rest is not 0 (button=$(value button))"
uno level 2 0
eventually 10 value_is button 1 || fail "the button pressed never arrived (button=$(value button))"
log "an analog input and a pulled-up button over USB ACM reached the orchestra"

ctl set led_in 1 >/dev/null
ctl set dim_in 128 >/dev/null
eventually 10 pin "out 13 1" || fail "D13 never went high: $(tr '\n' ' ' </tmp/uno.state)"
eventually 10 pin "pwm 9 128" || fail "PWM9 never got 128: $(tr '\n' ' ' </tmp/uno.state)"
log "feedback reached D13 and PWM9"

before=$(setups)
unplug uno
eventually 10 device_is absent || fail "the unplug was not seen: $(ctl devices)"
uno restart  # a replugged Uno starts afresh: modes and outputs forgotten
plug uno
eventually 20 setups_above "$before" || fail "not set up again after the replug: $(tail -5 /tmp/bridge.log)"
eventually 10 pin "out 13 1" || fail "D13 not high again after the replug"
eventually 10 pin "pwm 9 128" || fail "PWM9 not 128 again after the replug"
uno analog 0 1023
eventually 10 value_is pot 1 || fail "A0 no longer arrives after the replug"
log "replugged: set up again, its feedback sent again, its values arrive"

before=$(setups)
uno restart
eventually 10 setups_above "$before" || fail "a restart was not seen: $(tail -5 /tmp/bridge.log)"
eventually 10 pin "out 13 1" || fail "D13 not high again after the restart"
grep -q "the board restarted" /tmp/bridge.log || fail "the restart is not in the log"
uno analog 0 0
eventually 10 value_is pot 0 || fail "A0 no longer arrives after the restart"
log "restarted: set up again, its feedback sent again"
