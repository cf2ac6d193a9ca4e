#!/bin/sh
# store_matrix.sh - the same answers from every store (issue 12): one set of
# files imported into an LMDB store, into a ClickHouse database (a private
# server on loopback) and into a 2-shard ClickHouse cluster (two private
# servers; half the files imported through each shard's URL with
# cluster=owmesh, read through one shard's URL as an analyst would), then
# every analysts' command run against each with the same arguments; their
# outputs (stdout, stderr, exit status; files written by
# --svg/--html/--output/--owp) must be identical. The cluster's rows must be
# spread over both shards.
#
# The data: the reference's .owp vectors (short sessions, their own
# addresses), 50 hours of synthetic one-second sessions with loss, reordering
# and duplicates on a -> b (three UTC days: raw records, minute, hour and day
# histograms all answer some query), a minute of 10 packets/s sessions on
# b -> a, and unmeasured intervals on a -> b. The commands: query (table,
# JSON, CSV; auto, raw and histogram sources; --every; percentiles;
# --per-path; by node and group), grid (terminal, SVG, HTML), plot,
# completeness (table, JSON, Nagios), export (CSV and .owp) and import's own
# report (the second import: everything already stored).
#
# Environment: top_builddir, top_srcdir (set by the harness). Prints
# "N passed, M failed"; exit 0 when nothing failed, 1 otherwise.
set -u

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/lib_clickhouse.sh"
SYNTH=$top_builddir/bench/owp_synth
e2e_need --fail "$OWMESH" "$SYNTH" "$CLICKHOUSE_SERVER"
e2e_need python3
e2e_init

V=$top_srcdir/tests/vectors
MESH=$work/mesh.json
cat >"$MESH" <<'EOF'
{
  "nodes": {
    "lo":  {"address": "127.0.0.1"},
    "lo6": {"address": "[::1]"},
    "a":   {"address": "127.0.0.2"},
    "b":   {"address": "127.0.0.3"}
  },
  "groups": {
    "core": {"type": "mesh", "nodes": ["a", "b"]},
    "v6":   {"type": "disjoint", "a-nodes": ["lo6"], "b-nodes": ["a"]}
  },
  "tests": {"owd": {"type": "latencybg", "packet-interval": 1, "packet-count": 3600,
                    "loss-timeout": 10}},
  "tasks": {"core-owd": {"group": "core", "test": "owd"},
            "v6-owd": {"group": "v6", "test": "owd"}}
}
EOF

# ---------------------------------------------------------------- the data

DAY0=1764979200 # 2025-12-06T00:00:00Z
mkdir -p "$work/ab" "$work/ba"
"$SYNTH" "$work/ab" 50 3600 1 $((DAY0 + 1800)) 7 faults || fail "owp_synth a -> b"
"$SYNTH" "$work/ba" 6 100 0.1 $((DAY0 + 86400)) 8 || fail "owp_synth b -> a"
ntp0=$((DAY0 + 2208988800))
unm_file() { # file stream start-offset length reason
    printf 'owmesh-unmeasured 1\nstream %s\nstart %s\nend %s\nreason %s\nsender 127.0.0.2:861\ndetail matrix %s\n' \
        "$2" "$(echo "($ntp0 + $3) * 4294967296" | bc)" "$(echo "($ntp0 + $3 + $4) * 4294967296" | bc)" \
        "$5" "$1" >"$work/$1"
}
unm_file u1.unm a-b 0 1800 peer-down
unm_file u2.unm a-b 180000 600 owampd-refused

e2e_clickhouse_start
CH="clickhouse://owmesh:$ch_password@127.0.0.1:$ch_http/matrix"
single_http=$ch_http
e2e_clickhouse_cluster_start 2
CL1="clickhouse://owmesh:$ch_password@127.0.0.1:$ch_http_1/matrix?cluster=owmesh&shards=127.0.0.1:$ch_http_2"
CL2="clickhouse://owmesh:$ch_password@127.0.0.1:$ch_http_2/matrix?cluster=owmesh&shards=127.0.0.1:$ch_http_1"
CLQ="clickhouse://owmesh:$ch_password@127.0.0.1:$ch_http_2/matrix" # what an analyst gives
STORES="lmdb clickhouse cluster"
store_of() {
    case $1 in
    lmdb) echo "$work/lmdb" ;;
    clickhouse) echo "$CH" ;;
    *) echo "$CLQ" ;;
    esac
}
# writer_of NAME PART: where import PART (1 or 2) of store NAME writes: the
# cluster's half through each shard.
writer_of() { if [ "$1" = cluster ]; then eval "echo \$CL$2"; else store_of "$1"; fi; }

# No ZooKeeper, no ON CLUSTER: a writer makes the tables on its server and
# on the shards its URL lists (shards=), here shard 2's through shard 1.
mkdir -p "$work/none"
run 0 "cluster: the first writer opens shard 1" "$OWMESH" import --store "$CL1" --mesh "$MESH" "$work/none"
tables2=$(ch_http=$ch_http_2 e2e_clickhouse_query "SELECT count() FROM system.tables WHERE database = 'matrix'")
check "cluster: ... and made shard 2's tables too ($tables2)" [ "${tables2:-0}" -ge 18 ]

