#!/usr/bin/env python3
"""serve_prometheus.py - a strict parser of the Prometheus text exposition
format (version 0.0.4), written from its specification, and the check of
owmesh serve's /metrics against `owmesh query --json` on the same data.

    serve_prometheus.py METRICS_FILE QUERY_JSON_DIR

QUERY_JSON_DIR holds SRC-DST.json: `owmesh query --src SRC --dst DST
--since WINDOW -p 50,90,99 --json` for every path with data in the window.
Prints "PASS: what" / "FAIL: what" lines; exit 1 when anything failed.

The format, as the specification gives it:
  - lines end in \\n; empty lines are ignored;
  - '# HELP name docstring' (docstring escapes \\\\ and \\n) and
    '# TYPE name type' (counter, gauge, histogram, summary, untyped), at
    most one each per metric name, TYPE before the name's first sample;
    other lines starting with '#' are comments;
  - a sample: name [ '{' label="value" { ',' label="value" } [','] '}' ]
    value [ timestamp ], names [a-zA-Z_:][a-zA-Z0-9_:]*, label names
    [a-zA-Z_][a-zA-Z0-9_]* (not starting with __), label values with the
    escapes \\\\, \\" and \\n; a value is a Go float (NaN, +Inf, -Inf too);
  - all samples of one metric family are together: a name once left is
    never taken up again; a label set appears once per name."""
import json
import math
import os
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
FLOAT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class ParseError(Exception):
    pass


def parse_value(text, where):
    if text in ("NaN", "+Inf", "-Inf", "Inf"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not FLOAT.match(text):
        raise ParseError("%s: bad value %r" % (where, text))
    return float(text)


def parse_labels(text, pos, where):
    """text[pos] == '{'; returns (labels, position after '}')."""
    labels = {}
    pos += 1
    while True:
        if pos < len(text) and text[pos] == "}":
            return labels, pos + 1
        m = LABEL.match(text, pos)
        if not m:
            raise ParseError("%s: bad label name at column %d" % (where, pos + 1))
        name = m.group(0)
        if name.startswith("__"):
            raise ParseError("%s: reserved label name %s" % (where, name))
        pos = m.end()
        if text[pos:pos + 2] != '="':
            raise ParseError("%s: expected =\" after label %s" % (where, name))
        pos += 2
        value = []
        while True:
            if pos >= len(text):
                raise ParseError("%s: unterminated label value" % where)
            c = text[pos]
            if c == "\\":
                nxt = text[pos + 1:pos + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ParseError("%s: bad escape \\%s" % (where, nxt))
                value.append("\n" if nxt == "n" else nxt)
                pos += 2
            elif c == '"':
                pos += 1
                break
            else:
                value.append(c)
                pos += 1
        if name in labels:
            raise ParseError("%s: label %s twice" % (where, name))
        labels[name] = "".join(value)
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] == "}":
            continue
        else:
            raise ParseError("%s: expected , or } after a label" % where)


def parse(text):
    """{name: {"help", "type", "samples": [(labels, value)]}}."""
    if text and not text.endswith("\n"):
        raise ParseError("the last line does not end in \\n")
    families, done, current, seen = {}, set(), None, set()
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d" % n
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.fullmatch(name):
                    raise ParseError("%s: bad metric name %r" % (where, name))
                fam = families.setdefault(name, {"help": None, "type": None, "samples": []})
                key = parts[1].lower()
                if fam[key] is not None:
                    raise ParseError("%s: second %s for %s" % (where, parts[1], name))
                if key == "type":
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise ParseError("%s: bad type" % where)
                    if fam["samples"]:
                        raise ParseError("%s: TYPE after samples of %s" % (where, name))
                fam[key] = parts[3] if len(parts) == 4 else ""
            continue
        m = NAME.match(line)
        if not m:
            raise ParseError("%s: bad metric name" % where)
        name, pos = m.group(0), m.end()
        labels = {}
        if pos < len(line) and line[pos] == "{":
            labels, pos = parse_labels(line, pos, where)
        rest = line[pos:]
        if not rest.startswith(" "):
            raise ParseError("%s: expected a space before the value" % where)
        fields = rest.strip(" ").split(" ")
        if len(fields) not in (1, 2):
            raise ParseError("%s: expected a value and an optional timestamp" % where)
        value = parse_value(fields[0], where)
        if len(fields) == 2 and not re.fullmatch(r"-?\d+", fields[1]):
            raise ParseError("%s: bad timestamp" % where)
        if name != current:
            if name in done:
                raise ParseError("%s: samples of %s not together" % (where, name))
            if current:
                done.add(current)
            current = name
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise ParseError("%s: %s%s twice" % (where, name, labels))
        seen.add(key)
        families.setdefault(name, {"help": None, "type": None, "samples": []})
        families[name]["samples"].append((labels, value))
    return families


results = []


def check(what, ok):
    results.append(bool(ok))
    print(("PASS: " if ok else "FAIL: ") + what, flush=True)


def close(a, b):
    return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=2e-12)


