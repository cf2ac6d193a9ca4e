#!/bin/sh
# owmesh_query.sh - the analysts' commands on a store built from the
# reference's .owp vectors:
#  - `owmesh import` of tests/vectors/powstream/*.owp and tests/vectors/owp/*.owp
#    against a 3-node mesh (lo = 127.0.0.1, lo6 = ::1, far = 127.0.0.9): the
#    vectors' addresses make two paths, lo -> lo and lo6 -> lo6; every
#    file's counts equal owstats -M's; a second import stores nothing again;
#  - `owmesh query` as table, JSON and CSV, with and without --every and
#    percentiles: the totals equal the sum of owstats -M over the files;
#    --every buckets start on the clock (whole seconds, whole minutes UTC)
#    and a partial first/last bucket says so in every format; CSV carries
#    the JSON's figures at the JSON's precision; --per-path rows are sorted
#    by source, destination, parameters;
#  - `owmesh grid` in the terminal, as SVG and HTML (well-formed; expected
#    paths without data are "missing"; with --html nothing on stdout);
#  - `owmesh plot` (well-formed SVG);
#  - `owmesh completeness`: the expected paths without data are missing and
#    their nodes named; a path with fresh data is ok, later stale; rows
#    sorted; Nagios exit codes and --nagios lines (OK/WARNING/CRITICAL by
#    --warn-paths/--crit-paths, UNKNOWN without a store);
#  - `owmesh export` as CSV and .owp (owstats reads the .owp files and agrees);
#  - the helpful errors: unknown node, path without data, empty period,
#    unknown group, an address no node has.
# No network at all: everything reads and writes files.
#
# Environment: top_builddir, top_srcdir (set by the harness). Prints
# "N passed, M failed"; exit 0 when nothing failed, 1 otherwise.
set -u

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need --fail "$OWMESH" "$OWSTATS"
e2e_init

V=$top_srcdir/tests/vectors
STORE=$work/store
MESH=$work/mesh.json
mkdir -p "$STORE"
cat >"$MESH" <<'EOF'
{
  "nodes": {
    "lo":  {"address": "127.0.0.1"},
    "lo6": {"address": "[::1]"},
    "far": {"address": "127.0.0.9"}
  },
  "groups": {
    "core": {"type": "mesh", "nodes": ["lo", "far"]},
    "v6":   {"type": "disjoint", "a-nodes": ["lo6"], "b-nodes": ["far"]}
  },
  "tests": {"owd": {"type": "latencybg", "packet-interval": 0.01, "packet-count": 300,
                    "loss-timeout": 1}},
  "tasks": {"core-owd": {"group": "core", "test": "owd"},
            "v6-owd": {"group": "v6", "test": "owd"}}
}
EOF
OW="$OWMESH"
ALL="--from 2020-01-01 --to 2030-01-01"

# owstats_field FILE FIELD: FIELD of owstats -M FILE.
owstats_field() {
    "$OWSTATS" -M "$1" 2>/dev/null | awk -v f="$2" '$1 == f { print $2; exit }'
}
# well_formed NAME FILE: an XML file (xmllint when installed, else a tag count).
well_formed() {
    if command -v xmllint >/dev/null 2>&1; then
        check "$1: well-formed XML (xmllint)" xmllint --noout "$2"
    else
        opened=$(grep -o '<[a-z][a-z]*' "$2" | wc -l)
        closed=$(grep -o '</[a-z][a-z]*>\|/>' "$2" | wc -l)
        check "$1: every element closed ($opened opened, $closed closed)" [ "$opened" -eq "$closed" ]
    fi
}

# ---------------------------------------------------------------- import

