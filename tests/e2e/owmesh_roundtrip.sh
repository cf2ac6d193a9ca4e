#!/bin/sh
# owmesh_roundtrip.sh - `owmesh export --owp DIR` then `owmesh import DIR`
# gives back the same store:
#  - a store built from the reference's .owp vectors (some filed with
#    --src/--dst on a mesh path whose task's parameters only some of them
#    share) and from .unm unmeasured intervals (on a mesh stream, on a pair
#    the mesh does not measure);
#  - a file whose test parameters (padding, DSCP, packet count) differ from
#    the mesh's task is not filed under that task's path;
#  - the whole mesh exported to one directory: .owp files carrying their
#    path's addresses, .unm files naming their path;
#  - imported with no --src/--dst into a fresh store directory that does not
#    exist yet: every path, record, loss figure, percentile and unmeasured
#    second per reason is the same (query table and JSON, CSV of the records);
#  - imported again: every file is counted as already stored.
# No network at all: everything reads and writes files.
#
# Environment: top_builddir, top_srcdir (set by the harness). Prints
# "N passed, M failed"; exit 0 when nothing failed, 1 otherwise.
set -u

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need --fail "$OWMESH"
e2e_need python3
e2e_init

V=$top_srcdir/tests/vectors/owp
MESH=$work/mesh.json
# The task's test: 100 packets, padding 0, DSCP 0 - the clean100 vectors'.
cat >"$MESH" <<'EOF'
{
  "nodes": {
    "lo":  {"address": "127.0.0.1"},
    "lo6": {"address": "[::1]"},
    "far": {"address": "127.0.0.9"}
  },
  "groups": {"core": {"type": "mesh", "nodes": ["lo", "far"]}},
  "tests": {"owd": {"type": "latencybg", "packet-interval": 0.01, "packet-count": 100,
                    "loss-timeout": 1}},
  "tasks": {"core-owd": {"group": "core", "test": "owd"}}
}
EOF
OW="$OWMESH"
ALL="--from 2020-01-01 --to 2030-01-01"
A="--store $work/a --mesh $MESH"
B="--store $work/b --mesh $MESH"

# ---------------------------------------------------------------- the first store

run 0 "import: vectors onto lo -> far" "$OW" import $A --src lo --dst far \
    "$V"/clean100-to.owp "$V"/dscp-ef-to.owp "$V"/padding-auth-to.owp "$V"/loss-dup-to.owp
has "import: the task's parameters file under the task's path" "$work/out" \
    "clean100-to.owp: lo -> far (owd): 100 records"
has "import: other DSCP is not the task's path" "$work/out" \
    "dscp-ef-to.owp: lo -> far (padding=0 dscp=46)"
has "import: other padding is not the task's path" "$work/out" \
    "padding-auth-to.owp: lo -> far (padding=200 dscp=0)"
has "import: other packet count is not the task's path" "$work/out" \
    "loss-dup-to.owp: lo -> far (padding=0 dscp=0)"
# Not reorder-from.owp: its reordering is in the order of its records alone
# (receive times rise with seq), which the store does not keep; an exported
# file lists arrivals by receive time.
run 0 "import: vectors by their own addresses" "$OW" import $A \
    "$V"/open-from.owp "$V"/skips-from.owp "$V"/loss-dup-from.owp "$V"/ipv6-open-to.owp \
    "$V"/slots-to.owp

ntp0=$(( $(date -u -d 2026-11-23T07:00:00Z +%s) + 2208988800 ))
unm_file() { # file stream start-offset length reason
    printf 'owmesh-unmeasured 1\nstream %s\nstart %s\nend %s\nreason %s\nsender 127.0.0.1:861\ndetail e2e %s\n' \
        "$2" "$(echo "($ntp0 + $3) * 4294967296" | bc)" "$(echo "($ntp0 + $3 + $4) * 4294967296" | bc)" \
        "$5" "$1" >"$work/$1"
}
unm_file a.unm x-y 0 240 peer-down
unm_file b.unm x-y 240 60 owampd-refused
unm_file c.unm x-y 100 30 control-timeout
run 0 "import: intervals of lo -> far" "$OW" import $A --node far "$work/a.unm" "$work/b.unm"
has "import: an interval on the task's path" "$work/out" "a.unm: lo -> far (owd): unmeasured 240 s, peer down"
run 0 "import: an interval of a pair the mesh does not measure" "$OW" import $A --src lo6 \
    --dst far "$work/c.unm"
