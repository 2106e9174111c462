# Helpers for rig scenarios (sourced by tests/system/guest, inside the guest).
# A scenario fails by calling fail (or by any command's non-zero exit under
# `check`); everything it starts is stopped by pid at exit.

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  # Kept with the guest's console by `rig --keep`.
  cp /tmp/*.log /tmp/*.rx /tmp/*.yaml /rig-out/ 2>/dev/null
}
trap cleanup EXIT
# The guest's /tmp is an overlay on the host's: files of an earlier run there
# would be appended to or read.
rm -f /tmp/bridge.log /tmp/*.rx /tmp/t.csd /tmp/t.yaml /tmp/*.appeared

log() { echo "[$(date +%T.%N | cut -c1-12)] $*"; }
fail() {
  log "FAIL: $*"
  [ -f /tmp/bridge.log ] && { echo "--- bridge log (last 40 lines)"; tail -40 /tmp/bridge.log; }
  exit 1
}

# eventually SECONDS CMD...: true once CMD succeeds, polled every 50 ms.
eventually() {
  local until=$(($(date +%s%N) + $1 * 1000000000))
  shift
  while ! "$@" >/dev/null 2>&1; do
    [ "$(date +%s%N)" -lt "$until" ] || return 1
    sleep 0.05
  done
}

# appearances FILE PYTHON-EXPR: appends to FILE "+MS" each time PYTHON-EXPR
# turns true and "-MS" each time it turns false (MS: the time in ms), polled
# every 5 ms by one process (a shell loop forks too slowly under TCG while a
# USB device enumerates). Waits until the process has looked once.
appearances() {
  rm -f "$1"
  python3 -c '
import os, sys, time
out, expr = sys.argv[1], sys.argv[2]
def true_now():
    try:
        return bool(eval(expr))
    except OSError:
        return False
was = None
while True:
    now = true_now()
    if now != was:
        with open(out, "a") as f:
            f.write("%s%d\n" % ("+" if now else "-", time.time() * 1000))
    was = now
    time.sleep(0.005)
' "$1" "$2" &
  pids+=($!)
  eventually 20 test -s "$1" || fail "appearances $1: the poller never started"
}
gone_seen() { tail -1 "$1" | grep -q '^-'; }                                   # gone_seen FILE
appeared_after() { tail -1 "$1" | grep -q '^+' && [ "$(appeared_at "$1")" -ge "$2" ]; } # FILE MS
appeared_at() { tail -1 "$1" | cut -c2-; }                                     # appeared_at FILE
ms_of_log() { date -d "$(echo "$1" | cut -c1-23)" +%s%3N; }         # a bridge log line's time
# plug_timed NAME UDC APPEARED PATTERN [SECONDS]: plugs gadget NAME into UDC,
# waits until APPEARED (see appearances) shows it listed again and the bridge
# log has one more line matching PATTERN (within SECONDS, default 10); sets
# t_plug, t_exists and t_open (ms).
plug_timed() {
  local before
  before=$(grep -c "$4" /tmp/bridge.log)
  t_plug=$(date +%s%3N)
  plug "$1" "$2"
  eventually 10 appeared_after "$3" "$t_plug" || fail "$1 was never listed again after the plug"
  t_exists=$(appeared_at "$3")
  eventually "${5:-10}" bash -c '[ "$(grep -c "$0" /tmp/bridge.log)" -gt "$1" ]' "$4" "$before" ||
    fail "$1 was not opened again ${5:-10} s after it was listed: $(ctl devices)"
  t_open=$(ms_of_log "$(grep "$4" /tmp/bridge.log | tail -1)")
}
# median_worst MS...: "median M ms, worst W ms"
median_worst() {
  local sorted=($(printf '%s\n' "$@" | sort -n))
  echo "median ${sorted[$(($# / 2))]} ms, worst ${sorted[$(($# - 1))]} ms"
}

# --- USB gadgets on dummy_hcd -------------------------------------------------
gadgets=/sys/kernel/config/usb_gadget

usb_setup() {  # usb_setup [CONTROLLERS]: the host controllers dummy_udc.0..N-1
  modprobe snd-seq || fail "no snd-seq"
  modprobe snd-seq-midi
  modprobe dummy_hcd num="${1:-1}" || fail "no dummy_hcd"
  modprobe libcomposite
  modprobe snd-usb-audio
  modprobe usb_f_midi
  modprobe cdc-acm
  modprobe usb_f_acm
  mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
}

# midi_gadget NAME VENDOR PRODUCT MANUFACTURER PRODUCT_NAME SERIAL: a USB MIDI
# controller (class-compliant, one port each way). Its own side is the card
# with id NAME.
midi_gadget() {
  local g=$gadgets/$1
  mkdir -p "$g/strings/0x409" "$g/configs/c.1" "$g/functions/midi.usb0"
  echo "$2" >"$g/idVendor"
  echo "$3" >"$g/idProduct"
  echo "$4" >"$g/strings/0x409/manufacturer"
  echo "$5" >"$g/strings/0x409/product"
  echo "$6" >"$g/strings/0x409/serialnumber"
  echo "$1" >"$g/functions/midi.usb0/id"
  ln -s "$g/functions/midi.usb0" "$g/configs/c.1/"
}
# acm_gadget NAME VENDOR PRODUCT MANUFACTURER PRODUCT_NAME SERIAL: a USB
# serial board (CDC ACM): the host sees /dev/ttyACM*, the board's own side is
# /dev/ttyGS*.
acm_gadget() {
  local g=$gadgets/$1
  mkdir -p "$g/strings/0x409" "$g/configs/c.1" "$g/functions/acm.usb0"
  echo "$2" >"$g/idVendor"
  echo "$3" >"$g/idProduct"
  echo "$4" >"$g/strings/0x409/manufacturer"
  echo "$5" >"$g/strings/0x409/product"
  echo "$6" >"$g/strings/0x409/serialnumber"
  ln -s "$g/functions/acm.usb0" "$g/configs/c.1/"
}
# uno_plugged: an Arduino Uno's ids and serial as the ACM gadget "uno", on
# dummy_udc.0 with udev running, plugged in; its by-id link is in $byid.
uno_plugged() {
  usb_setup 1
  acm_gadget uno 0x2341 0x0043 "Arduino (www.arduino.cc)" "Arduino Uno" "85736323838351F0E1A1"
  udev_start
  plug uno
  byid=/dev/serial/by-id/usb-Arduino__www.arduino.cc__Arduino_Uno_85736323838351F0E1A1-if00
  udevadm settle --timeout=30
  eventually 20 test -e "$byid" || fail "no $byid: $(ls -l /dev/serial/by-id 2>&1)"
}
# udev_start: Debian's udevd, so /dev/serial/by-id and by-path exist.
udev_start() {
  mkdir -p /run/udev
  /lib/systemd/systemd-udevd --daemon || fail "systemd-udevd did not start"
  udevadm trigger --action=add
  udevadm settle --timeout=30
}
plug() { echo "${2:-dummy_udc.0}" >"$gadgets/$1/UDC"; }    # plug NAME [UDC]
unplug() { echo "" >"$gadgets/$1/UDC"; }                   # unplug NAME

# seq_port GLOB: an ALSA sequencer client whose name matches GLOB exists.
seq_port() { grep -q "^Client.*\"$1\"" /proc/asound/seq/clients; }

# controller NAME: starts the controller's side of gadget NAME; send_midi
# and received then talk to it.
controller() {
  rm -f "/tmp/$1.cmd" "/tmp/$1.rx"
  mkfifo "/tmp/$1.cmd"
  : >"/tmp/$1.rx"
  python3 "$CSB_ROOT/tests/system/controller.py" "$1" "/tmp/$1.cmd" "/tmp/$1.rx" &
  pids+=($!)
}
send_midi() {  # send_midi NAME HEX...
  local n=$1
  shift
  timeout 5 bash -c "echo 'send $*' >/tmp/$n.cmd" || fail "the controller $n does not take commands"
}
received() { grep -qx "$2" "/tmp/$1.rx"; }                         # received NAME "b0 02 40"

# --- the bridge ---------------------------------------------------------------
# bridge CONFIG: runs csbridge on CONFIG (log in /tmp/bridge.log) until it
# answers on its socket.
bridge() {
  bridge_config=$1
  "$CSB_BIN" run "$1" >>/tmp/bridge.log 2>&1 &
  bridge_pid=$!
  pids+=("$bridge_pid")
  eventually 60 ctl status || fail "the bridge never answered"
}
ctl() { "$CSB_BIN" ctl --config "$bridge_config" "$@"; }
# value NAME: the channel's value as `get` answers it.
value() { ctl get "$1" | sed -n 's/.*"value":\([^,}]*\).*/\1/p'; }
value_is() { awk -v a="$(value "$1")" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 == b + 0) }'; }
# value_near NAME V: the channel's value is V, to 0.001.
value_near() { awk -v a="$(value "$1")" -v b="$2" 'BEGIN { d = a - b; exit !(a != "" && d < 0.001 && d > -0.001) }'; }
state_is() { ctl status | grep -q "\"state\":\"$1\""; }
device_is() { ctl devices | grep -q "\"state\":\"$1\""; }