run 0 "import the vectors" env OWMESH_STORE="$STORE" "$OW" import --mesh "$MESH" \
    "$V"/powstream/*.owp "$V"/owp/*.owp
cp "$work/out" "$work/import.txt"
has "import: powstream files map to lo -> lo" "$work/import.txt" \
    "17198800808123080680_17198800821161034206.owp: lo -> lo (padding=0 dscp=0): 300 records"
has "import: the IPv6 files map to lo6 -> lo6" "$work/import.txt" "ipv6-open-to.owp: lo6 -> lo6"
has "import: a copy of a stored session is recognised" "$work/import.txt" \
    "server-stored.owp: lo -> lo (padding=0 dscp=0): already stored, skipped"
n_vectors=$(ls "$V"/powstream/*.owp "$V"/owp/*.owp | wc -l)
has "import: summary (already stored counted apart)" "$work/import.txt" \
    "$((n_vectors - 2)) files imported, 2 already stored, 0 failed"

# Every stored file's counts equal owstats -M's; sum them for the query.
sum_sent=0 sum_lost=0 sum_dups=0 lo_sent=0 lo_lost=0 lo_dups=0 lo_records=0 mismatch=
for f in "$V"/powstream/*.owp "$V"/owp/*.owp; do
    line=$(grep -F "$f: " "$work/import.txt")
    case $line in *"already stored"*) continue ;; esac
    got=$(echo "$line" | sed -n 's/.*(sent \([0-9]*\), lost \([0-9]*\), dups \([0-9]*\),.*/\1 \2 \3/p')
    want="$(owstats_field "$f" SENT) $(owstats_field "$f" LOST) $(owstats_field "$f" DUPS)"
    [ "$got" = "$want" ] || mismatch="$mismatch $(basename "$f") (import $got, owstats $want)"
    set -- $want
    sum_sent=$((sum_sent + $1)) sum_lost=$((sum_lost + $2)) sum_dups=$((sum_dups + $3))
    case $line in
    *": lo -> lo ("*)
        lo_sent=$((lo_sent + $1)) lo_lost=$((lo_lost + $2)) lo_dups=$((lo_dups + $3))
        lo_records=$((lo_records + $(echo "$line" | sed -n 's/.*: \([0-9]*\) records.*/\1/p')))
        ;;
    esac
done
check "import: every file's sent/lost/dups = owstats -M's${mismatch:+:$mismatch}" [ -z "$mismatch" ]

