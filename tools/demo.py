#!/usr/bin/env python3
"""The csbridge demo: the embedded default config and a simulated sensor board.

The board is a pseudo-terminal whose slave is linked as
/dev/ttyUSB-csbridge-demo, so the default's `/dev/ttyUSB*` glob finds it
like a real Arduino. It sends `light=... dist=...` lines; the bridge routes
them into the demo orchestra, and this script prints the orchestra's channel
values (read back through the control socket) as they change.
"""
import glob
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tty

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "build", "csbridge")
LINK = "/dev/ttyUSB-csbridge-demo"
SHOWN = ["light", "dist", "level"]


def has_sound_card():
    return bool(glob.glob("/dev/snd/pcmC*p"))


def ctl(sock_path, command):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(sock_path)
            s.sendall(command.encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        return json.loads(data)
    except (OSError, ValueError):
        return {"ok": False}


def main():
    seconds = float(os.environ.get("DEMO_SECONDS", "0")) or None
    if seconds is None and not sys.stdin.isatty():
        seconds = 20.0
    workdir = tempfile.mkdtemp(prefix="csbridge-demo-")
    sock_path = os.path.join(workdir, "control.sock")

    master, slave = os.openpty()
    tty.setraw(master)
    slave_name = os.ttyname(slave)
    os.close(slave)
    board = False
    try:
        if os.path.lexists(LINK):
            os.unlink(LINK)
        os.symlink(slave_name, LINK)
        board = True
        print(f"demo: simulated sensor board on {LINK} -> {slave_name}")
    except OSError as e:
        print(f"demo: cannot make {LINK} ({e.strerror}); run as root to see the "
              "simulated board; playing without it")

    args = [BINARY, "run", "--control", sock_path]
    if not has_sound_card():
        args += ["--audio", "null"]
        print("demo: no sound card found: running with --audio null (paced, silent)")
    print("demo: " + " ".join(args))
    bridge = subprocess.Popen(args)
    stop = {"now": False}
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))

    start = time.monotonic()
    next_print = start + 1.0
    last_shown = None
    try:
        while not stop["now"] and bridge.poll() is None:
            t = time.monotonic() - start
            if seconds and t > seconds:
                break
            if board:
                light = 512 + 480 * math.sin(t * 0.7)
                dist = 200 + 180 * math.sin(t * 0.23 + 1)
                line = f"light={light:.0f} dist={dist:.1f}\n"
                if int(t * 20) % 100 == 0:
                    line += "# a comment line: ignored\n"
                try:
                    os.write(master, line.encode())
                except OSError:
                    pass  # the bridge has not opened the port yet
                # Drain what the bridge sends back (feedback), so the pty never fills.
                try:
                    os.set_blocking(master, False)
                    os.read(master, 4096)
                except OSError:
                    pass
            if time.monotonic() >= next_print:
                next_print += 0.5
                reply = ctl(sock_path, "channels")
                if reply.get("ok"):
                    values = {c["name"]: c["value"] for c in reply["channels"]}
                    shown = "  ".join(
                        f"{n}={values[n]:.4g}" if isinstance(values.get(n), (int, float))
                        else f"{n}=-" for n in SHOWN)
                    if shown != last_shown:
                        state = ctl(sock_path, "status").get("csound", {}).get("state", "?")
                        print(f"t={t:5.1f}s  csound {state:<10} {shown}", flush=True)
                        last_shown = shown
            time.sleep(0.05)
    finally:
        if bridge.poll() is None:
            bridge.send_signal(signal.SIGTERM)
            try:
                bridge.wait(timeout=5)
            except subprocess.TimeoutExpired:
                bridge.kill()
                bridge.wait()
        if board and os.path.islink(LINK):
            os.unlink(LINK)
        os.close(master)
        try:
            os.rmdir(workdir)
        except OSError:
            pass
    print(f"demo: csbridge exited with {bridge.returncode}")
    return 0 if bridge.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
