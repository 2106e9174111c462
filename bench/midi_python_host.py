#!/usr/bin/python3
"""Reference Python host for the MIDI round-trip bench: what a careful user writes.

    /usr/bin/python3 bench/midi_python_host.py CSD IN_PORT OUT_PORT

- python-rtmidi on JACK: a MidiIn connected to IN_PORT (the test
  controller's output, e.g. "csbench:out") and a MidiOut connected to
  OUT_PORT (the controller's input, e.g. "csbench-01:in"), opened by name.
- The MidiIn callback (python-rtmidi's thread, woken by RtMidi's JACK
  process callback) calls setControlChannel("x", value) for each CC 1 on
  channel 1 (an atomic store in Csound 6.18; the channel is declared by the
  orchestra, so no insert into the channel table happens from this thread).
- Csound's output-channel callback (outvalue "y") sends CC 2 on channel 1
  with the value, only when it changed: at once, from inside the k-cycle.
- Runs paced in real time with `-odac -+rtaudio=null`, after the CSD's own
  options, as the csbridge row does (`--audio null`).
- SIGTERM / SIGINT: stop the performance, join it, exit 0.

Needs Debian's python3-csound (ctcsound) and python3-rtmidi; run it with
/usr/bin/python3 and JACK_DEFAULT_SERVER naming the JACK server.
"""

import ctypes as ct
import signal
import sys
import threading

import ctcsound
import rtmidi


def open_by_name(port, name):
    """Opens the JACK port called `name` (exact, else the first containing it)."""
    names = port.get_ports()
    for i, n in enumerate(names):
        if n == name:
            return port.open_port(i)
    for i, n in enumerate(names):
        if name in n:
            return port.open_port(i)
    raise SystemExit("midi_python_host: no JACK MIDI port %r (have %r)" % (name, names))


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    csd, in_name, out_name = sys.argv[1:]

    midi_in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="pyhost")
    midi_out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="pyhost")
    open_by_name(midi_out, out_name)

    cs = ctcsound.Csound()
    if cs.compileCsd(csd) != 0:
        sys.stderr.write("midi_python_host: compile failed\n")
        return 1
    cs.setOption("-odac")
    cs.setOption("-+rtaudio=null")

    last = [None]

    def on_output(csound, name, value_ptr, channel_type):
        if name != b"y":
            return
        v = ct.cast(value_ptr, ct.POINTER(ctcsound.MYFLT)).contents.value
        b = min(127, max(0, int(round(v))))
        if b != last[0]:
            last[0] = b
            midi_out.send_message([0xB0, 2, b])

    cs.setOutputChannelCallback(on_output)
    if cs.start() != 0:
        sys.stderr.write("midi_python_host: start failed\n")
        return 1

    def on_midi(event, _data):
        msg, _delta = event
        if len(msg) == 3 and msg[0] == 0xB0 and msg[1] == 1:
            cs.setControlChannel("x", float(msg[2]))

    midi_in.set_callback(on_midi)
    open_by_name(midi_in, in_name)

    pt = ctcsound.CsoundPerformanceThread(cs.csound())
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    pt.play()
    while not stop.is_set() and pt.status() == 0:
        stop.wait(0.2)
    midi_in.cancel_callback()
    pt.stop()
    pt.join()
    cs.cleanup()
    midi_in.close_port()
    midi_out.close_port()
    return 0


if __name__ == "__main__":
    sys.exit(main())
