#!/bin/sh
# mesh_outage.sh - a host that is down is not loss (issue 9), end to end with
# the real binaries on 127.0.0.2..4 (coordinator, three nodes serving their
# spools, a collector into an LMDB store; 3 s sessions):
#  1. n3 (its agent and its owampd) is SIGKILLed for OUTAGE_SECONDS (default
#     60) and restarted. On the four paths to and from n3: no more packets lost
#     than the sessions in flight at the kill; the outage is unmeasured in
#     `owmesh query --json` ("peer down" on the paths from n3, whose receivers
#     kept trying; "node down" or "peer down" on the paths into n3), grey in
#     the grid, hatched in the plot, not coverage in completeness; and every
#     path measures again within one session set-up of the restart.
#  2. n2's owampd alone is killed (and killed again whenever its agent
#     restarts it) for ~15 s while the node stays up: the path n2 -> n1 shows
#     "owampd refused" time, again without loss beyond the session in flight.
#
# Environment (set by the harness): top_builddir, top_srcdir.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need "$OWAMPD" "$OWMESH_NODE" "$OWMESH_COORD" "$OWMESH_COLLECTOR" "$OWMESH" python3
e2e_init

OUTAGE=${OUTAGE_SECONDS:-60}
COUNT=30 # packets per session, 0.1 s apart: 3 s sessions
e2e_collected_mesh_init n1 n2 n3
e2e_mesh_full_json owd 0.1 "$COUNT" 1 $NODES >"$MESH"

e2e_coordinator_start "$MESH"
start_node() { e2e_mesh_node_start "$1" "$1" -D "tcp://$(e2e_mesh_addr "$1"):$dport"; }
for n in $NODES; do start_node "$n"; done
e2e_collector_start "$STORE" "$MESH"

iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
# q SRC DST FROM TO: `owmesh query --json` of one path over [FROM, TO) (epoch seconds)
q() {
    "$OWMESH" query --store "$STORE" --mesh "$MESH" --src "$1" --dst "$2" --from "$(iso "$3")" \
        --to "$(iso "$4")" --json 2>>"$work/query.err"
}
# field SRC DST FROM TO EXPR: a python expression over the query's first row r
field() {
    q "$1" "$2" "$3" "$4" | python3 "$top_srcdir/tests/e2e/query_rows.py" first "$5" 2>/dev/null || echo "?"
}
sent_since() { field "$1" "$2" "$3" "$(($(date +%s) + 5))" 'r["sent"]'; }
all_measuring() {
    for p in "n1 n2" "n1 n3" "n2 n1" "n2 n3" "n3 n1" "n3 n2"; do
        set -- $p
        [ "$(sent_since "$1" "$2" "$since")" -gt 0 ] 2>/dev/null || return 1
    done
}

since=$(date +%s)
e2e_poll 90 1 all_measuring
verdict "all 6 paths measured and collected"

# ------------------------------------------------------------------ 1. n3 down

n3_owampd() { pgrep -f "owampd -Z .*-S $(e2e_mesh_addr n3):" 2>/dev/null; }
o3=$(n3_owampd)
t_kill=$(date +%s)
e2e_mesh_node_stop n3 KILL
[ -n "$o3" ] && kill -KILL $o3 2>/dev/null
pass "n3 and its owampd killed (-9) for $OUTAGE s"
sleep "$OUTAGE"
t_back=$(date +%s)
start_node n3
resumed() { for p in "n1 n3" "n2 n3" "n3 n1" "n3 n2"; do set -- $p
    [ "$(sent_since "$1" "$2" "$t_back")" -gt 0 ] 2>/dev/null || return 1; done; }
e2e_poll 60 1 resumed
t_resumed=$(date +%s)
# One set-up: the node's start, its owampd, a control connection, and the
# session's lead, plus the time the collector needs to pull a 3 s session.
[ $((t_resumed - t_back)) -le 25 ]
verdict "every path to and from n3 measured again $((t_resumed - t_back)) s after the restart (<= 25)"
sleep 8 # the sessions around the restart are pulled
t_end=$(date +%s)