# csd FILE BODY [OPTIONS]: a CSD with the bridge's usual header (stereo), BODY
# as orchestra and OPTIONS added to `-d -m0`.
csd() {
  cat >"$1" <<CSD
<CsoundSynthesizer>
<CsOptions>
-d -m0 ${3:-}
</CsOptions>
<CsInstruments>
sr = 48000
ksmps = 64
nchnls = 2
0dbfs = 1
$2
</CsInstruments>
<CsScore>
f0 z
</CsScore>
</CsoundSynthesizer>
CSD
}

# knob_bridge DEVICE GLOB SCAN: the bridge running (ALSA) with a device
# DEVICE on MIDI ports GLOB, its CC 1 to `knob` and `knob` (through the
# orchestra's `fb`) back to it as CC 2.
knob_bridge() {
  csd /tmp/t.csd '
instr 1
  outvalue "fb", chnget:k("knob")
endin
alwayson 1'
  cat >/tmp/t.yaml <<YAML
csound:
  csd: t.csd
scan: $3
midi:
  api: alsa
devices:
  $1:
    midi: "$2"
map:
  - {from: $1 cc 1, to: knob, range: raw}
feedback:
  - {from: fb, to: $1 cc 2, range: [0, 127], rate: 0}
YAML
  bridge /tmp/t.yaml
  eventually 30 state_is running || fail "not running"
}

# nano_bridge SCAN: a nanoKONTROL2 gadget plugged in and its controller side
# started, knob_bridge on it, connected, and knob at 64.
nano_bridge() {
  usb_setup 1
  midi_gadget nano 0x0944 0x0117 "KORG INC." "nanoKONTROL2" "RIG0001"
  plug nano
  eventually 20 seq_port nanoKONTROL2 || fail "no ALSA client for the nanoKONTROL2"
  log "ALSA clients:"
  grep '^Client' /proc/asound/seq/clients
  controller nano
  knob_bridge nano "nanoKONTROL2*" "$1"
  eventually 10 device_is connected || fail "the controller was never connected"
  log "connected: $(ctl devices)"
  send_midi nano b0 01 40
  eventually 10 value_is knob 64 || fail "CC 1 = 64 never reached the orchestra (knob=$(value knob))"
}
