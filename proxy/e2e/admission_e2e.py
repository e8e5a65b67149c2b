#!/usr/bin/python3
"""End-to-end test of admission: what xdpkv must not answer, on a veth pair.

A server namespace and a client namespace this test creates, joined by a
veth pair; xdpkv on the server end with XDP in native mode (the client end
runs an XDP program too, which veth needs for XDP_TX to deliver) and then
in generic mode. The server listens on 198.18.0.1 and 2001:db8:ad::1 and
allows UDP from 198.18.0.2 and 2001:db8:ad::2 only (--udp-allow). The
client also owns 198.18.0.3 and 2001:db8:ad::3, outside the allowlist.

Crafted frames go out of a packet socket on the client end, each breaking
one rule the host's stack (or the operator) sets: foreign destination MAC
and IP, broadcast, martian sources, bad IPv4 header and UDP checksums,
lengths that disagree, a datagram from our own port (the loop), sources
outside the allowlist (IPv4 and IPv6). Each carries a SET of key `adm`;
for each, nothing may come back (a packet socket on the client end sees
every frame that arrives, for a bounded wait), and `adm` must still hold
its value afterwards. The allowed sources must be answered, by the kernel
(its counters, printed on SIGTERM, say so) and the rejections must be
counted under their reasons.

Traffic only goes to the hosts this test creates (198.18.0.0/24, the RFC
2544 benchmarking range, and 2001:db8:ad::/64, the documentation range);
every wait is bounded; the namespaces are removed on exit. Exit code 77
(CTest's skip) without root, with the reason printed.
"""
import argparse
import json
import os
import re
import select
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "compat-tests"))
import loopback  # compat-tests/loopback.py: port files, bounded waits

SERVER4, CLIENT4, OUTSIDE4 = "198.18.0.1", "198.18.0.2", "198.18.0.3"
SERVER6, CLIENT6, OUTSIDE6 = "2001:db8:ad::1", "2001:db8:ad::2", "2001:db8:ad::3"
FRAME = b"\x00\x07\x00\x00\x00\x01\x00\x00"
SET_NEW = FRAME + b"set adm 0 0 3\r\nnew\r\n"
REPLY_WAIT_S = 0.5   # per crafted frame: how long to watch for a reply
SOCKET_WAIT_S = 2.0  # per request of an allowed client


# ---- frames -------------------------------------------------------------

def csum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return total