for p in "n3 n1" "n3 n2" "n1 n3" "n2 n3"; do
    set -- $p
    lost=$(field "$1" "$2" "$((t_kill - 2))" "$t_end" 'r["lost"]')
    [ "$lost" -le $((2 * COUNT)) ] 2>/dev/null
    verdict "$1 -> $2: $lost packets lost over the outage (at most the sessions in flight, $((2 * COUNT)))"
    un=$(field "$1" "$2" "$t_kill" "$t_back" 'round(r["unmeasured_s"])')
    [ "$un" -ge $((OUTAGE * 2 / 3)) ] 2>/dev/null
    verdict "$1 -> $2: $un s of the $OUTAGE s outage unmeasured"
done
# outage_is SRC DST LABEL TOKEN...: most of the outage is unmeasured for one
# of the reasons TOKEN... (the store's tokens)
outage_is() {
    src=$1 dst=$2 label=$3
    shift 3
    expr=0
    for t in "$@"; do expr="$expr + r[\"unmeasured\"].get(\"$t\", 0)"; done
    secs=$(field "$src" "$dst" "$t_kill" "$t_back" "round($expr)")
    [ "$secs" -ge $((OUTAGE / 2)) ] 2>/dev/null
    verdict "$src -> $dst: the outage is '$label' ($secs s; $(field "$src" "$dst" "$t_kill" "$t_back" 'r["unmeasured"]'))"
}
# Its receivers kept trying the paths from n3, and the coordinator knew n3 was
# down; the paths into n3 were not running at all (n3 says so when it is back).
outage_is n3 n1 "peer down" peer-down
outage_is n3 n2 "peer down" peer-down
outage_is n1 n3 "node down" node-down peer-down
outage_is n2 n3 "node down" node-down peer-down

R="--store $STORE --mesh $MESH --from $(iso "$t_kill") --to $(iso "$t_back")"
"$OWMESH" grid $R --color never --svg "$work/grid.svg" >"$work/grid.txt" 2>>"$work/query.err"
grep -q 'unmeasured' "$work/grid.txt" && grep -q 'url(#owmesh-unmeasured)' "$work/grid.svg"
verdict "grid (loss): the outage's cells are unmeasured, hatched grey"
"$OWMESH" plot $R --src n3 --dst n1 -o "$work/plot.svg" 2>>"$work/query.err"
grep -q 'unmeasured [0-9]* s: peer down' "$work/plot.svg"
verdict "plot n3 -> n1: the outage hatched with its reason"
"$OWMESH" completeness $R --json >"$work/compl.json" 2>>"$work/query.err"
[ "$(python3 "$top_srcdir/tests/e2e/query_rows.py" count 'r["unmeasured_s"] > 0' <"$work/compl.json")" -ge 4 ]
verdict "completeness: the four paths of n3 report unmeasured time"

# ------------------------------------------------------------------ 2. n2's owampd alone

n2_owampd() { pgrep -f "owampd -Z .*-S $(e2e_mesh_addr n2):" 2>/dev/null; }
t_o=$(date +%s)
while [ $(($(date +%s) - t_o)) -lt 15 ]; do
    o=$(n2_owampd)
    [ -n "$o" ] && kill -KILL $o 2>/dev/null
    sleep 0.2
done
t_o_end=$(date +%s)
back() { [ "$(sent_since n2 n1 "$t_o_end")" -gt 0 ] 2>/dev/null; }
e2e_poll 40 1 back
verdict "n2 -> n1 measured again after its owampd came back"
sleep 5
ref=$(field n2 n1 "$t_o" "$t_o_end" 'round(r["unmeasured"].get("owampd-refused", 0))')
[ "$ref" -ge 5 ] 2>/dev/null
verdict "n2 -> n1: owampd down while the node stayed up is 'owampd refused' ($ref s; $(field n2 n1 "$t_o" "$t_o_end" 'r["unmeasured"]'))"
lost=$(field n2 n1 "$((t_o - 2))" "$(date +%s)" 'r["lost"]')
[ "$lost" -le $((2 * COUNT)) ] 2>/dev/null
verdict "n2 -> n1: $lost packets lost (at most the sessions in flight)"

e2e_stop "$coll_pid"
for n in $NODES; do e2e_mesh_node_stop "$n"; done
e2e_stop "$coord_pid"
if [ "$failed" != 0 ]; then
    e2e_show_logs 30 coord n1 n2 n3 collector
    show "$work/query.err"
fi
e2e_finish
