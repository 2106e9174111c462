#!/usr/bin/env python3
"""A StandardFirmata 2.5 Uno on the board's side of a USB ACM gadget, in the rig.

Written from the protocol's documentation (firmata/protocol, protocol.md),
not from csbridge's code: it answers the version, firmware, capability and
analog-mapping queries as StandardFirmata does on an Uno (20 pins, A0..A5 on
14..19, PWM on 3 5 6 9 10 11), keeps the pin modes, reporting and sampling
interval it is told, reports its reporting analog inputs every interval and
its reporting digital ports when enabled and on change, and applies digital
and analog writes to its outputs. The tty is reopened across unplugs.

Lines written to COMMANDS (a fifo): `analog C V`, `level PIN 0|1`,
`restart` (forget modes, reporting and outputs; send the start-up reports).
STATE is rewritten on every change, one `key value` a line: `mode PIN M`,
`out PIN V` (digital), `pwm PIN V` (analog write), `report_analog C`,
`sampling MS`, `setups N` (sampling intervals set: one a set-up).

    firmata_board.py TTY COMMANDS STATE
"""
import os
import select
import sys
import time
import tty

tty_path, commands, state_path = sys.argv[1:4]

ANALOG = range(14, 20)
PWM = (3, 5, 6, 9, 10, 11)


def capability():
    out = []
    for pin in range(20):
        if pin >= 2:
            out += [0x00, 1, 0x0B, 1, 0x01, 1]  # INPUT, INPUT_PULLUP, OUTPUT
        if pin in ANALOG:
            out += [0x02, 10]
        if pin in PWM:
            out += [0x03, 8]
        if pin >= 2:
            out += [0x04, 14]  # SERVO
        if pin in (18, 19):
            out += [0x06, 1]  # I2C
        out.append(0x7F)
    return bytes([0xF0, 0x6C] + out + [0xF7])


def mapping():
    return bytes([0xF0, 0x6A] + [0x7F] * 14 + list(range(6)) + [0xF7])


def firmware():
    name = b"StandardFirmata.ino"
    body = [0xF0, 0x79, 2, 5]
    for c in name:
        body += [c & 0x7F, c >> 7]
    return bytes(body + [0xF7])


VERSION = bytes([0xF9, 2, 5])


class Board:
    def __init__(self):
        self.analog = [0] * 6
        self.levels = [1] * 20
        self.setups = 0
        self.forget()

    def forget(self):
        self.modes = [-1] * 20
        self.outs = [0] * 20
        self.pwm = [-1] * 20
        self.report_analog = set()
        self.report_ports = set()
        self.sampling = 19
        self.changed = False

    def port(self, p):
        bits = 0
        for k in range(8):
            pin = p * 8 + k
            if pin < 20 and self.modes[pin] in (0x00, 0x0B):
                bits |= self.levels[pin] << k
        return bytes([0x90 | p, bits & 0x7F, bits >> 7])

    def save(self):
        lines = [f"mode {p} {m}" for p, m in enumerate(self.modes) if m >= 0]
        lines += [f"out {p} {v}" for p, v in enumerate(self.outs)]
        lines += [f"pwm {p} {v}" for p, v in enumerate(self.pwm) if v >= 0]
        lines += [f"report_analog {c}" for c in sorted(self.report_analog)]
        lines += [f"sampling {self.sampling}", f"setups {self.setups}"]
        tmp = state_path + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, state_path)

    # What the host sent: one message (command byte, data) or sysex (id, payload).
    def message(self, cmd, data):
        out = b""
        kind, index = (cmd & 0xF0, cmd & 0x0F) if cmd < 0xF0 else (cmd, 0)
        if kind == 0xF9:
            out = VERSION
        elif kind == 0xF4 and data[0] < 20:
            self.modes[data[0]] = data[1]
        elif kind == 0xF5 and data[0] < 20 and self.modes[data[0]] == 0x01:
            self.outs[data[0]] = data[1]
        elif kind == 0x90:  # a digital port written
            bits = data[0] | (data[1] << 7)
            for k in range(8):
                pin = index * 8 + k
                if pin < 20 and self.modes[pin] == 0x01:
                    self.outs[pin] = (bits >> k) & 1
        elif kind == 0xE0:
            self.pwm[index] = data[0] | (data[1] << 7)
        elif kind == 0xC0:
            (self.report_analog.add if data[0] else self.report_analog.discard)(index)
        elif kind == 0xD0:
            if data[0]:
                self.report_ports.add(index)
                out = self.port(index)
            else:
                self.report_ports.discard(index)
        self.save()
        return out

    def sysex(self, sid, payload):
        if sid == 0x79:
            return firmware()
        if sid == 0x6B:
            return capability()
        if sid == 0x69:
            return mapping()
        if sid == 0x6F and len(payload) >= 3:  # extended analog
            v = 0
            for i, b in enumerate(payload[1:]):
                v |= b << (7 * i)
            self.pwm[payload[0]] = v
        if sid == 0x7A and len(payload) == 2:
            self.sampling = payload[0] | (payload[1] << 7)
            self.setups += 1
        self.save()
        return b""