def frame(dst_mac, src_mac, src, dst, sport, dport, payload, ip_len_delta=0, udp_len_delta=0,
          bad_ip_csum=False, bad_udp_csum=False, zero_udp_csum=False):
    """Ethernet + IPv4/IPv6 + UDP with right checksums, then the breakage."""
    v6 = ":" in src
    family = socket.AF_INET6 if v6 else socket.AF_INET
    s, d = socket.inet_pton(family, src), socket.inet_pton(family, dst)
    udp_len = 8 + len(payload) + udp_len_delta
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    pseudo = s + d + struct.pack("!HH", 17, udp_len)
    check = (~csum(pseudo + udp)) & 0xffff or 0xffff
    if bad_udp_csum:
        check ^= 0x0101
    if zero_udp_csum:
        check = 0
    udp = udp[:6] + struct.pack("!H", check) + udp[8:]
    if v6:
        ip = struct.pack("!IHBB", 6 << 28, 8 + len(payload) + ip_len_delta, 17, 64) + s + d
        ethertype = 0x86dd
    else:
        ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + 8 + len(payload) + ip_len_delta, 0x1234,
                         0x4000, 64, 17, 0) + s + d
        ip_check = (~csum(ip)) & 0xffff
        if bad_ip_csum:
            ip_check ^= 0x0101
        ip = ip[:10] + struct.pack("!H", ip_check) + ip[12:]
        ethertype = 0x0800
    return dst_mac + src_mac + struct.pack("!H", ethertype) + ip + udp


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def cases(server_mac, client_mac, mc, resp):
    """(name, frame, the kernel's reason): each must get no reply."""
    def f(**kw):
        args = dict(dst_mac=server_mac, src_mac=client_mac, src=CLIENT4, dst=SERVER4,
                    sport=40001, dport=mc, payload=SET_NEW)
        args.update(kw)
        return frame(**args)

    def f6(**kw):
        kw.setdefault("src", CLIENT6)
        kw.setdefault("dst", SERVER6)
        return f(**kw)

    bcast = b"\xff" * 6
    return [
        ("foreign destination MAC", f(dst_mac=b"\x02\x00\x00\x00\x00\x99"), "pass_foreign_mac"),
        ("foreign destination MAC, IPv6", f6(dst_mac=b"\x02\x00\x00\x00\x00\x99"),
         "pass_foreign_mac"),
        ("foreign destination IP", f(dst="198.18.0.9"), "pass_foreign_dest"),
        ("foreign destination IP, IPv6", f6(dst="2001:db8:ad::9"), "pass_foreign_dest"),
        # (A broadcast MAC to our unicast IP is passed too, but the stack
        # delivers that one: RFC 1122 only says SHOULD discard, and Linux
        # does not by default. xdp_admission_test covers the kernel's part.)
        ("broadcast", f(dst_mac=bcast, dst="198.18.0.255"), "pass_foreign_mac"),
        ("multicast, IPv6", f6(dst_mac=b"\x33\x33\x00\x00\x00\x01", dst="ff02::1"),
         "pass_foreign_mac"),
        ("martian source 127.0.0.1", f(src="127.0.0.1"), "pass_martian_source"),
        ("martian source: our own address", f(src=SERVER4), "pass_martian_source"),
        ("martian source: broadcast", f(src="255.255.255.255"), "pass_martian_source"),
        ("martian source ::1", f6(src="::1"), "pass_martian_source"),
        ("bad IPv4 header checksum", f(bad_ip_csum=True), "pass_bad_checksum"),
        ("bad UDP checksum", f(bad_udp_csum=True), "pass_bad_checksum"),
        ("bad UDP checksum, IPv6", f6(bad_udp_csum=True), "pass_bad_checksum"),
        ("no UDP checksum, IPv6", f6(zero_udp_csum=True), "pass_bad_checksum"),
        ("IP total length past the frame", f(ip_len_delta=4), "pass_bad_length"),
        ("IPv6 payload length past the frame", f6(ip_len_delta=4), "pass_bad_length"),
        # The loop: a request from our own port; its ERROR would be answered
        # by us again, forever. Garbage so that any answer is an error.
        ("from our memcached port to it", f(sport=mc, payload=FRAME + b"bogus\r\n"),
         "pass_self_port"),
        ("from our RESP port to memcached", f(sport=resp, payload=FRAME + b"bogus\r\n"),
         "pass_self_port"),
        ("source outside --udp-allow", f(src=OUTSIDE4), "pass_not_allowed"),
        ("source outside --udp-allow, IPv6", f6(src=OUTSIDE6), "pass_not_allowed"),
    ]


# ---- the client side (runs inside the client namespace) --------------------

def replies_seen(sock, ports, wait_s):
    """Frames arriving on the client end from one of `ports`, within wait_s."""
    seen = []
    deadline = time.monotonic() + wait_s
    for _ in range(10000):  # frames read at most
        left = max(0.0, deadline - time.monotonic())
        if not select.select([sock], [], [], left)[0]:
            return seen  # nothing more within the wait (wait 0: drained)
        data, address = sock.recvfrom(65535)
        if address[2] == socket.PACKET_OUTGOING:
            continue
        ethertype = struct.unpack("!H", data[12:14])[0]
        if ethertype == 0x0800 and len(data) >= 42 and data[23] == 17:
            ihl = (data[14] & 15) * 4
            sport = struct.unpack("!H", data[14 + ihl:16 + ihl])[0]
        elif ethertype == 0x86dd and len(data) >= 62 and data[20] == 17:
            sport = struct.unpack("!H", data[54:56])[0]
        else:
            continue
        if sport in ports:
            seen.append(data)
    return seen


