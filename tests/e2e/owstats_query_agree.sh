#!/bin/sh
# owstats_query_agree.sh - owstats and `owmesh query` give the same figures
# for the same data (doc/statistics.md: one definition per statistic).
#
# For every .owp vector (tests/vectors/owp, tests/vectors/powstream): print
# owstats' summary; `owmesh import` the file alone into a fresh store; `owmesh
# query --source raw --json` its path over all time; then sent, lost, min,
# median, max and jitter (P95 - P50) must agree. owstats prints delays with
# %.3g, the query JSON in ms rounded to the nanosecond: a delay agrees when
# the query's value prints as owstats' (or would within that rounding).
#
# Environment: top_builddir, top_srcdir (set by the harness). Exit 0 pass, 1 fail.
set -u

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need --fail "$OWMESH" "$OWSTATS" python3
e2e_init

V=$top_srcdir/tests/vectors
MESH=$work/mesh.json
cat >"$MESH" <<'EOF'
{"nodes": {"lo": {"address": "127.0.0.1"}, "lo6": {"address": "[::1]"}},
 "groups": {"all": {"type": "mesh", "nodes": ["lo", "lo6"]}},
 "tests": {"owd": {"type": "latencybg", "packet-interval": 0.01, "loss-timeout": 1}},
 "tasks": {"all-owd": {"group": "all", "test": "owd"}}}
EOF
ALL="--from 2000-01-01 --to 2035-01-01"

# agree NAME SUMMARY QUERY.json: the figures of owstats' summary and the query's row.
agree() {
    python3 - "$2" "$3" <<'EOF'
import json, re, sys
summary, query = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))
rows = [r for r in query["rows"] if not r["empty"]]
if len(rows) != 1:
    sys.exit("expected one row with data, got %d" % len(rows))
row = rows[0]
m = re.search(r"^(\d+) sent, (\d+) lost", summary, re.M)
d = re.search(r"^one-way delay min/median/max = (\S+)/(\S+)/(\S+) ms", summary, re.M)
j = re.search(r"^one-way jitter = (\S+) ms", summary, re.M)
if not (m and d and j):
    sys.exit("owstats summary lacks the sent/delay/jitter lines")

def printed(ms):
    return "nan" if ms is None else "%.3g" % ms

def same(text, ms):
    # ms is rounded to 1e-6 ms (a nanosecond) in the JSON
    return text == printed(ms) or (ms is not None and
                                   text in (printed(ms - 5e-7), printed(ms + 5e-7)))

bad = []
for what, got, want in (("sent", row["sent"], int(m.group(1))), ("lost", row["lost"], int(m.group(2)))):
    if got != want:
        bad.append("%s: query %s, owstats %s" % (what, got, want))
p = row["percentiles_ms"]
for what, text, ms in (("min", d.group(1), row["min_ms"]), ("median", d.group(2), p.get("50")),
                       ("max", d.group(3), row["max_ms"]), ("jitter", j.group(1), row["jitter_ms"])):
    if not same(text, ms):
        bad.append("%s: query %s ms, owstats %s ms" % (what, ms, text))
if bad:
    sys.exit("; ".join(bad))
print("sent %s lost %s min/median/max %s/%s/%s jitter %s" % (row["sent"], row["lost"], d.group(1),
                                                             d.group(2), d.group(3), j.group(1)))
EOF
}

n=0
for f in "$V"/owp/*.owp "$V"/powstream/*.owp; do
    name=$(basename "$f" .owp)
    n=$((n + 1))
    store=$work/store$n
    mkdir -p "$store"
    "$OWSTATS" "$f" >"$work/$name.txt" 2>/dev/null
    if ! "$OWMESH" import -q --store "$store" --mesh "$MESH" "$f" >"$work/import" 2>&1; then
        fail "$name: owmesh import"
        show "$work/import"
        continue
    fi
    # The vectors were measured over 127.0.0.1 or ::1: query the path their addresses make.
    case $("$OWSTATS" -M "$f" 2>/dev/null | awk '$1 == "FROM_ADDR" { print $2 }') in
    *:*) src=lo6 ;;
    *) src=lo ;;
    esac
    if ! "$OWMESH" query --store "$store" --mesh "$MESH" --src $src --dst $src $ALL \
        --source raw --json -p 50 >"$work/$name.json" 2>"$work/err"; then
        fail "$name: owmesh query"
        show "$work/err"
        continue
    fi
    if agree "$name" "$work/$name.txt" "$work/$name.json" >"$work/why" 2>&1; then
        pass "$name: owstats and owmesh query agree ($(cat "$work/why"))"
    else
        fail "$name: owstats and owmesh query disagree: $(cat "$work/why")"
    fi
done
check "vectors compared ($n)" [ "$n" -ge 20 ]

e2e_finish
