#!/usr/bin/env python3
"""Reload bench (issue 9, 4.2): how long a reload of a large config holds the
event loop, and what it leaves in memory.

Runs build/csbridge on a small config, then reloads (SIGHUP) onto each of:
a valid 1 MiB config (3980 mappings), the same with an error in every
mapping (refused), and a 10 MiB file (refused by size before it is parsed),
going back to the small config after each. During every reload one control
connection sends `status` every 2 ms; the longest wait for a reply is how
long the loop was held. RSS is read from /proc after each reload settled.

    bench/reload_stall.py                 # uses build/csbridge
    BUILD_DIR=build-asan bench/reload_stall.py
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(os.environ.get("BUILD_DIR", os.path.join(ROOT, "build")), "csbridge")
CSD = os.path.join(ROOT, "tests", "data", "config", "ok.csd")


def config(tmp, mappings, broken=False):
    head = (f"csound:\n  csd: {CSD}\ncontrol:\n  socket: {tmp}/s.sock\n"
            f"devices:\n  board:\n    serial: {tmp}/no-such-board\nmap:\n")
    extra = "curve: expo" if broken else "range: [0, 1000]"
    body = "".join(f"  - from: board value_{i:05d}\n    to: channel_{i:05d}\n"
                   f"    {extra}  # {'c' * 185}\n" for i in range(mappings))
    return head + body


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


class Control:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""

    def ask(self, line):
        self.sock.sendall(line.encode() + b"\n")
        while b"\n" not in self.buf:
            self.buf += self.sock.recv(1 << 20)
        reply, self.buf = self.buf.split(b"\n", 1)
        return json.loads(reply)


def main():
    if not os.access(BINARY, os.X_OK):
        sys.exit(f"reload_stall: no {BINARY}; build first (tools/setup)")
    tmp = tempfile.mkdtemp(prefix="csb-reload-")
    cur = os.path.join(tmp, "cur.yaml")
    small = config(tmp, 1)
    cases = [("valid, 3980 mappings", config(tmp, 3980)),
             ("3980 errors (refused)", config(tmp, 3980, broken=True)),
             ("10 MiB (refused by size)", config(tmp, 3980) * 10)]
    with open(cur, "w") as f:
        f.write(small)
    proc = subprocess.Popen([BINARY, "run", "--audio", "null", cur],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while not os.path.exists(f"{tmp}/s.sock") and time.time() < deadline:
            time.sleep(0.05)
        ctl = Control(f"{tmp}/s.sock")
        time.sleep(1)
        print(f"{'config':26} {'bytes':>9} {'loop held':>10} {'reload':>8} {'RSS after':>10}")
        print(f"{'(before)':26} {len(small):9} {'':>10} {'':>8} {rss_kb(proc.pid):8} kB")
        for name, text in cases:
            reloads = ctl.ask("status")["reload"]["reloads"]
            with open(cur, "w") as f:
                f.write(text)
            proc.send_signal(signal.SIGHUP)
            worst = 0.0
            end = time.time() + 3
            outcome = "?"
            while time.time() < end:
                t0 = time.perf_counter()
                s = ctl.ask("status")
                worst = max(worst, time.perf_counter() - t0)
                if s["reload"]["reloads"] > reloads:
                    outcome = "applied"
                elif s["reload"]["errors"]:
                    outcome = f"refused ({len(s['reload']['errors'])} lines)"
                time.sleep(0.002)
            print(f"{name:26} {len(text):9} {worst * 1000:7.1f} ms {outcome:>8} "
                  f"{rss_kb(proc.pid):8} kB")
            with open(cur, "w") as f:
                f.write(small)
            proc.send_signal(signal.SIGHUP)
            time.sleep(1)
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
