#!/usr/bin/env python3
"""stamp_peer.py - an independent STAMP peer for interoperability tests.

Written from the RFC text alone (RFC 8762 "Simple Two-Way Active Measurement
Protocol", RFC 8972 "STAMP Optional Extensions", RFC 5357 appendix I for
TWAMP-Light), with the Python standard library only, so that owmesh's C
implementation is tested against a second reading of the RFCs rather than
against itself.

  stamp_peer.py sender --to HOST:PORT [--count N] [--first-seq N] [--interval S] [--timeout S]
                       [--key HEX] [--tlv-key HEX] [--ssid N] [--tlvs LIST] [--twamp-light]
                       [--size N] [--tos N]
      Sends test packets, prints one JSON object per answer (the fields it
      carried and what was checked: HMACs, TLV flags) and a summary object.
      LIST: pad=N,timestamp,cos=DSCP,location,direct,follow-up,access=ID,
      hmac, and for negative tests unknown=TYPE, badlen (a Class of Service
      TLV of 3 octets), overrun (a TLV whose Length runs past the packet),
      badhmac (an HMAC TLV that does not verify).

  stamp_peer.py reflector --listen HOST:PORT [--key HEX] [--stateful]
                          [--count N] [--idle S] [--log FILE]
      Answers test packets until N were answered or nothing came for S
      seconds; each received packet is logged as a JSON line in FILE.

Packet layouts (RFC 8762 4.2, 4.3; RFC 8972 section 3 puts the Session-Sender
Identifier in the octets after the error estimate):
  unauthenticated sender      44: seq, T, err, SSID, 28 MBZ
  authenticated sender       112: seq, 12 MBZ, T, err, SSID, 68 MBZ, HMAC
  unauthenticated reflector   44: seq, T, err, SSID, T2, sseq, sT, serr, 2 MBZ,
                                  sTTL, 3 MBZ
  authenticated reflector    112: seq, 12 MBZ, T, err, SSID, 4 MBZ, T2, 8 MBZ,
                                  sseq, 12 MBZ, sT, serr, 6 MBZ, sTTL, 15 MBZ, HMAC
HMAC: HMAC-SHA-256 over the first 96 octets, first 16 octets kept. TLVs
(RFC 8972 section 4): flags (U 0x80, M 0x40, I 0x20), type, 16-bit length,
value; the HMAC TLV (type 8) covers the base packet's sequence number and the
TLVs before it.
"""

import argparse
import hashlib
import hmac
import json
import select
import socket
import struct
import sys
import time

NTP_EPOCH_OFFSET = 2208988800
U_FLAG, M_FLAG, I_FLAG = 0x80, 0x40, 0x20
EXTRA_PADDING, LOCATION, TIMESTAMP_INFO, CLASS_OF_SERVICE = 1, 2, 3, 4
DIRECT_MEASUREMENT, ACCESS_REPORT, FOLLOW_UP, HMAC_TLV = 5, 6, 7, 8
FIXED_LENGTH = {CLASS_OF_SERVICE: 4, DIRECT_MEASUREMENT: 12, ACCESS_REPORT: 4,
                FOLLOW_UP: 16, HMAC_TLV: 16}
MIN_LENGTH = {LOCATION: 4, TIMESTAMP_INFO: 4}
# Linux's values where the socket module does not name them.
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)
IPV6_RECVHOPLIMIT = getattr(socket, "IPV6_RECVHOPLIMIT", 51)
IPV6_HOPLIMIT = getattr(socket, "IPV6_HOPLIMIT", 52)


# ------------------------------------------------------------ time and keys

def ntp_now():
    t = time.time() + NTP_EPOCH_OFFSET
    seconds = int(t)
    return (seconds << 32) | int((t - seconds) * (1 << 32))


def ntp_seconds(value):
    return (value >> 32) + (value & 0xFFFFFFFF) / float(1 << 32)


