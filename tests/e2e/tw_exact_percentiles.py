#!/usr/bin/env python3
"""tw_exact_percentiles.py - check every time figure of a two-way summary
(twping's, or owstats' of a two-way file) against an independent computation
from the records.

    tw_exact_percentiles.py FILE.twp RAW SUMMARY [owstats flags...]

RAW is the file's records as `owstats -R` prints them for a two-way file (16
fields: the forward half SEQ T1 S ERR T2 S ERR TTL, then the reflected half
SEQ T3 S ERR T4 S ERR TTL); SUMMARY is what owstats (or twping) printed with
the flags. The packet count comes from FILE.twp's preamble
(shared/spec/owp-file-format.md section 3).

Definitions (doc/statistics.md, tests/vectors/twamp/README.md F), written here
from the documents, not from the C:
  times       send T2 - T1, reflect T4 - T3, processing T3 - T2, round trip
              (T4 - T1) - (T3 - T2); each 32.32 stamp converted to seconds
              first, as the reference does;
  copies      a record is a first copy when neither its sender seq nor its
              reflector seq came before in the file; min/max take every
              received record, percentiles the first copies of the range;
  percentile  nearest rank: the value of rank ceil(p/100 x n) (at least 1) in
              ascending order, p the exact decimal typed; jitter P95 - P50;
              -a percentiles are of the round trip.
The range of a summary is the session's seqs [0, npackets), or with -N K the
seqs [K b, K (b + 1)).

Prints one line per wrong figure and "N of M printed figures true"; exits 1
unless all are.
"""
import math
import re
import struct
import sys
from fractions import Fraction

TWO32 = float(2 ** 32)
UNITS = {"n": 1e9, "u": 1e6, "m": 1e3, "s": 1.0}
TIMES = ("round-trip time", "send time", "reflect time")
JITTERS = ("two-way", "send", "reflect")


def npackets(path):
    with open(path, "rb") as f:
        data = f.read(52)
    if data[:4] != b"OwA\0" or struct.unpack(">I", data[4:8])[0] != 0x83:
        raise SystemExit("%s: not a two-way file" % path)
    return struct.unpack(">I", data[48:52])[0]


def read_raw(path):
    """(sender seq, reflector seq, [rtt, send, reflect, proc] or None) per record."""
    recs = []
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) != 16:
                continue
            t1, t2, t3, t4 = (float(int(w[i])) / TWO32 for i in (1, 4, 9, 12))
            if int(w[4]) == 0:
                recs.append((int(w[0]), int(w[8]), None))
                continue
            send, reflect, proc = t2 - t1, t4 - t3, t3 - t2
            recs.append((int(w[0]), int(w[8]), [(t4 - t1) - (t3 - t2), send, reflect, proc]))
    return recs


def parse_flags(args):
    opts = {"N": 0, "a": [], "n": "m"}
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-N", "-a", "-n") and i + 1 < len(args):
            val = args[i + 1]
            i += 2
        elif a[:2] in ("-N", "-a", "-n") and len(a) > 2:
            val = a[2:]
            a = a[:2]
            i += 1
        else:
            i += 1
            continue
        if a == "-N":
            opts["N"] = int(val)
        elif a == "-a":
            opts["a"] = [v for v in val.split(",") if v]
        else:
            opts["n"] = val[0]
    return opts


def rank_value(values, p):
    if not values:
        return None
    k = math.ceil(Fraction(p) / 100 * len(values))
    return sorted(values)[max(1, k) - 1]


def expected(recs, first, last, pcts, scale):
    """The figures a summary of seqs [first, last) must print, by label."""
    seen_s, seen_r = set(), set()
    firsts = [[], [], []]
    every = [[], [], [], []]
    for s, r, t in recs:
        if not first <= s < last or t is None:
            continue
        for k in range(4):
            every[k].append(t[k])
        if s not in seen_s and r not in seen_r:
            for k in range(3):
                firsts[k].append(t[k])
        seen_s.add(s)
        seen_r.add(r)

    def fmt(v):
        return "nan" if v is None else "%.3g" % (v * scale)

    want = {}
    for k, name in enumerate(TIMES):
        want[name] = (fmt(min(every[k]) if every[k] else None),
                      fmt(rank_value(firsts[k], "50")),
                      fmt(max(every[k]) if every[k] else None))
        p50, p95 = rank_value(firsts[k], "50"), rank_value(firsts[k], "95")
        want[JITTERS[k] + " jitter"] = fmt(None if p50 is None else p95 - p50)
    want["processing"] = (fmt(min(every[3]) if every[3] else None),
                          fmt(max(every[3]) if every[3] else None))
    want["percentiles"] = [fmt(rank_value(firsts[0], p)) for p in pcts]
    return want


def printed(summary_path):
    """The figures of each summary block of the output, in order."""
    blocks = []
    with open(summary_path) as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r"^(round-trip time|send time|reflect time) min/median/max = "
                         r"([^/]+)/([^/]+)/(\S+) ", line)
            if m:
                if m.group(1) == "round-trip time":
                    blocks.append({"percentiles": []})
                blocks[-1][m.group(1)] = (m.group(2), m.group(3), m.group(4))
                continue
            m = re.match(r"^reflector processing time min/max = ([^/]+)/(\S+) ", line)
            if m:
                blocks[-1]["processing"] = (m.group(1), m.group(2))
                continue
            m = re.match(r"^(two-way|send|reflect) jitter = (\S+) ", line)
            if m:
                blocks[-1][m.group(1) + " jitter"] = m.group(2)
                continue
            m = re.match(r"^\t[0-9.]+: (\S+) ", line)
            if m and blocks:
                blocks[-1]["percentiles"].append(m.group(1))
    return blocks


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    total = npackets(sys.argv[1])
    recs = read_raw(sys.argv[2])
    opts = parse_flags(sys.argv[4:])
    scale = UNITS.get(opts["n"], 1e3)
    step = opts["N"] if 0 < opts["N"] < total else max(total, 1)
    ranges = [(b, min(b + step, total)) for b in range(0, max(total, 1), step)]
    blocks = printed(sys.argv[3])
    good = count = 0
    if len(blocks) != len(ranges):
        print("%d summaries printed, %d ranges expected" % (len(blocks), len(ranges)))
        sys.exit(1)
    for (first, last), got in zip(ranges, blocks):
        want = expected(recs, first, last, opts["a"], scale)
        for key, value in want.items():
            have = got.get(key)
            pairs = list(zip(value, have)) if isinstance(value, (tuple, list)) else [(value, have)]
            if isinstance(value, list) and len(value) != len(have or []):
                pairs.append(("%d values" % len(value), "%d values" % len(have or [])))
            for w, h in pairs:
                count += 1
                if w == h:
                    good += 1
                else:
                    print("seqs [%d, %d) %s: printed %s, true %s" % (first, last, key, h, w))
    print("%s: %d of %d printed figures true" % (sys.argv[3], good, count))
    sys.exit(0 if good == count and count > 0 else 1)


if __name__ == "__main__":
    main()