# Data bytes after each command a host sends (F9 alone is a query).
LENGTH = {0x90: 2, 0xE0: 2, 0xC0: 1, 0xD0: 1, 0xF4: 2, 0xF5: 2, 0xF9: 0, 0xFF: 0}


class Parser:
    def __init__(self):
        self.cmd = None
        self.data = []
        self.sysex = None

    def feed(self, data, board):
        out = b""
        for b in data:
            if self.sysex is not None:
                if b == 0xF7:
                    if self.sysex:
                        out += board.sysex(self.sysex[0], self.sysex[1:])
                    self.sysex = None
                    continue
                if b < 0x80:
                    self.sysex.append(b)
                    continue
                self.sysex = None
            if b == 0xF0:
                self.sysex, self.cmd = [], None
                continue
            if b >= 0x80:
                kind = b & 0xF0 if b < 0xF0 else b
                self.cmd, self.data = (b, []) if kind in LENGTH else (None, [])
                if self.cmd is not None and LENGTH[kind] == 0:
                    out += board.message(b, [])
                    self.cmd = None
                continue
            if self.cmd is None:
                continue
            self.data.append(b)
            kind = self.cmd & 0xF0 if self.cmd < 0xF0 else self.cmd
            if len(self.data) == LENGTH[kind]:
                out += board.message(self.cmd, self.data)
                self.cmd = None
        return out


board = Board()
board.save()
parser = Parser()
cmd = os.open(commands, os.O_RDWR | os.O_NONBLOCK)
pending = b""
dev = None
next_sample = time.monotonic()


def write(data):
    global dev
    if dev is None or not data:
        return
    try:
        os.write(dev, data)
    except OSError:
        os.close(dev)
        dev = None


while True:
    if dev is None:
        try:
            dev = os.open(tty_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            tty.setraw(dev)
            parser = Parser()
        except OSError:
            dev = None
    fds = [cmd] + ([dev] if dev is not None else [])
    r, _, _ = select.select(fds, [], [], 0.005)
    if cmd in r:
        pending += os.read(cmd, 4096)
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            words = line.decode().split()
            if not words:
                continue
            if words[0] == "analog":
                board.analog[int(words[1])] = int(words[2])
            elif words[0] == "level":
                board.levels[int(words[1])] = int(words[2])
                board.changed = True
            elif words[0] == "restart":
                board.forget()
                board.save()
                write(VERSION + firmware())
    if dev is not None and dev in r:
        try:
            data = os.read(dev, 4096)
        except BlockingIOError:
            data = None
        except OSError:
            data = b""
        if data:
            write(parser.feed(data, board))
        elif data == b"":  # unplugged: opened again once it is back
            os.close(dev)
            dev = None
            time.sleep(0.05)
    now = time.monotonic()
    if now >= next_sample:
        next_sample = now + board.sampling / 1000.0
        write(b"".join(bytes([0xE0 | c, board.analog[c] & 0x7F, board.analog[c] >> 7])
                       for c in sorted(board.report_analog)))
    if board.changed:
        board.changed = False
        write(b"".join(board.port(p) for p in sorted(board.report_ports)))
