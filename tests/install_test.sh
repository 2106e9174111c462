#!/usr/bin/env bash
# tools/install into a temporary root (DESTDIR), as a packager would: the
# files it lays down, that they work together, that a second run keeps an
# edited config, --prefix, --uninstall; and the unit through systemd-analyze.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
root="$tmp/root"

out="$(DESTDIR="$root" "$src/tools/install")"
echo "$out"
for f in usr/local/bin/csbridge usr/local/share/csbridge/csd/demo.csd \
  usr/local/share/csbridge/mappings/default.yaml usr/local/share/doc/csbridge/README.md \
  etc/systemd/system/csbridge.service etc/udev/rules.d/70-csbridge-serial.rules \
  etc/csbridge/csbridge.yaml; do
  [[ -f "$root/$f" ]] || fail "$f was not installed"
done
[[ -x "$root/usr/local/bin/csbridge" ]] || fail "the binary is not executable"
grep -q 'ENV{ID_MM_DEVICE_IGNORE}="1"' "$root/etc/udev/rules.d/70-csbridge-serial.rules" ||
  fail "the udev rule does not keep ModemManager away"
grep -q '^  csd: /usr/local/share/csbridge/csd/demo.csd$' "$root/etc/csbridge/csbridge.yaml" ||
  fail "the config does not name the installed CSD: $(grep csd: "$root/etc/csbridge/csbridge.yaml")"
[[ "$out" == *"nothing live was touched"* ]] || fail "DESTDIR run did not say it left the system alone"

# The installed binary, config and CSD work together.
sed "s|/usr/local|$root/usr/local|" "$root/etc/csbridge/csbridge.yaml" >"$tmp/check.yaml"
"$root/usr/local/bin/csbridge" check "$tmp/check.yaml" || fail "the installed config does not check"
# Every shipped map, where it was installed (its csd: is relative to it).
for map in "$src"/mappings/*.yaml; do
  installed="$root/usr/local/share/csbridge/mappings/$(basename "$map")"
  [[ -f "$installed" ]] || fail "$(basename "$map") was not installed"
  "$root/usr/local/bin/csbridge" check "$installed" >/dev/null || fail "the installed $(basename "$map") does not check"
done

# Again: nothing changes, an edited config is kept.
echo "# edited" >>"$root/etc/csbridge/csbridge.yaml"
again="$(DESTDIR="$root" "$src/tools/install")"
echo "$again"
[[ "$again" != *"installed /"* ]] || fail "a second run installed files again: $again"
grep -q '^# edited$' "$root/etc/csbridge/csbridge.yaml" || fail "the edited config was overwritten"

# --prefix reaches the unit.
DESTDIR="$tmp/opt" "$src/tools/install" --prefix /opt/csb >/dev/null
grep -q '^ExecStart=/opt/csb/bin/csbridge run /etc/csbridge/csbridge.yaml$' \
  "$tmp/opt/etc/systemd/system/csbridge.service" || fail "--prefix did not reach ExecStart"
[[ -x "$tmp/opt/opt/csb/bin/csbridge" ]] || fail "--prefix did not place the binary"

# The unit: systemd-analyze verify (ExecStart pointed at the installed binary) and its score.
unit="$tmp/csbridge.service"
sed "s|^ExecStart=/usr/local/bin/csbridge|ExecStart=$root/usr/local/bin/csbridge|" \
  "$root/etc/systemd/system/csbridge.service" >"$unit"
verify="$(systemd-analyze verify "$unit" 2>&1)" || fail "systemd-analyze verify: $verify"
[[ -z "$verify" ]] || fail "systemd-analyze verify said: $verify"
score="$(systemd-analyze security --offline=true "$unit" 2>&1 | sed -n 's/.*Overall exposure level for csbridge.service: \([0-9.]*\).*/\1/p')"
echo "systemd-analyze security --offline=true: exposure $score"
[[ -n "$score" ]] || fail "no exposure score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' || fail "exposure $score is above 2.5"

# --uninstall removes what it laid down and keeps what the machine made.
DESTDIR="$root" "$src/tools/install" --uninstall
for f in usr/local/bin/csbridge usr/local/share/csbridge etc/systemd/system/csbridge.service \
  etc/udev/rules.d/70-csbridge-serial.rules usr/local/share/doc/csbridge; do
  [[ ! -e "$root/$f" ]] || fail "$f is still there after --uninstall"
done
[[ -f "$root/etc/csbridge/csbridge.yaml" ]] || fail "--uninstall removed the config"
# --prefix without a directory is a usage error, not an install into "--uninstall".
if out="$(DESTDIR="$root" "$src/tools/install" --prefix 2>&1)"; then fail "--prefix alone was accepted"; fi
[[ "$out" == *"--prefix needs a directory"* ]] || fail "--prefix alone said: $out"
if DESTDIR="$root" "$src/tools/install" --prefix --uninstall >/dev/null 2>&1; then
  fail "--prefix --uninstall was taken as a prefix"
fi
echo "install test: OK"
