#!/usr/bin/env python3
"""The controller's side of a USB MIDI gadget in the rig guest.

Holds the gadget card's rawmidi open (its input is dropped otherwise), across
unplugs: the card gets a new number at every plug, so it is found by its id.
Lines written to COMMANDS (a fifo) are sent: `send b0 01 40`. Every byte the
controller receives (the bridge's feedback) is appended to RECEIVED as hex,
one message a line.

    controller.py CARD_ID COMMANDS RECEIVED
"""
import os
import re
import select
import sys
import time

card_id, commands, received = sys.argv[1:4]


def find_card():
    try:
        with open("/proc/asound/cards") as f:
            for line in f:
                m = re.match(r"\s*(\d+)\s+\[(\S+)\s*\]", line)
                if m and m.group(2) == card_id:
                    return int(m.group(1))
    except OSError:
        pass
    return None


cmd = os.open(commands, os.O_RDWR | os.O_NONBLOCK)
out = open(received, "a", buffering=1)
dev = None
pending = b""
buf = b""
while True:
    r = []
    if dev is None:
        n = find_card()
        if n is not None:
            try:
                dev = os.open(f"/dev/snd/midiC{n}D0", os.O_RDWR | os.O_NONBLOCK)
            except OSError:
                dev = None
        if dev is None:
            r, _, _ = select.select([cmd], [], [], 0.02)
    else:
        r, _, _ = select.select([cmd, dev], [], [], 0.5)
    if cmd in r:
        pending += os.read(cmd, 4096)
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            words = line.decode().split()
            if words[:1] == ["send"] and dev is not None:
                try:
                    os.write(dev, bytes(int(w, 16) for w in words[1:]))
                except OSError:
                    os.close(dev)
                    dev = None
    if dev is not None and dev in r:
        try:
            data = os.read(dev, 4096)
        except OSError:
            data = b""
        if not data:
            os.close(dev)
            dev = None
            continue
        buf += data
        # One message a line: a status byte starts a new one.
        msgs, cur = [], b""
        for b in buf:
            if b & 0x80 and cur:
                msgs.append(cur)
                cur = b""
            cur += bytes([b])
        for m in msgs:
            out.write(m.hex(" ") + "\n")
        buf = cur
        if len(buf) >= 3 or (buf and buf[0] & 0xF0 in (0xC0, 0xD0) and len(buf) >= 2):
            out.write(buf.hex(" ") + "\n")
            buf = b""
