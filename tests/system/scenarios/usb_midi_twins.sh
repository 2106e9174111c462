# Two identical USB MIDI controllers (a Launch Control XL's ids and names,
# serials apart) on two USB ports, one device whose glob matches both: CCs
# from each reach the orchestra and feedback reaches each. Both unplugged:
# the device is absent with no port left. Plugged back in the other order,
# each on the other port: both are opened again, the last feedback is sent
# to each, and CCs from each arrive.
usb_setup 2
for x in xl1 xl2; do
  midi_gadget "$x" 0x1235 0x0061 "Focusrite A.E. Ltd" "Launch Control XL" "RIG-${x^^}"
done
plug xl1 dummy_udc.0
plug xl2 dummy_udc.1
xl_clients_are() { test "$(grep -c '^Client.*"Launch Control XL"' /proc/asound/seq/clients)" = "$1"; }
eventually 20 xl_clients_are 2 || fail "expected 2 ALSA clients: $(cat /proc/asound/seq/clients; cat /proc/asound/cards; ls /sys/class/udc)"
controller xl1
controller xl2

knob_bridge xl "Launch Control XL*" 1s
ports_open() { ctl devices | grep -o '"ports":\[[^]]*\]' | grep -o 'Launch Control XL:' | wc -l; }
ports_open_are() { test "$(ports_open)" = "$1"; }
eventually 10 ports_open_are 2 || fail "both controllers were never open: $(ctl devices)"
log "open: $(ctl devices | grep -o '"ports":\[[^]]*\]')"

# both_hear V: a CC 1 = V from each controller reaches the orchestra, and
# the feedback CC 2 = V reaches both.
both_hear() {
  local v=$1 hex
  for x in xl1 xl2; do
    hex=$(printf '%02x' "$v")
    : >/tmp/xl1.rx
    : >/tmp/xl2.rx
    send_midi "$x" b0 01 "$hex"
    eventually 10 value_is knob "$v" || fail "CC 1 = $v from $x never arrived (knob=$(value knob))"
    for y in xl1 xl2; do
      eventually 10 received "$y" "b0 02 $hex" || fail "feedback $v never reached $y: $(cat /tmp/$y.rx)"
    done
    v=$((v + 1))
  done
}
both_hear 16
log "each controller's CCs arrive, feedback reaches both"

unplug xl1
unplug xl2
eventually 10 device_is absent || fail "the unplugs were not seen: $(ctl devices)"
ports_open_are 0 || fail "ports listed with both unplugged: $(ctl devices)"
log "both unplugged: absent, no port left"
sleep 1.5
: >/tmp/xl1.rx
: >/tmp/xl2.rx
plug xl2 dummy_udc.0
sleep 0.3
plug xl1 dummy_udc.1
eventually 20 ports_open_are 2 || fail "both were not opened again: $(ctl devices)"
for y in xl1 xl2; do
  eventually 10 received "$y" "b0 02 11" || fail "the last feedback was not sent again to $y: $(cat /tmp/$y.rx)"
done
both_hear 40
log "replugged in the other order, each on the other port: feedback sent again to both, CCs from both"