# import_all NAME: the same files, in the same order, into store NAME;
# import's report in $work/NAME.import.
import_all() {
    S1="--store $(writer_of "$1" 1) --mesh $MESH"
    S2="--store $(writer_of "$1" 2) --mesh $MESH"
    {
        "$OWMESH" import $S1 "$V"/powstream/*.owp "$V"/owp/*.owp
        echo "exit $?"
        "$OWMESH" import $S2 --src a --dst b "$work"/ab/*.owp
        echo "exit $?"
        "$OWMESH" import $S1 --src b --dst a "$work"/ba/*.owp
        echo "exit $?"
        "$OWMESH" import $S2 --src a --dst b "$work"/u1.unm "$work"/u2.unm
        echo "exit $?"
        "$OWMESH" import $S1 --src a --dst b "$work"/ab/synth-7-0.owp
        echo "exit $?"
    } >"$work/$1.import" 2>&1
}
for s in $STORES; do
    import_all "$s"
    has "import into $s: every file reported" "$work/$s.import" "synth-7-49.owp: a -> b"
done
for s in clickhouse cluster; do
    check "import: the same report from lmdb and $s" cmp -s "$work/lmdb.import" "$work/$s.import"
    cmp -s "$work/lmdb.import" "$work/$s.import" ||
        diff "$work/lmdb.import" "$work/$s.import" | head -20 | show
done
shard_rows() {
    ch_http=$1 e2e_clickhouse_query "SELECT count() FROM matrix.records_local" owmesh "$ch_password"
}
r1=$(shard_rows "$ch_http_1") r2=$(shard_rows "$ch_http_2")
check "cluster: both shards hold records ($r1 and $r2)" [ "${r1:-0}" -gt 0 ] && [ "${r2:-0}" -gt 0 ]

# ---------------------------------------------------------------- the matrix

ALL="--from 2020-01-01 --to 2030-01-01"
DAYS="--from 2025-12-06T00:00:00Z --to 2025-12-09T00:00:00Z"
DAY2="--from 2025-12-07T00:00:00Z --to 2025-12-08T00:00:00Z"
HOURS="--from 2025-12-06T10:00:00Z --to 2025-12-06T13:30:00Z"
NOW="--now 2025-12-08T02:00:00Z"
n=0
# same ARGS...: `owmesh ARGS` (with "@OUT@" standing for an output path of
# the store's own) against every store gives the same stdout, stderr, status
# and output file or directory.
same() {
    n=$((n + 1))
    for s in $STORES; do
        out=$work/m$n.$s.out
        args=$(printf '%s\n' "$@" | sed "s|@OUT@|$out.file|g")
        # shellcheck disable=SC2086 # word splitting of the argument list is intended
        (IFS='
'; "$OWMESH" $args --store "$(store_of "$s")" --mesh "$MESH") >"$out.raw" 2>&1
        echo "exit $?" >>"$out.raw"
        sed "s|$out.file|@OUT@|g" "$out.raw" >"$out" # the one word that may differ
    done
    a=$work/m$n.lmdb.out b=$work/m$n.clickhouse.out c=$work/m$n.cluster.out
    if cmp -s "$a" "$b" && same_files "$a.file" "$b.file" && cmp -s "$a" "$c" &&
        same_files "$a.file" "$c.file"; then
        pass "same answer: owmesh $*"
    else
        fail "same answer: owmesh $*"
        { diff "$a" "$b"; diff "$a" "$c"; } | head -20 | show
    fi
}
# same_files A B: both absent, or the same file, or directories with the same files.
same_files() {
    if [ -d "$1" ] || [ -d "$2" ]; then
        diff -r "$1" "$2" >/dev/null 2>&1
    elif [ -e "$1" ] || [ -e "$2" ]; then
        cmp -s "$1" "$2"
    fi
}

same query $ALL --src a --dst b
same query $ALL --src a --dst b -p 0,10,50,90,99,99.9,100 --json
same query $ALL --src a --dst b --source raw -p 50,99
same query $ALL --src a --dst b --source hist -p 50,99 --json
same query $DAYS --src a --dst b --every 3600 --csv
same query $DAY2 --src a --dst b --every 86400 -p 50,95
same query $HOURS --src a --dst b --every 900 --json
same query $HOURS --src a --dst b --every 60 --source raw --csv
same query $DAY2 --src b --dst a --every 10
same query $ALL --node a --per-path
same query $ALL --group core --per-path --json
same query $ALL --src lo --dst lo -p 0,50,100
same query $ALL --src lo6 --dst lo6 --json
same query $ALL --src a --dst lo
same grid $ALL
same grid $DAY2 --stat p99
same grid $ALL --svg @OUT@
same grid $HOURS --html @OUT@
same plot $HOURS --src a --dst b --every 600 --output @OUT@
same plot $DAYS --src a --dst b --every 3600 --log --output @OUT@
same completeness $NOW --since 2d
same completeness $NOW --since 2d --json
same completeness $NOW --since 2d --nagios
same export $HOURS --src a --dst b --csv
same export $ALL --src b --dst a --csv
same export $ALL --src a --dst b --owp @OUT@
same export $ALL --src lo --dst lo --owp @OUT@

e2e_finish
