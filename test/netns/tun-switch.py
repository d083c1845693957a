#!/usr/bin/env python3
"""
A userspace IPv4 switch with netem-like impairments, for the netns test harness (test/netns/netns.ts).

Why this exists: the harness's first choice is a kernel bridge with `tc netem` on each host's veth, but some
kernels are built without sch_netem (CONFIG_NET_SCH_NETEM is not set on the CI machines of this project, and
there is no iptables/nft binary either). There, each host gets a TUN device instead of a veth, and this
process forwards every IPv4 packet between the TUN devices by destination address, applying per-host egress
delay, random loss and "cut" (drop everything to and from the host) exactly where netem would: on the
sending host's link. Node.js cannot open a TUN device (it needs an ioctl), hence Python (python3 is on every
machine of this project's kind); only the standard library is used.

Protocol (JSON lines):
  stdin, first line:  {"ports": [{"dev": "tcns-xx-0", "addr": "10.77.0.10"}, ...]}
  stdout:             {"ready": true}     once every TUN device exists (the harness then moves them into
                                          their namespaces and configures them; the fds stay valid)
  stdin, then:        {"id": 1, "op": "set", "addr": "10.77.0.10", "delayMs": 20, "lossPct": 0, "cut": false}
                      {"id": 2, "op": "stats"}
  stdout:             {"id": 1, "ok": true} / {"id": 2, "ok": true, "stats": {...}} / {"id": n, "error": "..."}
The switch exits when its stdin closes, and the kernel then deletes its (non-persistent) TUN devices, so a
crashed test run leaves no device behind.
"""
import errno
import fcntl
import heapq
import itertools
import json
import os
import random
import select
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MAX_PACKET = 65536
# Packets read from one device per wake-up before looking at the others again (fairness).
BURST = 64


class Port:
    def __init__(self, dev, addr):
        self.dev = dev
        self.addr = addr
        self.key = socket.inet_aton(addr)
        self.fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        fcntl.ioctl(self.fd, TUNSETIFF, struct.pack("16sH", dev.encode(), IFF_TUN | IFF_NO_PI))
        self.delay = 0.0
        self.loss = 0.0
        self.cut = False
        # Delivery times leaving this port never decrease, as with netem without jitter: TCP sees no reordering.
        self.last_due = 0.0


def main():
    stdin_fd = sys.stdin.fileno()
    # The first line is read unbuffered so that no later command can sit in a Python buffer unseen.
    pending = b""
    while b"\n" not in pending:
        chunk = os.read(stdin_fd, 65536)
        if not chunk:
            return
        pending += chunk
    first, pending = pending.split(b"\n", 1)
    config = json.loads(first)
    ports = [Port(p["dev"], p["addr"]) for p in config["ports"]]
    by_addr = {p.key: p for p in ports}
    by_fd = {p.fd: p for p in ports}
    stats = {"forwarded": 0, "lost": 0, "cut": 0, "noRoute": 0, "notIpv4": 0, "writeFailed": 0}
    queue = []  # (due, seq, source port, destination port, packet)
    seq = itertools.count()
    out = sys.stdout

    def reply(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()

    def command(line):
        msg = json.loads(line)
        if msg.get("op") == "set":
            port = by_addr.get(socket.inet_aton(msg["addr"]))
            if port is None:
                return reply({"id": msg.get("id"), "error": "unknown address " + msg["addr"]})
            port.delay = max(0.0, float(msg.get("delayMs", 0))) / 1000.0
            port.loss = min(100.0, max(0.0, float(msg.get("lossPct", 0)))) / 100.0
            port.cut = bool(msg.get("cut", False))
            return reply({"id": msg.get("id"), "ok": True})
        if msg.get("op") == "stats":
            return reply({"id": msg.get("id"), "ok": True, "stats": stats, "queued": len(queue)})
        return reply({"id": msg.get("id"), "error": "unknown op"})

    reply({"ready": True})
    os.set_blocking(stdin_fd, False)
    while b"\n" in pending:
        line, pending = pending.split(b"\n", 1)
        if line.strip():
            command(line)

    while True:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, src, dst, packet = heapq.heappop(queue)
            if src.cut or dst.cut:
                stats["cut"] += 1
                continue
            try:
                os.write(dst.fd, packet)
                stats["forwarded"] += 1
            except OSError as e:
                # The device is down or its queue is full: the packet is lost, as on a real link.
                stats["writeFailed"] += 1
                key = "writeFailed:" + errno.errorcode.get(e.errno, str(e.errno))
                stats[key] = stats.get(key, 0) + 1
        timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else 1.0
        readable, _, _ = select.select([stdin_fd] + list(by_fd), [], [], timeout)
        now = time.monotonic()
        for fd in readable:
            if fd == stdin_fd:
                chunk = os.read(stdin_fd, 65536)
                if not chunk:
                    return  # the harness is gone: exit, and the kernel removes the TUN devices
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    if line.strip():
                        command(line)
                continue
            src = by_fd[fd]
            for _ in range(BURST):
                try:
                    packet = os.read(fd, MAX_PACKET)
                except OSError as e:
                    if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                        break
                    raise
                if len(packet) < 20 or packet[0] >> 4 != 4:
                    stats["notIpv4"] += 1
                    continue
                dst = by_addr.get(packet[16:20])
                if dst is None:
                    stats["noRoute"] += 1
                    continue
                if src.cut or dst.cut:
                    stats["cut"] += 1
                    continue
                if src.loss and random.random() < src.loss:
                    stats["lost"] += 1
                    continue
                due = max(now + src.delay, src.last_due)
                src.last_due = due
                heapq.heappush(queue, (due, next(seq), src, dst, packet))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
