#!/usr/bin/env python3
"""A slow DNS server for tests (tests/e2e/test_slow_dns.sh, docs/dns.md).

    slow_dns.py [--port N] [--delay S] [--address A] [--log FILE]

Listens on UDP 127.0.0.1 (port 0: any; the port is printed as
"listening on 127.0.0.1:PORT" on stderr), and answers every A query with
ADDRESS (127.0.0.1) and every other query (AAAA...) with no record, each
DELAY seconds (2) after it came, on a timer of its own: a slow resolver,
not a stuck one, so many queries wait at once. Each query is logged as
"TIME query NAME TYPE" when it arrives and "TIME answer NAME TYPE" when
answered (NAME in lower case, TIME in Unix seconds; flushed, so a test
can wait for them).
"""
import argparse
import socket
import struct
import sys
import threading
import time

TYPE_A = 1


def question(packet):
    """(name, qtype, end of the question) of a query, or None."""
    labels, i = [], 12
    while i < len(packet):
        n = packet[i]
        if n == 0:
            if i + 5 > len(packet):
                return None
            qtype = struct.unpack(">H", packet[i + 1:i + 3])[0]
            return ".".join(labels), qtype, i + 5
        if n & 0xC0 or i + 1 + n > len(packet):
            return None
        labels.append(packet[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    return None


def answer(packet, qtype, qend, address):
    """The response to packet: ADDRESS for an A query, else no record."""
    ident = packet[:2]
    flags = 0x8180  # response, recursion desired and available, NOERROR
    records = b""
    if qtype == TYPE_A:
        records = (b"\xc0\x0c" + struct.pack(">HHIH", TYPE_A, 1, 60, 4)
                   + socket.inet_aton(address))
    header = ident + struct.pack(">HHHHH", flags, 1, 1 if records else 0, 0, 0)
    return header + packet[12:qend] + records


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay", type=float, default=2.0)
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--log", default=None)
    args = ap.parse_args()
    log = open(args.log, "a") if args.log else sys.stdout
    lock = threading.Lock()

    def note(what, name, qtype):
        with lock:
            # evdns mixes the case of names (0x20 hardening): log them lower
            log.write(f"{time.time():.3f} {what} {name.lower()} {qtype}\n")
            log.flush()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", args.port))
    print(f"listening on 127.0.0.1:{sock.getsockname()[1]}", file=sys.stderr,
          flush=True)

    def reply(packet, peer, q):
        name, qtype, qend = q
        sock.sendto(answer(packet, qtype, qend, args.address), peer)
        note("answer", name, qtype)

    while True:
        packet, peer = sock.recvfrom(4096)
        q = question(packet) if len(packet) >= 12 else None
        if q is None:
            continue
        note("query", q[0], q[1])
        t = threading.Timer(args.delay, reply, (packet, peer, q))
        t.daemon = True
        t.start()


if __name__ == "__main__":
    main()