def mac16(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()[:16]


def unsynchronized_error_estimate():
    # S = 0 (not synchronized), Z = 0 (NTP format), scale 0, multiplier 1.
    return 0x0001


# ------------------------------------------------------------ base packets

def sender_packet(seq, ssid, key):
    stamp, err = ntp_now(), unsynchronized_error_estimate()
    if key is None:
        return struct.pack("!IQHH28x", seq, stamp, err, ssid)
    head = struct.pack("!I12xQHH68x", seq, stamp, err, ssid)
    return head + mac16(key, head)


def parse_sender(data, key):
    """(fields, error): fields of a Session-Sender base packet."""
    if key is None:
        if len(data) < 14:
            return None, "short"
        seq, stamp, err = struct.unpack_from("!IQH", data)
        ssid = struct.unpack_from("!H", data, 14)[0] if len(data) >= 16 else 0
        return {"seq": seq, "t1": stamp, "err": err, "ssid": ssid}, None
    if len(data) < 112:
        return None, "short"
    if not hmac.compare_digest(mac16(key, data[:96]), data[96:112]):
        return None, "hmac"
    seq = struct.unpack_from("!I", data)[0]
    stamp, err, ssid = struct.unpack_from("!QHH", data, 16)
    return {"seq": seq, "t1": stamp, "err": err, "ssid": ssid}, None


def reflector_packet(key, seq, ssid, t2, sender, ttl):
    """The base of an answer, its timestamp taken last."""
    t3, err = ntp_now(), unsynchronized_error_estimate()
    if key is None:
        return struct.pack("!IQHHQIQH2xB3x", seq, t3, err, ssid, t2, sender["seq"],
                           sender["t1"], sender["err"], ttl)
    head = struct.pack("!I12xQHH4xQ8xI12xQH6xB15x", seq, t3, err, ssid, t2, sender["seq"],
                       sender["t1"], sender["err"], ttl)
    return head + mac16(key, head)


def parse_reflected(data, key):
    if key is None:
        if len(data) < 44:
            return None, "short"
        f = struct.unpack_from("!IQHHQIQH2xB", data)
    else:
        if len(data) < 112:
            return None, "short"
        if not hmac.compare_digest(mac16(key, data[:96]), data[96:112]):
            return None, "hmac"
        f = struct.unpack_from("!I12xQHH4xQ8xI12xQH6xB", data)
    names = ("seq", "t3", "err", "ssid", "t2", "sender_seq", "t1", "sender_err", "sender_ttl")
    return dict(zip(names, f)), None


# ------------------------------------------------------------ TLVs

def tlv(tlv_type, value, flags=U_FLAG):
    return struct.pack("!BBH", flags, tlv_type, len(value)) + value


def walk_tlvs(area):
    """[(offset, flags, type, length, complete)] up to the first overrun;
    trailing zero octets are padding."""
    out, pos = [], 0
    while pos < len(area) and any(area[pos:]):
        if len(area) - pos < 4:
            out.append((pos, area[pos], None, None, False))
            break
        flags, tlv_type, length = struct.unpack_from("!BBH", area, pos)
        if pos + 4 + length > len(area):
            out.append((pos, flags, tlv_type, length, False))
            break
        out.append((pos, flags, tlv_type, length, True))
        pos += 4 + length
    return out


def build_tlvs(spec, seq, key, sent_count):
    """The sender's TLV area for a spec list (see the module text)."""
    parts, after_hmac, want_hmac, tail = [], [], False, b""
    for item in [x for x in spec.split(",") if x]:
        name, _, value = item.partition("=")
        if name == "pad":
            after_hmac.append(tlv(EXTRA_PADDING, bytes(int(value))))
        elif name == "timestamp":
            parts.append(tlv(TIMESTAMP_INFO, bytes(4)))
        elif name == "cos":
            parts.append(tlv(CLASS_OF_SERVICE, struct.pack("!BBH", int(value or 0) << 2, 0, 0)))
        elif name == "location":
            # Ports to fill, and the generic Source IP (7) and Destination IP (4)
            # sub-TLVs, 16 octets each, for the reflector to answer.
            subs = tlv(7, bytes(16)) + tlv(4, bytes(16))
            parts.append(tlv(LOCATION, bytes(4) + subs))
        elif name == "direct":
            parts.append(tlv(DIRECT_MEASUREMENT, struct.pack("!III", sent_count, 0, 0)))
        elif name == "follow-up":
            parts.append(tlv(FOLLOW_UP, bytes(16)))
        elif name == "access":
            parts.append(tlv(ACCESS_REPORT, struct.pack("!BBH", int(value) << 4, 1, 0)))
        elif name == "unknown":
            parts.append(tlv(int(value), b"\x01\x02\x03\x04"))
        elif name == "badlen":
            parts.append(tlv(CLASS_OF_SERVICE, b"\x00\x00\x00"))
        elif name == "overrun":
            tail = struct.pack("!BBH", U_FLAG, TIMESTAMP_INFO, 200) + bytes(4)
        elif name in ("hmac", "badhmac"):
            want_hmac = name
        else:
            raise SystemExit("stamp_peer: unknown TLV %s" % name)
    area = b"".join(parts)
    if want_hmac:
        digest = mac16(key or b"", struct.pack("!I", seq) + area)
        if want_hmac == "badhmac":
            digest = bytes(b ^ 0xFF for b in digest)
        area += tlv(HMAC_TLV, digest)
    return area + b"".join(after_hmac) + tail


def describe_tlvs(area, key, seq):
    """What a sender reads in the TLVs of an answer."""
    result, seen = [], b""
    for pos, flags, tlv_type, length, complete in walk_tlvs(area):
        entry = {"type": tlv_type, "flags": flags, "length": length, "complete": complete}
        value = area[pos + 4:pos + 4 + length] if complete else b""
        if complete and tlv_type == HMAC_TLV and length == 16:
            entry["hmac_ok"] = key is not None and hmac.compare_digest(
                mac16(key, struct.pack("!I", seq) + area[:pos]), value)
        if complete and not flags & (U_FLAG | M_FLAG):
            entry.update(decode_value(tlv_type, value))
        result.append(entry)
    return result


def decode_value(tlv_type, value):
    if tlv_type == TIMESTAMP_INFO and len(value) >= 4:
        return {"sync_in": value[0], "ts_in": value[1], "sync_out": value[2],
                "ts_out": value[3]}
    if tlv_type == CLASS_OF_SERVICE and len(value) == 4:
        word = struct.unpack("!H", value[:2])[0]
        return {"dscp1": word >> 10, "dscp2": (word >> 4) & 0x3F, "ecn": (word >> 2) & 3,
                "rp": word & 3}
    if tlv_type == DIRECT_MEASUREMENT and len(value) == 12:
        s, r, t = struct.unpack("!III", value)
        return {"s_txc": s, "r_rxc": r, "r_txc": t}
    if tlv_type == FOLLOW_UP and len(value) == 16:
        seq, stamp, mode = struct.unpack("!IQB", value[:13])
        return {"fu_seq": seq, "fu_time": stamp, "fu_mode": mode}
    if tlv_type == ACCESS_REPORT and len(value) == 4:
        return {"access_id": value[0] >> 4, "return_code": value[1]}
    if tlv_type == LOCATION and len(value) >= 4:
        out = {"dst_port": struct.unpack("!H", value[:2])[0],
               "src_port": struct.unpack("!H", value[2:4])[0]}
        for pos, flags, sub, length, complete in walk_tlvs(value[4:]):
            v = value[4 + pos + 4:4 + pos + 4 + (length or 0)]
            if not complete or flags & (U_FLAG | M_FLAG):
                continue
            if sub in (5, 8):
                out["dst" if sub == 5 else "src"] = socket.inet_ntop(socket.AF_INET, v[:4])
            elif sub in (6, 9):
                out["dst" if sub == 6 else "src"] = socket.inet_ntop(socket.AF_INET6, v[:16])
        return out
    return {}


# ------------------------------------------------------------ sockets

def split_hostport(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def make_socket(host, port, bind):
    info = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0]
    sock = socket.socket(info[0], socket.SOCK_DGRAM)
    v6 = info[0] == socket.AF_INET6
    if v6:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
    else:
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
    if bind:
        sock.bind(info[4])
    return sock, info[4]


def received_ttl(ancillary):
    for level, kind, data in ancillary:
        if (level, kind) in ((socket.IPPROTO_IP, socket.IP_TTL),
                             (socket.IPPROTO_IPV6, IPV6_HOPLIMIT)):
            return struct.unpack("i", data[:4])[0] if len(data) >= 4 else data[0]
    return 255


# ------------------------------------------------------------ the sender

def run_sender(args):
    host, port = split_hostport(args.to)
    sock, peer = make_socket(host, port, False)
    if args.tos is not None:
        level, name = ((socket.IPPROTO_IPV6, socket.IPV6_TCLASS) if sock.family == socket.AF_INET6
                       else (socket.IPPROTO_IP, socket.IP_TOS))
        sock.setsockopt(level, name, args.tos)
    key = bytes.fromhex(args.key) if args.key else None
    tlv_key = bytes.fromhex(args.tlv_key) if args.tlv_key else key
    answers, sent = {}, {}
    deadline = None
    for seq in range(args.first_seq, args.first_seq + args.count):
        if args.twamp_light:
            # RFC 5357 appendix I: seq, timestamp, error estimate, padding
            # (27 octets: as long as the reflected packet).
            packet = struct.pack("!IQH", seq, ntp_now(), unsynchronized_error_estimate())
            packet += bytes(args.size - 14 if args.size else 27)
        else:
            packet = sender_packet(seq, args.ssid, key)
            packet += build_tlvs(args.tlvs, seq, tlv_key, seq + 1)
            if args.size:
                packet = packet[:args.size]
        sent[seq] = (time.time(), len(packet))
        sock.sendto(packet, peer)
        collect(sock, key, answers, sent, args, time.time() + args.interval)
    deadline = time.time() + args.timeout
    collect(sock, key, answers, sent, args, deadline)
    lost = [s for s in sent if s not in answers]
    print(json.dumps({"summary": True, "sent": len(sent), "answered": len(answers),
                      "lost": lost}))
    return 0


def collect(sock, key, answers, sent, args, until):
    while True:
        left = until - time.time()
        if left <= 0:
            return
        ready, _, _ = select.select([sock], [], [], left)
        if not ready:
            return
        data, ancillary, _, source = sock.recvmsg(65535, 256)
        t4 = ntp_now()
        report(data, ancillary, key, answers, sent, args, t4)


def report(data, ancillary, key, answers, sent, args, t4):
    if args.twamp_light:
        # TWAMP's reflected layout: the unauthenticated STAMP one up to the TTL.
        fields, error = parse_reflected(data + bytes(max(0, 44 - len(data))), None)
    else:
        fields, error = parse_reflected(data, key)
    line = {"length": len(data), "ttl": received_ttl(ancillary)}
    if error:
        line["error"] = error
        print(json.dumps(line))
        return
    line.update(fields)
    line["t4"] = t4
    line["sent_length"] = sent.get(fields["sender_seq"], (0, 0))[1]
    line["rtt"] = (ntp_seconds(t4) - ntp_seconds(fields["t1"]) -
                   (ntp_seconds(fields["t3"]) - ntp_seconds(fields["t2"])))
    base = 112 if key is not None and not args.twamp_light else 44
    if len(data) > base:
        line["tlvs"] = describe_tlvs(data[base:], args.tlv_key and bytes.fromhex(args.tlv_key)
                                     or key, fields["seq"])
    answers.setdefault(fields["sender_seq"], line)
    print(json.dumps(line))


# ------------------------------------------------------------ the reflector

class Session:
    def __init__(self):
        self.next_seq = 0
        self.received = 0
        self.sent = 0
        self.last = None  # (seq, T3) of the previous answer


def answer_tlvs(area, request_seq, reply_seq, key, session, stateful, src, dst):
    """The answer's TLV area (the same length): each TLV answered in place."""
    out = bytearray(area)
    entries = walk_tlvs(area)
    hmac_at, hmac_usable, protected = None, True, 0
    for pos, flags, tlv_type, length, complete in entries:
        if not complete:
            out[pos] = M_FLAG  # the rest is copied as it came
            protected += 1
            hmac_usable = hmac_at is None
            break
        if hmac_at is not None and tlv_type != EXTRA_PADDING:
            hmac_usable = False
        value = out[pos + 4:pos + 4 + length]
        new_flags = answer_value(tlv_type, length, value, session, stateful, src, dst)
        out[pos + 4:pos + 4 + length] = value
        out[pos] = new_flags
        if tlv_type == HMAC_TLV:
            hmac_at = pos if hmac_at is None else hmac_at
            hmac_usable = hmac_usable and length == 16
        elif tlv_type != EXTRA_PADDING:
            protected += 1
    if hmac_at is None and not (key is not None and protected):
        return bytes(out), None
    good = (hmac_at is not None and hmac_usable and key is not None and hmac.compare_digest(
        mac16(key, struct.pack("!I", request_seq) + area[:hmac_at]),
        area[hmac_at + 4:hmac_at + 20]))
    if not good:
        for pos, _, _, _, _ in walk_tlvs(bytes(out)):
            out[pos] |= I_FLAG
        return bytes(out), False
    out[hmac_at + 4:hmac_at + 20] = mac16(key, struct.pack("!I", reply_seq) + bytes(out[:hmac_at]))
    return bytes(out), True


def answer_value(tlv_type, length, value, session, stateful, src, dst):
    if tlv_type in FIXED_LENGTH and length != FIXED_LENGTH[tlv_type]:
        return M_FLAG
    if tlv_type in MIN_LENGTH and length < MIN_LENGTH[tlv_type]:
        return M_FLAG
    if tlv_type == TIMESTAMP_INFO:
        value[0:4] = bytes([5, 2, 5, 2])  # local free-running clock, software stamps
    elif tlv_type == CLASS_OF_SERVICE:
        dscp1 = value[0] >> 2
        value[0:4] = struct.pack("!HH", dscp1 << 10, 0)  # DSCP2, ECN not observed here
    elif tlv_type == DIRECT_MEASUREMENT:
        value[4:12] = struct.pack("!II", session.received, session.sent + 1)
    elif tlv_type == FOLLOW_UP:
        if stateful and session.last:
            value[0:16] = struct.pack("!IQB3x", session.last[0], session.last[1], 2)
        else:
            value[0:16] = bytes(16)
    elif tlv_type == LOCATION:
        value[0:4] = struct.pack("!HH", dst[1], src[1])
        answer_location_subtlvs(value, src, dst)
    elif tlv_type == ACCESS_REPORT:
        return 0 if value[0] >> 4 in (1, 2) else U_FLAG
    elif tlv_type not in (EXTRA_PADDING, HMAC_TLV):
        return U_FLAG
    return 0


def answer_location_subtlvs(value, src, dst):
    sub_area = bytes(value[4:])
    for pos, flags, sub, length, complete in walk_tlvs(sub_area):
        at = 4 + pos
        if not complete or length != 16 or sub not in (4, 7):
            value[at] = U_FLAG if complete else M_FLAG
            continue
        address = (dst if sub == 4 else src)[0]
        if ":" in address and not address.startswith("::ffff:"):
            value[at + 1] = 6 if sub == 4 else 9
            value[at + 4:at + 20] = socket.inet_pton(socket.AF_INET6, address)
        else:
            value[at + 1] = 5 if sub == 4 else 8
            value[at + 4:at + 20] = socket.inet_pton(socket.AF_INET,
                                                     address.replace("::ffff:", "")) + bytes(12)
        value[at] = 0


def run_reflector(args):
    host, port = split_hostport(args.listen)
    sock, local = make_socket(host, port, True)
    key = bytes.fromhex(args.key) if args.key else None
    base = 44 if key is None else 112
    sessions, answered = {}, 0
    log = open(args.log, "w") if args.log else None
    print("ready", flush=True)
    while answered < args.count:
        ready, _, _ = select.select([sock], [], [], args.idle)
        if not ready:
            break
        data, ancillary, _, source = sock.recvmsg(65535, 256)
        t2 = ntp_now()
        ttl = received_ttl(ancillary)
        fields, error = parse_sender(data, key)
        entry = {"length": len(data), "ttl": ttl, "error": error}
        if fields:
            entry.update(fields)
        if error or len(data) < base:
            if log:
                log.write(json.dumps(entry) + "\n")
                log.flush()
            continue
        session = sessions.setdefault((source[0], source[1], fields["ssid"]), Session())
        session.received += 1
        seq = session.next_seq if args.stateful else fields["seq"]
        area = data[base:]
        entry["tlvs"] = describe_request_tlvs(area, key, fields["seq"])
        reply_tlvs, _ = answer_tlvs(area, fields["seq"], seq, key, session, args.stateful,
                                    source, local) if area else (b"", None)
        reply = reflector_packet(key, seq, fields["ssid"], t2, fields, ttl) + reply_tlvs
        sock.sendto(reply, source)
        session.last = (seq, struct.unpack_from("!Q", reply, 4 if key is None else 16)[0])
        session.sent += 1
        session.next_seq += 1
        answered += 1
        if log:
            log.write(json.dumps(entry) + "\n")
            log.flush()
    return 0


def describe_request_tlvs(area, key, seq):
    """What a reflector sees in a request's TLVs (flags as sent, HMAC checked)."""
    out = []
    for pos, flags, tlv_type, length, complete in walk_tlvs(area):
        entry = {"type": tlv_type, "flags": flags, "length": length}
        if complete and tlv_type == HMAC_TLV and length == 16:
            entry["hmac_ok"] = key is not None and hmac.compare_digest(
                mac16(key, struct.pack("!I", seq) + area[:pos]), area[pos + 4:pos + 20])
        out.append(entry)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="role", required=True)
    s = sub.add_parser("sender")
    s.add_argument("--to", required=True)
    s.add_argument("--count", type=int, default=10)
    s.add_argument("--interval", type=float, default=0.01)
    s.add_argument("--timeout", type=float, default=1.0)
    s.add_argument("--key")
    s.add_argument("--tlv-key", help="the HMAC TLV's key in unauthenticated mode")
    s.add_argument("--ssid", type=int, default=0)
    s.add_argument("--first-seq", type=int, default=0, help="the first sequence number")
    s.add_argument("--tlvs", default="")
    s.add_argument("--twamp-light", action="store_true")
    s.add_argument("--size", type=int, default=0)
    s.add_argument("--tos", type=int)
    r = sub.add_parser("reflector")
    r.add_argument("--listen", required=True)
    r.add_argument("--key")
    r.add_argument("--stateful", action="store_true")
    r.add_argument("--count", type=int, default=1000)
    r.add_argument("--idle", type=float, default=5.0)
    r.add_argument("--log")
    args = parser.parse_args()
    return run_sender(args) if args.role == "sender" else run_reflector(args)


if __name__ == "__main__":
    sys.exit(main())
