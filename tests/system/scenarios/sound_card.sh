# A real ALSA sound card (snd-dummy) paces Csound: the CSD plays to
# -odac:hw:Dummy,0, the card's PCM runs, k-cycles advance at the k-rate. The
# card absent at start: the performance plays on the null fallback, said in
# `status`; once the card is there, the next reset plays to it. The latency
# the engine reports (`latency_us`, 10 values set) is printed for each: a
# bridge started again for the card, so its figures are the card's alone.
modprobe snd-seq 2>/dev/null  # as on a board; the sequencer is not needed here
csd /tmp/t.csd '
chn_k "probe", 1
instr 1
  a1 oscili 0.1, 440
  outs a1, a1
endin
alwayson 1' "-+rtaudio=alsa -odac:hw:Dummy,0"
cat >/tmp/t.yaml <<'YAML'
csound:
  csd: t.csd
YAML
audio_is() { ctl status | grep -q "\"audio\":\"$1"; }
# kcycles_at: "MS KCYCLES", MS the middle of the status call (a call takes
# a good part of a second under TCG: timing from its end would skew the rate).
kcycles_at() {
  local a b k
  a=$(date +%s%3N)
  k=$(ctl status | sed -n 's/.*"kcycles":\([0-9]*\).*/\1/p')
  b=$(date +%s%3N)
  echo "$(((a + b) / 2)) $k"
}
latency() {  # 10 values set, then status's latency_us
  local i
  for i in $(seq 1 10); do
    ctl set probe "$i" >/dev/null
    sleep 0.1
  done
  ctl status | grep -o '"latency_us":{[^}]*}'
}
kr_measured() {  # k-cycles a second over about 4 s
  local first second
  first=$(kcycles_at)
  sleep 4
  second=$(kcycles_at)
  local t0=${first% *} k0=${first#* } t1=${second% *} k1=${second#* }
  echo $(((k1 - k0) * 1000 / (t1 - t0)))
}

# No card yet.
bridge /tmp/t.yaml
eventually 30 state_is running || fail "not running: $(ctl status)"
eventually 10 audio_is "null (no audio device" || fail "the missing card is not said in status: $(ctl status)"
r=$(kr_measured)
log "no card: audio '$(ctl status | grep -o '"audio":"[^"]*"')', $r k-cycles a second (kr 750)"
[ "$r" -ge 650 ] && [ "$r" -le 850 ] || fail "the null fallback is not paced to the k-rate: $r k-cycles a second"
log "no card: $(latency)"

# The card arrives; the next reset plays to it.
modprobe snd-dummy || fail "no snd-dummy"
eventually 10 test -e /proc/asound/Dummy || fail "no Dummy card"
ctl reset >/dev/null
eventually 30 audio_is device || fail "after a reset with the card there, audio is not the device: $(ctl status)"
eventually 10 grep -q RUNNING /proc/asound/Dummy/pcm0p/sub0/status ||
  fail "the card's PCM is not running: $(cat /proc/asound/Dummy/pcm0p/sub0/status)"
r=$(kr_measured)
log "card: audio '$(ctl status | grep -o '"audio":"[^"]*"')', PCM $(head -1 /proc/asound/Dummy/pcm0p/sub0/status), $r k-cycles a second"
[ "$r" -ge 650 ] && [ "$r" -le 850 ] || fail "the card does not pace the performance at the k-rate: $r k-cycles a second"

# The engine's latency with the card, from a bridge that started with it.
kill "$bridge_pid"
wait "$bridge_pid" 2>/dev/null || true
bridge /tmp/t.yaml
eventually 30 audio_is device || fail "a bridge started with the card does not play to it: $(ctl status)"
log "card: $(latency)"
