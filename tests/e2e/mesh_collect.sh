#!/bin/sh
# mesh_collect.sh - the data plane end to end (issue 6): a coordinator,
# three owmesh-node agents on 127.0.0.2..4 serving their spools (-D, keeping
# acked files with -R so that the test can recount them) and owmesh-collector:
#  - the collector finds the nodes through the coordinator's directory and
#    stores every path (`owmesh query --per-path`);
#  - the collector dies inside an ingest transaction (test hook), then right
#    after a commit and before its ack, then by SIGKILL; each time it is
#    restarted;
#  - a node with uncollected files is killed with SIGKILL and restarted: its
#    spooled files are collected afterwards;
#  - at the end the store's sent / lost / dups equal the sums of `owstats -M`
#    over every .owp file the nodes spooled: nothing lost, nothing counted
#    twice.
#
# Environment (set by the harness): top_builddir, top_srcdir.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need "$OWAMPD" "$OWMESH_NODE" "$OWMESH_COORD" "$OWMESH_COLLECTOR" "$OWMESH" "$OWSTATS" python3
e2e_init

e2e_collected_mesh_init n1 n2 n3

e2e_mesh_full_json quick 0.02 25 1 $NODES >"$MESH"

e2e_coordinator_start "$MESH"

# start_node NAME: owmesh-node NAME serving its spool, keeping acked files.
start_node() { e2e_mesh_node_start "$1" "$1" -D "tcp://$(e2e_mesh_addr "$1"):$dport" -R 3600; }
coll_pid=
start_collector() { e2e_collector_start "$STORE" "$MESH"; }
for n in $NODES; do start_node "$n"; done

# ------------------------------------------------------------------ helpers

P="--store $STORE --mesh $MESH --from 2020-01-01 --to now"
ROWS="python3 $top_srcdir/tests/e2e/query_rows.py"
paths_with_data() {
    "$OWMESH" query $P --per-path --json 2>/dev/null | $ROWS paths 2>/dev/null ||
        echo 0
}
all_paths() { [ "$(paths_with_data)" -ge 6 ]; }
stored_lines() { grep -c 'records stored' "$work/collector.log"; }
# wait_exit PID: wait up to 20 s for a tracked child to exit by itself; its status
wait_exit() {
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
    e2e_wait "$1"
}

# ------------------------------------------------------------------ 1. crash inside an ingest

spooled() { for n in $NODES; do [ "$(ls "$work/$n/data/spool" 2>/dev/null | grep -c '\.owp$')" -ge 4 ] || return 1; done; }
e2e_poll 60 0.5 spooled
verdict "every node spools .owp files"
grep -q "data endpoint tcp://127.0.0.2:$dport" "$work/n1.log"
verdict "n1 serves its data endpoint"

OWMESH_COLLECTOR_DIE_AFTER=5 start_collector
wait_exit "$coll_pid"
[ $? = 99 ] && grep -q 'dying inside an ingest transaction' "$work/collector.log"
verdict "test hook: the collector died inside an ingest transaction (the 6th file's)"
# Files are committed in batches: the crash took the open batch with it.
[ "$(stored_lines)" -le 5 ] && pass "$(stored_lines) files committed before the crash (at most 5)" ||
    fail "$(stored_lines) files committed before the crash (expected at most 5)"

OWMESH_COLLECTOR_DIE_AFTER=3 OWMESH_COLLECTOR_DIE_AT=ack start_collector
wait_exit "$coll_pid"
[ $? = 99 ] && grep -q 'before its ack' "$work/collector.log"
verdict "test hook: the collector died after a commit, before the ack"

# ------------------------------------------------------------------ 2. collecting every path

start_collector
e2e_poll 60 1 all_paths
verdict "owmesh query shows the 6 paths with data ($(paths_with_data))"
# The restarted collector lists after its store's cursor; the node takes
# that as the ack the crash swallowed, so nothing is ingested twice.
cat "$work"/n*.log | grep -q 'a collector stored every file up to'
verdict "files committed but not acked before the crash are acked without a second ingest"
grep -q 'node n2: collecting from tcp://127.0.0.3' "$work/collector.log"
verdict "the directory gave the collector each node's data endpoint"
e2e_stop "$coll_pid" KILL
pass "collector killed with SIGKILL"

# ------------------------------------------------------------------ 3. a node killed with files waiting

sleep 3 # n2 spools files nobody collects
seq2=$(e2e_spool_max_seq n2)
e2e_mesh_node_stop n2 KILL
start_node n2
start_collector
e2e_poll 40 0.5 e2e_collected n2 "$seq2"
verdict "n2 killed (-9) and restarted: its files spooled before (up to seq $seq2) collected"
more2() { [ "$(e2e_spool_max_seq n2)" -gt "$seq2" ]; }
e2e_poll 30 0.5 more2
verdict "restarted n2 spools new files"

# ------------------------------------------------------------------ 4. counts: nothing lost, nothing twice

# Caught up with every node (files spooled up to now), then stop the
# collector and the nodes; the files it handled are those up to the last
# seq it logged per node (the nodes keep acked files: -R 3600).
e2e_mark_spools
e2e_poll 40 0.5 e2e_caught_up
verdict "the collector caught up with every node's spool"
e2e_stop "$coll_pid"
for n in $NODES; do e2e_mesh_node_stop "$n"; done
want=$(e2e_recount_collected)
got=$("$OWMESH" query $P --json 2>"$work/query.err" | $ROWS sums)
[ -n "$want" ] && [ "$got" = "$want" ]
verdict "store sent/lost/dups = sum of owstats -M over every spooled file: $got = $want"
files=$(for n in $NODES; do ls "$work/$n/data/spool" | grep -c '\.owp$'; done | awk '{ s += $1 } END { print s }')
echo "    ($files .owp files, $(stored_lines) ingest lines in the collector log)"
bad=$(grep -h 'owmesh-collector\[' "$work/collector.log" | grep ': node n[1-3]: ' -v |
    grep -v 'starting\|test hook\|SIGTERM\|directory\|coordinator\|running as user' | head -3)
[ -z "$bad" ] && pass "collector log lines about nodes name the node" || fail "log lines: $bad"

e2e_stop "$coord_pid"
if [ "$failed" != 0 ]; then
    e2e_show_logs 20 coord n1 n2 n3 collector
    show "$work/query.err"
fi
e2e_finish