has "import: that pair's path" "$work/out" "c.unm: lo6 -> far (imported): unmeasured 30 s"

# ---------------------------------------------------------------- what a store says

PAIRS="lo:lo lo:far lo6:lo6 lo6:far"
# describe STORE-OPTIONS OUT: every pair's query (table, JSON with its paths
# sorted: path ids follow import order) and every record as CSV, sorted.
describe() {
    : >"$2"
    for pair in $PAIRS; do
        s=${pair%%:*} d=${pair#*:}
        "$OW" query $1 $ALL --src "$s" --dst "$d" -p 0,10,50,90,99,100 >>"$2" 2>&1
        "$OW" query $1 $ALL --src "$s" --dst "$d" -p 0,10,50,90,99,100 --json 2>&1 |
            python3 -c 'import json,sys
d = json.load(sys.stdin)
d["paths"].sort(key=lambda p: (p["src"], p["dst"], p["params"]))
print(json.dumps(d, indent=1, sort_keys=True))' >>"$2"
        "$OW" export $1 $ALL --src "$s" --dst "$d" --csv 2>/dev/null | sort >>"$2"
    done
}
describe "$A" "$work/a.txt"
has "store a: lo -> far's unmeasured time per reason" "$work/a.txt" '"owampd-refused": 60.0'
has "store a: lo6 -> far's unmeasured time" "$work/a.txt" '"control-timeout": 30.0'
has "store a: the loss-dup records" "$work/a.txt" '"lost": 28'

# ---------------------------------------------------------------- export, import

run 0 "export --owp: the whole mesh" "$OW" export $A $ALL --owp "$work/exp"
n_owp=$(find "$work/exp" -name '*.owp' | wc -l)
n_unm=$(find "$work/exp" -name '*.unm' | wc -l)
check "export: one .owp per stored session (9: $n_owp)" [ "$n_owp" = 9 ]
check "export: one .unm per interval (3: $n_unm)" [ "$n_unm" = 3 ]
has "export: a subdirectory per path" "$work/out" "/exp/lo_far_owd/"
has "export: parameters in the directory name" "$work/out" "/exp/lo_far_padding=0-dscp=46/"
unm=$(find "$work/exp/lo_far_owd" -name '*.unm' | head -1)
has "export .unm: the interval keeps its reason" "$unm" "reason peer-down"
has "export .unm: the source's address" "$unm" "sender 127.0.0.1:861"
has "export .unm: the detail" "$unm" "detail e2e a.unm"
unm6=$(find "$work/exp" -path '*lo6_far*' -name '*.unm' | head -1)
has "export .unm: a pair with no stream names itself" "$unm6" "stream path:lo6>far"

check "the fresh store's directory does not exist yet" [ ! -e "$work/b" ]
run 0 "import the export directory, no --src/--dst" "$OW" import $B "$work/exp"
has "import: everything imported" "$work/out" "12 files imported, 0 already stored, 0 failed"
has "import: addresses from the file land on the task's path" "$work/out" "lo -> far (owd): 100 records"
describe "$B" "$work/b.txt"
if cmp -s "$work/a.txt" "$work/b.txt"; then
    pass "round trip: queries, JSON and records identical"
else
    fail "round trip: queries, JSON and records identical"
    diff "$work/a.txt" "$work/b.txt" | head -40 | show
fi
check "round trip: the comparison saw data ($(wc -l <"$work/a.txt") lines)" \
    [ "$(grep -c '^lo -> far (' "$work/a.txt")" -gt 300 ]

run 0 "import the export directory again" "$OW" import $B "$work/exp"
has "import again: every file already stored" "$work/out" "0 files imported, 12 already stored, 0 failed"

# The exported addresses, not the vectors': lo -> far files name 127.0.0.9.
if "$OW" import --store "$work/c" --mesh "$MESH" "$work/exp/lo_far_owd" >"$work/out" 2>&1; then
    has "import: one path's directory alone lands on lo -> far" "$work/out" "lo -> far (owd)"
else
    fail "import: one path's directory alone"
    show "$work/out"
fi

e2e_finish
