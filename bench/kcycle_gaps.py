#!/usr/bin/python3
"""Where the k-cycles of a paced performance start, seen from the host.

    /usr/bin/python3 bench/kcycle_gaps.py [CSD] [SECONDS]

Runs the CSD with -odac -+rtaudio=null in a CsoundPerformanceThread and
timestamps the process callback (called before every k-cycle). Prints the
k-rate achieved and a histogram of the intervals between k-cycle starts.

Why it matters for the round-trip bench: Csound 6.18's null audio module
sleeps in whole milliseconds (Top/csound.c, dummy_rtaudio_timer rounds the
wait to ms), so at ksmps 64 / 48 kHz (1.333 ms) the k-cycles do not start
evenly: three gaps of about 1.07 ms, then one of about 2.1 ms. A value that
arrives just after a k-cycle began waits for the next one: up to ~2.1 ms, for
any host. That bounds the round trip's tail from below.
"""
import collections
import os
import sys
import time

import ctcsound

csd = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "csd", "roundtrip_chnset.csd")
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0

cs = ctcsound.Csound()
if cs.compileCsd(csd) != 0:
    sys.exit("compile failed")
cs.setOption("-odac")
cs.setOption("-+rtaudio=null")
if cs.start() != 0:
    sys.exit("start failed")
pt = ctcsound.CsoundPerformanceThread(cs.csound())
stamps = []
cb = ctcsound.PROCESSFUNC(lambda _data: stamps.append(time.monotonic()))
ctcsound.libcspt.CsoundPTsetProcessCB(pt.cpt, cb, None)
pt.play()
time.sleep(seconds + 0.5)
pt.stop()
pt.join()

stamps = stamps[300:]  # skip start-up (the null clock catches up in a burst)
gaps = [b - a for a, b in zip(stamps, stamps[1:])]
print("k-cycles a second: %.1f (nominal 750 at 48 kHz / ksmps 64)" %
      (len(gaps) / (stamps[-1] - stamps[0])))
hist = collections.Counter(round(g * 1e4) / 10 for g in gaps)
print("gap between k-cycle starts (ms): count")
for g, n in sorted(hist.items()):
    print("  %4.1f: %d" % (g, n))
print("max gap %.3f ms" % (max(gaps) * 1e3))

# Wait from an arrival at a uniformly random time to the next k-cycle start:
# the least an `outvalue` round trip can take (a `chnset` one adds the gap
# after that k-cycle). Sampled on a fine grid over the recorded stamps.
import bisect
import random
rng = random.Random(1)
t0, t1 = stamps[0], stamps[-1]
waits, waits_chnset = [], []
for _ in range(200000):
    t = rng.uniform(t0, t1)
    i = bisect.bisect_right(stamps, t)
    if i + 1 >= len(stamps):
        continue
    waits.append(stamps[i] - t)
    waits_chnset.append(stamps[i + 1] - t)
for name, w in (("outvalue", waits), ("chnset", waits_chnset)):
    w.sort()
    print("pacing bound, %-8s: median %.3f ms, p99 %.3f ms" %
          (name, w[len(w) // 2] * 1e3, w[int(len(w) * 0.99)] * 1e3))