def self_test():
    """The parser refuses what the format forbids."""
    bad = ['x{a="1"} 1\ny 2\nx{a="2"} 3\n', 'x{a="\\q"} 1\n', "x 1", "x one\n",
           '# TYPE x gauge\n# TYPE x gauge\nx 1\n', 'x{__a="1"} 1\n', 'x{a="1"} 1\nx{a="1"} 2\n']
    for text in bad:
        try:
            parse(text)
            check("parser refuses %r" % text, False)
        except ParseError:
            pass
    fam = parse('# HELP x a\\nb\n# TYPE x gauge\nx{a="q\\"\\\\\\n",b="2",} +Inf 17\n')
    check("parser reads escapes, trailing comma, +Inf and a timestamp",
          fam["x"]["samples"] == [({"a": 'q"\\\n', "b": "2"}, math.inf)])


def main():
    metrics_file, query_dir = sys.argv[1:3]
    self_test()
    with open(metrics_file) as f:
        text = f.read()
    try:
        fams = parse(text)
        check("/metrics parses as text exposition 0.0.4 (%d families)" % len(fams), True)
    except ParseError as e:
        check("/metrics parses: %s" % e, False)
        return 1
    check("every family has HELP and TYPE",
          all(f["help"] and f["type"] for f in fams.values()))
    check("every name is owmesh_*", all(n.startswith("owmesh_") for n in fams))
    for name, fam in fams.items():
        for labels, _ in fam["samples"]:
            if labels and not {"src", "dst", "test"} <= set(labels):
                check("%s: labels src, dst, test (%s)" % (name, labels), False)

    def get(name, src, dst, **extra):
        for labels, v in fams.get(name, {"samples": []})["samples"]:
            if labels.get("src") == src and labels.get("dst") == dst and all(
                    labels.get(k) == val for k, val in extra.items()):
                return v
        return None

    compared = 0
    for fn in sorted(os.listdir(query_dir)):
        src, dst = fn[:-len(".json")].split("-")
        with open(os.path.join(query_dir, fn)) as f:
            row = json.load(f)["rows"][0]
        what = "%s -> %s" % (src, dst)
        check("%s: sent %s" % (what, row["sent"]), get("owmesh_packets_sent", src, dst) == row["sent"])
        check("%s: lost %s" % (what, row["lost"]), get("owmesh_packets_lost", src, dst) == row["lost"])
        check("%s: duplicates %s" % (what, row["dups"]),
              get("owmesh_packets_duplicated", src, dst) == row["dups"])
        check("%s: reordered %s" % (what, row["reordered"]),
              get("owmesh_packets_reordered", src, dst) == row["reordered"])
        if not row["sent"]:  # unmeasured only: no delay, no loss ratio
            check("%s: no delay and no loss ratio without packets" % what,
                  get("owmesh_delay_seconds", src, dst, quantile="0.5") is None and
                  get("owmesh_loss_ratio", src, dst) is None)
            check("%s: unmeasured %s s" % (what, row["unmeasured_s"]),
                  close(get("owmesh_unmeasured_seconds", src, dst), row["unmeasured_s"]))
            continue
        ratio = get("owmesh_loss_ratio", src, dst)
        check("%s: loss ratio %s = loss_pct %s / 100" % (what, ratio, row["loss_pct"]),
              close(ratio * 100 if ratio is not None else None, row["loss_pct"]))
        for q, key in (("0", "min_ms"), ("1", "max_ms")):
            v = get("owmesh_delay_seconds", src, dst, quantile=q)
            check("%s: delay quantile %s = %s ms" % (what, q, row[key]),
                  v is not None and abs(v * 1e3 - row[key]) < 1e-6)
        for q, key in (("0.5", "50"), ("0.9", "90"), ("0.99", "99")):
            v = get("owmesh_delay_seconds", src, dst, quantile=q)
            want = row["percentiles_ms"][key]
            check("%s: delay quantile %s = p%s %s ms" % (what, q, key, want),
                  v is not None and abs(v * 1e3 - want) < 1e-6)
        v = get("owmesh_jitter_seconds", src, dst)
        check("%s: jitter %s ms" % (what, row["jitter_ms"]),
              v is not None and abs(v * 1e3 - row["jitter_ms"]) < 1e-6)
        check("%s: unmeasured %s s" % (what, row["unmeasured_s"]),
              close(get("owmesh_unmeasured_seconds", src, dst), row["unmeasured_s"]))
        check("%s: data age present" % what, get("owmesh_data_age_seconds", src, dst) is not None)
        compared += 1
    check("compared %d paths with owmesh query --json" % compared, compared >= 2)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
