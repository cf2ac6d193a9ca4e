#!/bin/sh
# mesh_collect_chaos.sh - nothing is lost between node and store (issue 9): a
# 3-node mesh with short sessions (many files a second per node) runs for
# CHAOS_SECONDS (default 150) while the collector is SIGKILLed and restarted
# every ~20 s. The nodes keep acked files (-R) so that the test can recount
# them. At the end the store's sent / lost / dups equal the sums of
# `owstats -M` over EVERY .owp file the nodes spooled, the collector's cursor
# reached every node's last file, and nothing was quarantined (no file was
# damaged): no file skipped, none counted twice. With CHAOS_STORE=clickhouse
# (tests/e2e/mesh_collect_chaos_ch.sh) the store is a private ClickHouse
# server: a kill lands between the inserts of a batch as often as not.
#
# Environment (set by the harness): top_builddir, top_srcdir.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need "$OWAMPD" "$OWMESH_NODE" "$OWMESH_COORD" "$OWMESH_COLLECTOR" "$OWMESH" "$OWSTATS" python3
e2e_init

DURATION=${CHAOS_SECONDS:-150}
e2e_collected_mesh_init n1 n2 n3
QUARANTINE=$STORE/quarantine
WHERE=
if [ "${CHAOS_STORE:-lmdb}" = clickhouse ]; then
    . "$top_srcdir/tests/e2e/lib_clickhouse.sh"
    e2e_clickhouse_start
    STORE="clickhouse://owmesh:$ch_password@127.0.0.1:$ch_http/chaos"
    QUARANTINE=$work/quarantine
    WHERE="-q $QUARANTINE"
fi

# 0.5 s sessions: each node spools ~8 files a second (2 streams x .owp + .sum).
e2e_mesh_full_json short 0.02 25 1 $NODES >"$MESH"

e2e_coordinator_start "$MESH"
for n in $NODES; do
    e2e_mesh_node_start "$n" "$n" -D "tcp://$(e2e_mesh_addr "$n"):$dport" -R 3600
done
coll_pid=
# shellcheck disable=SC2086 # WHERE is empty or "-q DIR"
start_collector() { e2e_collector_start "$STORE" "$MESH" $WHERE; }

# ------------------------------------------------------------------ chaos

start_collector
kills=0
end=$(($(date +%s) + DURATION))
while [ "$(date +%s)" -lt "$end" ]; do
    sleep "$(python3 -c 'import random; print(round(random.uniform(15, 25), 1))')"
    e2e_stop "$coll_pid" KILL
    kills=$((kills + 1))
    start_collector
done
pass "$kills collector SIGKILLs over ${DURATION} s of 0.5 s sessions"

# ------------------------------------------------------------------ catch up, then recount

# The collector catches up with what the nodes had spooled by now; then
# everything stops, and every .owp up to the last seq it handled per node is
# recounted (the nodes keep acked files: -R 3600).
e2e_mark_spools
e2e_poll 90 0.5 e2e_caught_up
verdict "the collector caught up with every spool (n1 $s_n1, n2 $s_n2, n3 $s_n3)"
e2e_stop "$coll_pid"
for n in $NODES; do e2e_mesh_node_stop "$n"; done

files=$(for n in $NODES; do e2e_collected_owp "$n"; done | wc -l)
want=$(e2e_recount_collected)
got=$("$OWMESH" query --store "$STORE" --mesh "$MESH" --from 2020-01-01 --to now --json \
    2>"$work/query.err" | python3 "$top_srcdir/tests/e2e/query_rows.py" sums)
[ "$files" -gt 500 ] && [ -n "$want" ] && [ "$got" = "$want" ]
verdict "store sent/lost/dups = sum of owstats -M over the $files spooled .owp files: $got = $want"
n_q=$(ls "$QUARANTINE" 2>/dev/null | wc -l)
[ "$n_q" = 0 ]
verdict "nothing quarantined ($n_q files)"
! grep -q 'DELETED UNCOLLECTED\|acked by another collector' "$work/collector.log" "$work"/n?.log
verdict "no file deleted uncollected, none skipped as acked elsewhere"

e2e_stop "$coord_pid"
if [ "$failed" != 0 ]; then
    e2e_show_logs 20 coord n1 n2 n3 collector
    show "$work/query.err"
fi
e2e_finish
