#!/usr/bin/python3
"""Reference host for the round-trip bench: what a careful Python user writes.

    /usr/bin/python3 bench/python_host.py CSD TTY chnset|outvalue

- A reader thread reads the serial port (opened raw with termios, read in
  chunks, not byte by byte), splits lines `x=N` and calls
  setControlChannel("x", N) for each (an atomic store in Csound 6.18).
- Feedback of "y":
  * chnset:   a process callback on the CsoundPerformanceThread (runs before
              every k-cycle) reads "y" and writes `y=N\\n` when it changed;
  * outvalue: Csound's output-channel callback writes `y=N\\n` at once, from
              inside the k-cycle that produced it.
- Runs paced in real time with `-odac -+rtaudio=null`, after the CSD's own
  options, exactly as the other hosts of the bench do.
- SIGTERM / SIGINT: stop the performance, join it, exit 0.

Needs only Debian's python3-csound (ctcsound); run it with /usr/bin/python3.
"""

import ctypes as ct
import os
import signal
import sys
import termios
import threading
import tty

import ctcsound


def open_raw(path):
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd, termios.TCSANOW)
    attrs = termios.tcgetattr(fd)
    attrs[4] = attrs[5] = termios.B115200  # ispeed, ospeed (a pty ignores it)
    attrs[6][termios.VMIN] = 1
    attrs[6][termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    return fd


def fmt_value(v):
    """Shortest decimal that reads back as the same number (512, 0.25)."""
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def write_all(fd, data):
    while data:
        n = os.write(fd, data)
        data = data[n:]


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("chnset", "outvalue"):
        sys.stderr.write(__doc__)
        return 2
    csd, tty_path, variant = sys.argv[1:]

    fd = open_raw(tty_path)
    write_lock = threading.Lock()  # reader thread never writes; kept for safety

    cs = ctcsound.Csound()
    if cs.compileCsd(csd) != 0:
        sys.stderr.write("python_host: compile failed\n")
        return 1
    cs.setOption("-odac")
    cs.setOption("-+rtaudio=null")

    keep = []  # ctypes callbacks must outlive the performance

    if variant == "outvalue":
        last = [None]

        def on_output(csound, name, value_ptr, channel_type):
            if name != b"y":
                return
            v = ct.cast(value_ptr, ct.POINTER(ctcsound.MYFLT)).contents.value
            if v != last[0]:
                last[0] = v
                with write_lock:
                    write_all(fd, b"y=%s\n" % fmt_value(v).encode())

        cs.setOutputChannelCallback(on_output)

    if cs.start() != 0:
        sys.stderr.write("python_host: start failed\n")
        return 1

    # Both channels are declared by the orchestra (chn_k), so they exist from
    # csoundStart on and set/get from other threads never insert into the
    # channel table (CSOUND_NOTES: channels and threads).

    pt = ctcsound.CsoundPerformanceThread(cs.csound())

    if variant == "chnset":
        last = [None]

        def process(_data):
            v, _ = cs.controlChannel("y")
            if v != last[0]:
                last[0] = v
                with write_lock:
                    write_all(fd, b"y=%s\n" % fmt_value(v).encode())

        # ctcsound's setProcessCB wraps the function in a temporary that the
        # garbage collector may free while Csound still calls it: keep our own.
        cb = ctcsound.PROCESSFUNC(process)
        keep.append(cb)
        ctcsound.libcspt.CsoundPTsetProcessCB(pt.cpt, cb, None)

    stop = threading.Event()

    def reader():
        buf = b""
        while not stop.is_set():
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                name, sep, val = line.strip().partition(b"=")
                if sep and name == b"x":
                    try:
                        cs.setControlChannel("x", float(val))
                    except ValueError:
                        pass

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    pt.play()
    while not stop.is_set() and pt.status() == 0:
        stop.wait(0.2)
    pt.stop()
    pt.join()
    cs.cleanup()
    os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