def udp_exchange(src, dst, port, payload):
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((src, 0))
        s.settimeout(SOCKET_WAIT_S)
        s.sendto(payload, (dst, port))
        try:
            return s.recv(4096)
        except socket.timeout:
            return None


def client(ifname, server_mac, mc, resp):
    """Prints a JSON list of failures."""
    failures = []
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    raw.bind((ifname, 0))
    client_mac = raw.getsockname()[4]
    get = FRAME + b"get adm\r\n"
    want_old = FRAME + b"VALUE adm 0 3\r\nold\r\nEND\r\n"
    # Allowed sources are answered (IPv4 and IPv6).
    for src, dst in ((CLIENT4, SERVER4), (CLIENT6, SERVER6)):
        got = udp_exchange(src, dst, mc, FRAME + b"set adm 0 0 3\r\nold\r\n")
        if got != FRAME + b"STORED\r\n":
            failures.append(f"allowed {src}: set answered {got!r}")
        got = udp_exchange(src, dst, mc, get)
        if got != want_old:
            failures.append(f"allowed {src}: get answered {got!r}")
    # Outside the allowlist, through a plain socket: no answer.
    for src, dst in ((OUTSIDE4, SERVER4), (OUTSIDE6, SERVER6)):
        got = udp_exchange(src, dst, mc, SET_NEW)
        if got is not None:
            failures.append(f"outside {src}: answered {got!r}")
    # Crafted frames: nothing may come back.
    for name, data, _ in cases(mac_bytes(server_mac), client_mac, mc, resp):
        replies_seen(raw, (mc, resp), 0)  # drain
        raw.send(data)
        seen = replies_seen(raw, (mc, resp), REPLY_WAIT_S)
        if seen:
            failures.append(f"{name}: {len(seen)} replies, first {seen[0][-60:]!r}")
    # And the store holds what the allowed client wrote.
    for src, dst in ((CLIENT4, SERVER4), (CLIENT6, SERVER6)):
        got = udp_exchange(src, dst, mc, get)
        if got != want_old:
            failures.append(f"after the rejected requests, {src} reads {got!r}")
    # --udp-max-reply-bytes (400 by default): a reply over it to a
    # non-loopback source is one short error, from userspace (the kernel
    # passes it), whoever would have answered.
    big = b"b" * 500
    got = udp_exchange(CLIENT4, SERVER4, mc, FRAME + b"set big 0 0 500\r\n" + big + b"\r\n")
    if got != FRAME + b"STORED\r\n":
        failures.append(f"set big answered {got!r}")
    for src, dst in ((CLIENT4, SERVER4), (CLIENT6, SERVER6)):
        got = udp_exchange(src, dst, mc, FRAME + b"get big\r\n")
        if got != FRAME + b"SERVER_ERROR out of memory writing get response\r\n":
            failures.append(f"get big from {src}: over the cap, answered {got!r}")
        got = udp_exchange(src, dst, resp, FRAME + b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n")
        if got is None or not got.startswith(FRAME + b"-ERR reply larger than"):
            failures.append(f"RESP GET big from {src}: over the cap, answered {got!r}")
        got = udp_exchange(src, dst, mc, FRAME + b"get adm\r\n")
        if got != want_old:
            failures.append(f"get adm from {src}: under the cap, answered {got!r}")
    print(json.dumps(failures))


def loop_client(mc):
    """On lo: one datagram 127.0.0.1:mc -> 127.0.0.1:mc (spoofed through a
    raw socket), then counts, for a bounded wait, the datagrams between
    those two ports: the one sent, and any answer of ours to it (each of
    which would be answered again, forever). Prints the JSON count."""
    watch = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    watch.bind(("lo", 0))
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    payload = FRAME + b"bogus\r\n"
    raw.sendto(struct.pack("!HHHH", mc, mc, 8 + len(payload), 0) + payload, ("127.0.0.1", 0))
    count = 0
    deadline = time.monotonic() + 1.0
    for _ in range(100000):  # frames read at most
        left = max(0.0, deadline - time.monotonic())
        if not select.select([watch], [], [], left)[0]:
            break
        data, address = watch.recvfrom(65535)
        if address[2] == socket.PACKET_OUTGOING or data[12:14] != b"\x08\x00":
            continue
        ihl = (data[14] & 15) * 4
        if data[23] == 17 and data[14 + ihl:18 + ihl] == struct.pack("!HH", mc, mc):
            count += 1
    # This host's own clients get whole replies: no cap on loopback.
    big = b"b" * 500
    udp_exchange("127.0.0.1", "127.0.0.1", mc, FRAME + b"set big 0 0 500\r\n" + big + b"\r\n")
    got = udp_exchange("127.0.0.1", "127.0.0.1", mc, FRAME + b"get big\r\n")
    uncapped = got == FRAME + b"VALUE big 0 500\r\n" + big + b"\r\nEND\r\n"
    print(json.dumps({"seen": count, "uncapped": uncapped}))


# ---- the harness ----------------------------------------------------------

def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


def counters_of(output):
    match = re.search(r"counters:(.*)", output)
    out = {}
    for item in (match.group(1).split() if match else []):
        name, value = item.split("=")
        out[name] = int(value)
    return out


def test_mode(mode, errors):
    tag = f"{os.getpid()}-{mode[0]}"
    server_ns, client_ns = f"xkv-as-{tag}", f"xkv-ac-{tag}"
    server_if, client_if = f"xkas{tag}", f"xkac{tag}"
    enter = lambda ns: ["nsenter", f"--net=/run/netns/{ns}"]
    pins = [f"/sys/fs/bpf/xdpkv-adm-{tag}-{side}" for side in ("server", "peer")]
    try:
        run(["ip", "netns", "add", server_ns])
        run(["ip", "netns", "add", client_ns])
        run(["ip", "link", "add", server_if, "type", "veth", "peer", "name", client_if])
        run(["ip", "link", "set", server_if, "netns", server_ns])
        run(["ip", "link", "set", client_if, "netns", client_ns])
        for ns, ifname, addrs in ((server_ns, server_if, (SERVER4 + "/24", SERVER6 + "/64")),
                                  (client_ns, client_if, (CLIENT4 + "/24", OUTSIDE4 + "/24",
                                                          CLIENT6 + "/64", OUTSIDE6 + "/64"))):
            for addr in addrs:
                run(enter(ns) + ["ip", "addr", "add", addr, "dev", ifname]
                    + (["nodad"] if ":" in addr else []))
            run(enter(ns) + ["ip", "link", "set", ifname, "up"])
            run(enter(ns) + ["ip", "link", "set", "lo", "up"])
        server_mac = json.loads(run(["ip", "-n", server_ns, "-j", "link", "show", "dev",
                                     server_if]).stdout)[0]["address"]
        server = loopback.start_with_port_file(
            [ARGS.binary, "--xdp-iface", server_if, "--xdp-mode", mode, "-p", "-1", "-U", "-1",
             "--redis-port", "-1", "-l", SERVER4, "-l", SERVER6,
             "--udp-allow", CLIENT4 + "/32", "--udp-allow", CLIENT6,
             "--pin-dir", pins[0], "--fresh"], prefix=enter(server_ns))
        peer = None
        try:
            if "attached" not in server.output():
                raise RuntimeError(f"xdpkv did not attach XDP: {server.output()}")
            mc = server.ports.get("UDP INET")
            resp = server.ports.get("RESP INET")
            if mode == "native":
                # veth delivers native XDP_TX only to an end with a program;
                # with all its ports off, ours passes everything.
                peer = loopback.start_with_port_file(
                    [ARGS.binary, "--xdp-iface", client_if, "--xdp-mode", "native", "-p", "0",
                     "-U", "0", "--redis-port", "0", "--pin-dir", pins[1], "--fresh"],
                    prefix=enter(client_ns))
            out = run(enter(client_ns) + [sys.executable, __file__, "--client", client_if,
                                          "--server-mac", server_mac, "--mc-port", str(mc),
                                          "--resp-port", str(resp)], timeout=120).stdout
            for failure in json.loads(out.strip().splitlines()[-1]):
                errors.append(f"{mode}: {failure}")
        finally:
            if peer is not None:
                loopback.stop(peer)
                peer.cleanup()
            loopback.stop(server)
            output = server.output()
            server.cleanup()
        counters = counters_of(output)
        print(f"{mode}: counters {json.dumps(counters, sort_keys=True)}")
        if counters.get("memcache.get_hits", 0) < 2 or counters.get("memcache.sets", 0) < 2:
            errors.append(f"{mode}: the kernel did not answer the allowed clients")
        for _, _, reason in cases(b"\0" * 6, b"\0" * 6, 1, 2):
            if counters.get(f"memcache.{reason}", 0) < 1:
                errors.append(f"{mode}: nothing counted as memcache.{reason}")
    finally:
        subprocess.run(["ip", "netns", "del", server_ns], capture_output=True)
        subprocess.run(["ip", "netns", "del", client_ns], capture_output=True)
        for pin in pins:
            subprocess.run(["rm", "-rf", pin])


def test_loop_on_lo(errors):
    """The two-ended loop: a spoofed 127.0.0.1:11211 -> :11211 datagram
    must get no answer from the kernel (XDP on lo) nor from userspace."""
    ns = f"xkv-al-{os.getpid()}"
    pin = f"/sys/fs/bpf/xdpkv-adm-{os.getpid()}-lo"
    enter = ["nsenter", f"--net=/run/netns/{ns}"]
    try:
        run(["ip", "netns", "add", ns])
        run(enter + ["ip", "link", "set", "lo", "up"])
        server = loopback.start_with_port_file(
            [ARGS.binary, "--xdp-iface", "lo", "--xdp-mode", "generic", "-p", "-1", "-U", "-1",
             "--redis-port", "-1", "--pin-dir", pin, "--fresh"], prefix=enter)
        try:
            mc = server.ports.get("UDP INET")
            out = run(enter + [sys.executable, __file__, "--loop-client", str(mc)],
                      timeout=60).stdout
            result = json.loads(out.strip().splitlines()[-1])
            if result["seen"] != 1:
                errors.append(f"lo: {result['seen']} datagrams between our port and itself, "
                              "1 sent")
            if not result["uncapped"]:
                errors.append("lo: a 500-byte value was not returned whole to 127.0.0.1")
        finally:
            loopback.stop(server)
            output = server.output()
            server.cleanup()
        counters = counters_of(output)
        print(f"lo: counters {json.dumps(counters, sort_keys=True)}")
        if counters.get("memcache.pass_self_port", 0) != 1:
            errors.append("lo: the spoofed datagram was not counted once as pass_self_port")
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["rm", "-rf", pin])


def main():
    if os.geteuid() != 0:
        print("admission_e2e: skipped: needs root (BPF and network namespace rights)")
        return 77
    errors = []
    for mode in ("native", "generic"):
        test_mode(mode, errors)
    test_loop_on_lo(errors)
    for error in errors:
        print("FAIL:", error)
    print("admission_e2e: %s" % ("FAILED" if errors else "passed"))
    return 1 if errors else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="build/bin/xdpkv")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--server-mac", help=argparse.SUPPRESS)
    parser.add_argument("--mc-port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--resp-port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--loop-client", type=int, default=0, help=argparse.SUPPRESS)
    ARGS = parser.parse_args()
    if ARGS.client:
        client(ARGS.client, ARGS.server_mac, ARGS.mc_port, ARGS.resp_port)
        sys.exit(0)
    if ARGS.loop_client:
        loop_client(ARGS.loop_client)
        sys.exit(0)
    sys.exit(main())
