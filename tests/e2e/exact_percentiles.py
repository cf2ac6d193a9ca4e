#!/usr/bin/env python3
"""exact_percentiles.py - check every delay figure of an owstats/owping
human-readable summary against an independent computation from the records.

    exact_percentiles.py FILE.owp RAW SUMMARY [owstats flags...]

RAW is the file's records as `owstats -R` prints them (the reference's
format); SUMMARY is what `owstats FLAGS FILE.owp` printed. Skip ranges are
read from FILE.owp's header (shared/spec/owp-file-format.md sections 2 and 5).

Definitions (doc/statistics.md), written here from the spec, not from the C:
  delay       (recv as double) - (send as double), each 32.32 value converted
              to seconds first, as the reference does;
  percentile  nearest rank over the first copies (file order) of the received
              packets of the summary's range, outside skip ranges: the value
              of rank ceil(p/100 x n) (at least 1) in ascending order, with p
              taken as the exact decimal the user typed;
  jitter      P95 - P50;  min/max: over every copy.
The range of a summary is the whole session, or with -N K the seqs
[K b, K (b + 1)) of block b; -vN reads only the first N records of the file.

Prints one line per wrong figure and "N of M printed figures true"; exits 1
unless all are.
"""
import math
import struct
import sys
from fractions import Fraction

TWO32 = float(2 ** 32)
UNITS = {"n": 1e9, "u": 1e6, "m": 1e3, "s": 1.0}


def skip_ranges(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"OwA\0":
        raise SystemExit("%s: not an .owp file" % path)
    (version,) = struct.unpack(">I", data[4:8])
    if version < 3:
        return []
    nskips, = struct.unpack(">I", data[16:20])
    oset_skips, = struct.unpack(">Q", data[24:32])
    ranges = []
    for i in range(nskips):
        off = oset_skips + 8 * i
        ranges.append(struct.unpack(">II", data[off:off + 8]))
    return ranges


def read_raw(path):
    """(seq, delay or None when lost) per record, in file order."""
    recs = []
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) != 8:
                continue
            seq, send, recv = int(w[0]), int(w[1]), int(w[4])
            recs.append((seq, None if recv == 0 else float(recv) / TWO32 - float(send) / TWO32))
    return recs


def parse_flags(argv):
    o = {"units": "m", "sub": 0, "first": 0, "pcts": []}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "-n":
            o["units"] = argv[i + 1][0]
            i += 1
        elif a == "-N":
            o["sub"] = int(argv[i + 1])
            i += 1
        elif a == "-a":
            o["pcts"] = argv[i + 1].split(",")
            i += 1
        elif a == "-b":
            i += 1
        elif a.startswith("-v") and len(a) > 2:
            o["first"] = int(a[2:])
        i += 1
    return o


def nearest_rank(sorted_delays, pct_text):
    n = len(sorted_delays)
    k = math.ceil(Fraction(pct_text) / 100 * n)
    return sorted_delays[min(max(k, 1), n) - 1]


def fmt(v, scale):
    return "nan" if v is None else "%.3g" % (v * scale)


def block_figures(recs, skips, lo, hi):
    """min, max over all copies; sorted first-copy delays."""
    seen, first, every = set(), [], []
    for seq, d in recs:
        if not lo <= seq < hi or any(a <= seq <= b for a, b in skips):
            continue
        if d is None:
            continue
        every.append(d)
        if seq not in seen:
            seen.add(seq)
            first.append(d)
    first.sort()
    return (min(every) if every else None, max(every) if every else None, first)


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    owp, raw, summary = sys.argv[1:4]
    o = parse_flags(sys.argv[4:])
    scale = UNITS.get(o["units"], 1e3)
    recs = read_raw(raw)
    if o["first"]:
        recs = recs[:o["first"]]
    skips = skip_ranges(owp)
    lines = open(summary).read().split("\n")

    checked = wrong = 0
    block = -1
    fig = None

    def check(what, got, want):
        nonlocal checked, wrong
        checked += 1
        if got != want:
            wrong += 1
            print("%s: block %d %s printed %s, true %s" % (summary, block, what, got, want))

    for i, line in enumerate(lines):
        if line.startswith("first:\t"):  # a summary (-v prints the header twice)
            block += 1
            k = o["sub"]
            lo, hi = (k * block, k * (block + 1)) if k else (0, 1 << 32)
            fig = block_figures(recs, skips, lo, hi)
        elif fig and line.startswith("one-way delay min/median/max = "):
            mn, mx, first = fig
            got = line.split()[4].split("/")
            med = nearest_rank(first, "50") if first else None
            check("min", got[0], fmt(mn, scale))
            check("median", got[1], fmt(med, scale))
            check("max", got[2], fmt(mx, scale))
        elif fig and line.startswith("one-way jitter = "):
            first = fig[2]
            j = nearest_rank(first, "95") - nearest_rank(first, "50") if first else None
            check("jitter", line.split()[3], fmt(j, scale))
        elif fig and line == "Percentiles:":
            first = fig[2]
            for n, p in enumerate(o["pcts"]):
                got = lines[i + 1 + n].split()[1]
                check("P" + p, got, fmt(nearest_rank(first, p) if first else None, scale))
    print("%s: %d of %d printed figures true" % (summary, checked - wrong, checked))
    sys.exit(1 if wrong or not checked else 0)


if __name__ == "__main__":
    main()