run 0 "import again" env OWMESH_STORE="$STORE" "$OW" import -q --mesh "$MESH" \
    "$V"/powstream/*.owp
check "import again: nothing printed with -q" [ ! -s "$work/out" ]

P="--store $STORE --mesh $MESH"

# ---------------------------------------------------------------- query

run 0 "query: the whole mesh, table" "$OW" query $P $ALL -p 50,90,99,99.9
cp "$work/out" "$work/q.txt"
check "query table: header" sh -c "tr -s ' ' <'$work/q.txt' | grep -q '^ *sent lost loss% dups reord min p50 p90 p99 p99.9 max jitter ipdv hops source unmeasured\$'"
has "query table: says the source" "$work/q.txt" "# source raw: percentiles exact"
set -- $(awk '$1 ~ /^[0-9]+$/ { print $1, $2, $4; exit }' "$work/q.txt")
check "query totals = sum of owstats -M: sent $1/$sum_sent lost $2/$sum_lost dups $3/$sum_dups" \
    [ "$1" = "$sum_sent" ] && [ "$2" = "$sum_lost" ] && [ "$3" = "$sum_dups" ]

run 0 "query: JSON" "$OW" query $P $ALL --src lo --dst lo --json -p 50,99.9
has "query JSON: selection" "$work/out" '"selection": "lo -> lo"'
has "query JSON: percentile keys" "$work/out" '"99.9":'
has "query JSON: source" "$work/out" '"source": "raw"'
if command -v python3 >/dev/null 2>&1; then
    check "query JSON: parses" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/out"
fi
lo_all_sent=$(sed -n 's/^ *"sent": \([0-9]*\),*$/\1/p' "$work/out" | head -1)

# [from, to): to is one past the last send time of the second powstream
# session (its file name holds the scheduled end, a little earlier).
run 0 "query: CSV per bucket" "$OW" query $P --src lo --dst lo --from 17198800808123080680 \
    --to 17198800833842259677 --every 1s --csv -p 50,99
has "query CSV: header" "$work/out" \
    "path,start,end,partial,source,rel_error,abs_error_ms,sent,lost,loss_pct,dups,reordered,received,min_ms,p50_ms,p99_ms,max_ms,jitter_ms,ipdv_ms,ipdv_pairs,hops_min,hops_max,unmeasured"
cp "$work/out" "$work/every.csv"
rows=$(($(wc -l <"$work/out") - 1))
check "query CSV: one row per second of the 6 s powstream period ($rows)" [ "$rows" -ge 6 ] && [ "$rows" -le 8 ]
csv_sent=$(awk -F, 'NR > 1 { s += $8 } END { print s }' "$work/out")
check "query CSV: the buckets add up to the two powstream sessions ($csv_sent = 600)" [ "$csv_sent" = 600 ]
# The period starts at 07:31:02.229 and ends at 07:31:08.2...: a partial
# first and last bucket, the whole ones on whole seconds.
check "query CSV: the first bucket is partial, up to a whole second" \
    awk -F, 'NR == 2 { exit !($4 == "true" && $3 == "2026-11-23T07:31:03Z") }' "$work/out"
check "query CSV: the last bucket is partial" awk -F, 'END { exit !($4 == "true") }' "$work/out"
check "query CSV: the buckets between are whole and start on whole seconds" \
    awk -F, 'NR > 2 { n++; line[n] = $0 } END { for (i = 1; i < n; i++) { split(line[i], f, ","); if (f[4] != "false" || f[2] !~ /:[0-9][0-9]Z$/) exit 1 } exit !(n > 2) }' "$work/out"
run 0 "query: the same buckets as JSON" "$OW" query $P --src lo --dst lo --from 17198800808123080680 \
    --to 17198800833842259677 --every 1s --json -p 50,99
cp "$work/out" "$work/every.json"
check "query CSV = JSON: every figure at the JSON's precision" python3 - "$work/every.csv" "$work/every.json" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
js = json.load(open(sys.argv[2]))["rows"]
assert len(rows) == len(js), (len(rows), len(js))
for c, j in zip(rows, js):
    assert c["start"] == j["start"] and c["end"] == j["end"], (c, j)
    assert c["partial"] == ("true" if j["partial"] else "false"), (c, j)
    pairs = [("min_ms", j["min_ms"]), ("max_ms", j["max_ms"]), ("jitter_ms", j["jitter_ms"]),
             ("ipdv_ms", j["ipdv_ms"]), ("p50_ms", j["percentiles_ms"]["50"]),
             ("p99_ms", j["percentiles_ms"]["99"]), ("loss_pct", j["loss_pct"])]
    for key, want in pairs:
        got = c[key]
        if want is None:
            assert got == "", (key, got)
        else:  # the same number, not one rounded further
            assert float(got) == want, (key, got, want)
PY
has "query JSON: the partial field" "$work/every.json" '"partial": true'
run 0 "query: minute buckets on whole minutes" "$OW" query $P --src lo --dst lo \
    --from 2026-11-23T07:30:30Z --to 2026-11-23T07:32:10Z --every 1m
has "query table: a partial first bucket up to the minute" "$work/out" "2026-11-23T07:30:30Z  partial"
has "query table: the whole minute with the data" "$work/out" "2026-11-23T07:31:00Z  whole     655"
has "query table: a partial last bucket from the minute" "$work/out" "2026-11-23T07:32:00Z  partial"

run 0 "query: per path, every 1h" "$OW" query $P $ALL --per-path --every 1h --source raw
has "query per path: the IPv6 path" "$work/out" "lo6 -> lo6 (padding=0 dscp=0)"
run 0 "query: histograms" "$OW" query $P --src lo --dst lo $ALL --source hist -p 50
has "query hist: says so, with its error bound" "$work/out" "percentiles from mergeable histograms, within 1% (relative)"
run 1 "query: a group without data" "$OW" query $P --group core $ALL
has "query group: no data for its paths" "$work/err" "no data stored for group core; paths with data: lo -> lo, lo6 -> lo6"

# ---------------------------------------------------------------- errors

run 1 "error: unknown node" "$OW" query $P --src nope --dst lo $ALL
has "error: unknown node lists the known ones" "$work/err" 'unknown node "nope" (known nodes: lo, lo6, far)'
run 1 "error: a path without data" "$OW" query $P --src lo --dst far $ALL
has "error: path without data lists the paths with data" "$work/err" \
    "no data stored for lo -> far; paths with data: lo -> lo, lo6 -> lo6"
run 1 "error: an empty period" "$OW" query $P --src lo --dst lo --from 2020-01-01 --to 2020-01-02
has "error: the empty period says so" "$work/err" "the period is empty"
run 1 "error: unknown group" "$OW" query $P --group nope $ALL
has "error: unknown group lists the groups" "$work/err" 'unknown group "nope" (known groups: core, v6)'
run 1 "error: bad --since" "$OW" query $P --since 5parsecs
has "error: bad duration explained" "$work/err" 'bad duration "5parsecs"'
run 1 "error: bad -p" "$OW" query $P -p 50,101
has "error: bad percentile explained" "$work/err" "numbers in [0, 100]"
run 1 "error: no --mesh" "$OW" query --store "$STORE"
has "error: --mesh is required" "$work/err" "--mesh FILE is required"
cat >"$work/other.json" <<'EOF'
{"nodes": {"x": {"address": "127.0.0.2"}, "y": {"address": "127.0.0.3"}},
 "groups": {"g": {"type": "mesh", "nodes": ["x", "y"]}},
 "tests": {"t": {"type": "latencybg"}}, "tasks": {"k": {"group": "g", "test": "t"}}}
EOF
mkdir -p "$work/store2"
run 1 "error: import of an address no node has" "$OW" import --store "$work/store2" \
    --mesh "$work/other.json" "$V/owp/open-to.owp"
has "error: the unmapped address and the known nodes" "$work/err" \
    "sender address 127.0.0.1 is no mesh node's OWAMP address (known nodes: x 127.0.0.2, y 127.0.0.3)"

# ---------------------------------------------------------------- grid

run 0 "grid: terminal" "$OW" grid $P $ALL --stat median --warn 100 --crit 250 --color never --svg "$work/grid.svg"
has "grid: lo -> lo good" "$work/out" "0.044 good"
row_lo=$(grep '^lo ' "$work/out")
case $row_lo in *missing*) pass "grid: lo -> far (expected, no data) is missing" ;;
*) fail "grid: lo -> far not missing: $row_lo" ;; esac
run 0 "grid --html" "$OW" grid $P $ALL --stat median --warn 100 --crit 250 --color never --html "$work/grid.html"
check "grid --html: nothing on stdout" [ ! -s "$work/out" ]
check "grid --html: nothing on stderr" [ ! -s "$work/err" ]
well_formed "grid SVG" "$work/grid.svg"
has "grid SVG: missing cells" "$work/grid.svg" ">missing</text>"
has "grid HTML: embeds the SVG" "$work/grid.html" "<svg xmlns="
has "grid HTML: inline CSS only" "$work/grid.html" "<style>"
check "grid HTML: no external assets" sh -c "! grep -E -q '(src|href)=' '$work/grid.html'"
sed -n '/^<svg /,/^<\/svg>/p' "$work/grid.html" >"$work/grid-embedded.svg"
well_formed "grid HTML's SVG" "$work/grid-embedded.svg"
run 0 "grid: loss as counts, colour" "$OW" grid $P $ALL --stat loss-count --color always
has "grid colour: lo -> lo critical (53 lost)" "$work/out" "$(printf '\033[97;41m')"
run 0 "grid: jitter" "$OW" grid $P $ALL --stat jitter --warn 0.01 --crit 1 --color never
has "grid jitter: warn" "$work/out" "warn"
run 1 "grid: bad statistic" "$OW" grid $P --stat mean
has "grid: bad statistic explained" "$work/err" 'bad statistic "mean"'
if command -v rsvg-convert >/dev/null 2>&1; then
    check "grid SVG renders (rsvg-convert)" rsvg-convert "$work/grid.svg" -o "$work/grid.png"
fi

# ---------------------------------------------------------------- plot

run 0 "plot" "$OW" plot $P --src lo --dst lo --from 17198800808123080680 \
    --to 17198800833841743534 -p 50,99 -o "$work/plot.svg"
well_formed "plot SVG" "$work/plot.svg"
has "plot: delay lines" "$work/plot.svg" "<polyline"
has "plot: legend" "$work/plot.svg" ">p99</text>"
run 1 "plot: needs a path" "$OW" plot $P

# ---------------------------------------------------------------- completeness

run 2 "completeness: nothing expected has data (CRITICAL)" "$OW" completeness $P --now 2026-11-23T08:00:00Z
has "completeness: lo -> far missing" "$work/out" "lo   far  owd   never     -      0.0%  missing"
has "completeness: the silent node is named" "$work/out" "node far: no fresh data on any of its 4 paths"

# The powstream sessions as if lo had measured to far: one expected path with data.
run 0 "import with --src/--dst" "$OW" import $P --node lo --src lo --dst far "$V"/powstream/*.owp
has "import --src/--dst: the mesh's test names the path" "$work/out" "lo -> far (owd): 300 records"
# newest send time 17198800833841743534 is 2026-11-23T07:31:08Z
run 2 "completeness: lo -> far fresh" "$OW" completeness $P --from 2026-11-23T07:30:00Z \
    --to 2026-11-23T07:32:00Z --now 2026-11-23T07:31:30Z --bucket 1s
has "completeness: lo -> far ok, 21 s old, 7 of 120 s covered" "$work/out" \
    "lo   far  owd   2026-11-23T07:31:08.218Z  21s      5.8%  ok"
has "completeness: lo6 named silent" "$work/out" "node lo6: no fresh data on any of its 2 paths"
check "completeness: rows sorted by source, then destination" sh -c \
    "awk '\$1 ~ /^(lo|lo6|far)\$/ { print \$1, \$2 }' '$work/out' >'$work/pairs' && sort -c '$work/pairs' && [ \$(wc -l <'$work/pairs') = 4 ]"
W="--from 2026-11-23T07:30:00Z --to 2026-11-23T07:32:00Z --now 2026-11-23T07:31:30Z"
run 2 "completeness --nagios: 3 of 4 bad is CRITICAL" "$OW" completeness $P $W --nagios
has "completeness --nagios: the plugin line" "$work/out" \
    "OWMESH COMPLETENESS CRITICAL - 3 of 4 expected paths stale or missing (0 stale, 3 missing) | paths_ok=1;;;0;4 paths_bad=3;0;0;0;4"
check "completeness --nagios: one line" [ "$(wc -l <"$work/out")" = 1 ]
run 1 "completeness: WARNING under a higher critical threshold" "$OW" completeness $P $W --nagios --crit-paths 80%
has "completeness --nagios: WARNING" "$work/out" "OWMESH COMPLETENESS WARNING - 3 of 4"
has "completeness --nagios: the thresholds as perfdata ranges" "$work/out" "paths_bad=3;0;3;0;4"
run 0 "completeness: OK under higher thresholds" "$OW" completeness $P $W --warn-paths 4 --crit-paths 100%
run 3 "completeness: UNKNOWN without a store" "$OW" completeness --store "$work/none" --mesh "$MESH" --nagios
has "completeness UNKNOWN: the plugin line names the store" "$work/out" "OWMESH COMPLETENESS UNKNOWN - store $work/none"
run 3 "completeness: UNKNOWN on a bad threshold" "$OW" completeness $P --warn-paths 0
has "completeness: a bad threshold explained" "$work/err" 'bad threshold "0"'
run 0 "query: per path, sorted" "$OW" query $P $ALL --per-path --source raw
check "query per path: rows by source, destination, parameters" python3 - "$work/out" <<'PY'
import re, sys
keys = []
for line in open(sys.argv[1]):
    m = re.match(r"^(\S+) -> (\S+) \(([^)]*)\)", line)
    if m:
        keys.append(m.groups())
assert len(keys) >= 5 and keys == sorted(keys), keys
assert keys[0][:2] == ("lo", "far"), keys  # stored last, listed first
PY
run 0 "query: a group" "$OW" query $P --group core $ALL
has "query group: label" "$work/out" "# group core"
has "query group: the powstream sessions on lo -> far" "$work/out" "600     0  0.000"
run 2 "completeness: 10 minutes later" "$OW" completeness $P --since 10m --now 2026-11-23T07:41:08Z --json
has "completeness JSON: lo -> far stale" "$work/out" '"status": "stale"'
has "completeness JSON: silent nodes" "$work/out" '"node": "lo"'

# ---------------------------------------------------------------- export

run 0 "export CSV" "$OW" export $P --src lo --dst lo $ALL --csv
has "export CSV: header" "$work/out" "path,seq,send_time,send_sync,send_err,recv_time,recv_sync,recv_err,ttl,lost,delay_ms"
csv_records=$(grep -c '^lo -> lo (' "$work/out")
check "export CSV: every stored record of lo -> lo ($csv_records = $lo_records)" [ "$csv_records" = "$lo_records" ]

run 0 "export .owp" "$OW" export $P --src lo --dst lo $ALL --owp "$work/exp"
e_sent=0 e_lost=0 e_dups=0 unread=
# lo -> lo is several paths (padding, DSCP): one subdirectory each.
for f in $(find "$work/exp" -name '*.owp' | sort); do
    s=$(owstats_field "$f" SENT)
    [ -n "$s" ] || { unread="$unread $(basename "$f")"; continue; }
    e_sent=$((e_sent + s)) e_lost=$((e_lost + $(owstats_field "$f" LOST)))
    e_dups=$((e_dups + $(owstats_field "$f" DUPS)))
done
check "export .owp: owstats reads every file${unread:+ (not:$unread)}" [ -z "$unread" ]
check "export .owp: owstats agrees with the import (sent $e_sent/$lo_sent lost $e_lost/$lo_lost dups $e_dups/$lo_dups)" \
    [ "$e_sent" = "$lo_sent" ] && [ "$e_lost" = "$lo_lost" ] && [ "$e_dups" = "$lo_dups" ]
lossdup=$(find "$work/exp" -name '1719879856065879*' | head -1)
check "export .owp: the loss-dup session keeps 28 lost and 7 dups" \
    [ "$(owstats_field "$lossdup" LOST) $(owstats_field "$lossdup" DUPS)" = "28 7" ]
run 1 "export: an empty period" "$OW" export $P --src lo --dst lo --from 2020-01-01 --to 2020-01-02 --csv
has "export: the empty period says so" "$work/err" "the period is empty"
run 1 "export: needs a path and a format" "$OW" export $P --src lo --dst lo

# ---------------------------------------------------------------- unmeasured time
# Two intervals lo -> far could not be measured (240 s peer down, 60 s owampd
# refused): stored as such, shown with their reasons, never as loss.
ntp0=$(( $(date -u -d 2026-11-23T07:00:00Z +%s) + 2208988800 ))
unm_file() { # file start-offset length reason
    printf 'owmesh-unmeasured 1\nstream x-y\nstart %s\nend %s\nreason %s\nsender 127.0.0.1:861\ndetail e2e\n' \
        "$(echo "($ntp0 + $2) * 4294967296" | bc)" "$(echo "($ntp0 + $2 + $3) * 4294967296" | bc)" \
        "$4" >"$work/$1"
}
unm_file a.unm 0 240 peer-down
unm_file b.unm 240 60 owampd-refused
U="--from 2026-11-23T07:00:00Z --to 2026-11-23T07:10:00Z"
run 0 "import: unmeasured intervals" "$OW" import $P --node far "$work/a.unm" "$work/b.unm"
has "import: the interval's path and reason" "$work/out" "a.unm: lo -> far (owd): unmeasured 240 s, peer down"
has "import: unmeasured summary" "$work/out" "2 files imported, 0 already stored, 0 failed"
run 0 "import: unmeasured again" "$OW" import $P --node far "$work/a.unm" "$work/b.unm"
has "import: already stored counted apart" "$work/out" "0 files imported, 2 already stored, 0 failed"
run 0 "query: unmeasured JSON" "$OW" query $P --src lo --dst far $U --json
has "query JSON: unmeasured seconds" "$work/out" '"unmeasured_s": 300.0'
has "query JSON: measured seconds" "$work/out" '"measured_s": 300.0'
has "query JSON: per reason (peer down)" "$work/out" '"peer-down": 240.0'
has "query JSON: per reason (owampd refused)" "$work/out" '"owampd-refused": 60.0'
has "query JSON: no packet lost" "$work/out" '"lost": 0'
run 0 "query: unmeasured table" "$OW" query $P --src lo --dst far $U
has "query table: unmeasured column" "$work/out" "300 s (50.0%, peer down)"
run 0 "grid: unmeasured" "$OW" grid $P $U --color never --svg "$work/grid-u.svg"
has "grid: lo -> far unmeasured, not loss" "$work/out" "unmeasured (peer down)"
has "grid SVG: hatched" "$work/grid-u.svg" 'fill="url(#owmesh-unmeasured)"'
has "grid SVG: the reason in the tooltip" "$work/grid-u.svg" "unmeasured 300 s (50.0%, peer down) (not loss), owampd refused 60 s"
well_formed "grid SVG (unmeasured)" "$work/grid-u.svg"
run 0 "plot: unmeasured" "$OW" plot $P --src lo --dst far $U -o "$work/plot-u.svg"
has "plot: unmeasured band with its reason" "$work/plot-u.svg" "unmeasured 240 s: peer down"
well_formed "plot SVG (unmeasured)" "$work/plot-u.svg"
run 2 "completeness: unmeasured" "$OW" completeness $P $U --now 2026-11-23T07:10:00Z --json
has "completeness JSON: the reason" "$work/out" '"reason": "peer down"'
has "completeness JSON: unmeasured seconds" "$work/out" '"unmeasured_s": 300.0'

# ---------------------------------------------------------------- pictures that don't mislead
# A path at ~10 ms with two spikes (900 and 650 ms) among 100 one-second
# buckets: the delay axis covers the bulk and marks the spikes at its top
# edge; --log shows them on a log axis; a delay grid is judged against each
# path's own baseline.
SP="--store $work/spike-store --mesh $MESH"
t0=$(python3 - "$V/owp/clean100-to.owp" "$work/spike.owp" <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], 'rb').read())
off = len(data) - 100 * 25                  # 100 records of 25 bytes at the end
t0 = struct.unpack('>Q', data[off + 8:off + 16])[0]
for i in range(100):
    p = off + i * 25
    seq = struct.unpack('>I', data[p:p + 4])[0]
    ms = 10.0 + (seq % 7) * 0.3 + {40: 900.0, 41: 650.0}.get(seq, 0.0)
    send = t0 + seq * (1 << 32)             # one packet a second
    data[p + 8:p + 16] = struct.pack('>Q', send)
    data[p + 16:p + 24] = struct.pack('>Q', send + int(ms / 1000 * (1 << 32)))
open(sys.argv[2], 'wb').write(data)
print(t0)
PY
)
t1=$(echo "$t0 + 100 * 4294967296" | bc)
run 0 "import: a path with two delay spikes" "$OW" import $SP --src lo --dst far "$work/spike.owp"
run 0 "plot: spikes" "$OW" plot $SP --src lo --dst far --from "$t0" --to "$t1" --every 1 -o "$work/spike.svg"
well_formed "plot SVG (spikes)" "$work/spike.svg"
has "plot: a clipped-outlier marker" "$work/spike.svg" 'class="owmesh-clipped"'
has "plot: the spike's true value in its tooltip" "$work/spike.svg" "911.500 ms (above the axis, clipped)"
has "plot: the legend explains the marker" "$work/spike.svg" ">above the axis</text>"
top=$(grep -o '>[0-9.]*</text>' "$work/spike.svg" | tr -d '<>/text' | sort -g | tail -1)
check "plot: the delay axis ends near the bulk (top tick $top ms, under 20)" \
    [ "$(echo "$top < 20 && $top >= 10" | bc)" = 1 ]
run 0 "plot: --log" "$OW" plot $SP --src lo --dst far --from "$t0" --to "$t1" --every 1 --log -o "$work/spike-log.svg"
well_formed "plot SVG (log)" "$work/spike-log.svg"
has "plot --log: the axis says so" "$work/spike-log.svg" ">ms (log)</text>"
has "plot --log: decade ticks up to the spike" "$work/spike-log.svg" ">1000</text>"
check "plot --log: nothing clipped" sh -c "! grep -q owmesh-clipped '$work/spike-log.svg'"
has "plot: loss axis ticks" "$work/plot.svg" ">0</text>"
run 0 "grid: median, relative thresholds by default" "$OW" grid $SP --from "$t0" --to "$t1" --stat median --color never --svg "$work/grid-rel.svg"
has "grid: the relative rule in the header" "$work/out" "thresholds relative to each path's baseline"
has "grid: ~10 ms against its own ~10 ms baseline is good" "$work/out" "good"
has "grid SVG: the rule in the legend" "$work/grid-rel.svg" "warn at baseline + max(20%, 1 ms), crit at baseline + max(50%, 5 ms)"
has "grid SVG: the cell's baseline in its tooltip" "$work/grid-rel.svg" "baseline (p10, 7 days)"
run 0 "grid: --warn/--crit stay absolute" "$OW" grid $SP --from "$t0" --to "$t1" --stat median --warn 5 --crit 8 --color never
has "grid: absolute thresholds" "$work/out" "warn >= 5, crit >= 8"
has "grid: 10 ms over an absolute 8 ms is critical" "$work/out" "crit"

e2e_finish
