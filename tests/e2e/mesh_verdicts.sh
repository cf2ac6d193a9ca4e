#!/bin/sh
# mesh_verdicts.sh - `owmesh status` tells the truth (issue 9), end to end with
# the real binaries on 127.0.0.2..4:
#  - a fresh mesh whose third node starts 12 s after the others (its peers'
#    streams from it are refused meanwhile): polled every second for the first
#    30 s, no stream is ever "failing", some are "starting" (the grace period),
#    every stream names its evidence, and no LAST SESSION lies in the future;
#  - every stream then reaches "ok" ("last session ended N s ago");
#  - n3 killed (-9): once the coordinator misses it, the streams from n3 are
#    "unmeasured" with "peer down: node n3 ..." (never failing, never stalled);
#  - n3 restarted: the streams into it start again, "starting" then "ok",
#    never "stalled" (their clock restarts with the node).
# Bounded: about 100 s.
#
# Environment (set by the harness): top_builddir, top_srcdir.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need "$OWAMPD" "$OWMESH_NODE" "$OWMESH_COORD" "$OWMESH" python3
e2e_init

NODES="n1 n2 n3"
e2e_mesh_init $NODES
e2e_mesh_keygen coord analyst $NODES

{
    printf '{\n  "nodes": {\n'
    e2e_mesh_nodes_json $NODES
    printf '\n  },\n'
    e2e_mesh_clients_json
    printf '  "groups": {"all": {"type": "mesh", "nodes": ["n1", "n2", "n3"]}},\n'
    printf '  "tests": {"owd": {"type": "latencybg", "packet-interval": 0.1, "packet-count": 30, '
    printf '"loss-timeout": 1}},\n'
    printf '  "tasks": {"all-owd": {"group": "all", "test": "owd"}}\n}\n'
} >"$work/mesh.json"

# Every stream of `owmesh status --json`, one line each:
# SOURCE DESTINATION VERDICT FUTURE EVIDENCE, FUTURE = 1 when its last session
# end is later than the reply's time (the coordinator's clock).
streams() {
    e2e_mesh_status --json 2>/dev/null |
        python3 -c 'import json, sys
d = json.load(sys.stdin)
now = d.get("time") or ""
for n in d["nodes"]:
    for s in n["streams"]:
        end = s.get("last_session_end") or ""
        future = 1 if end and now and end > now else 0
        print(s["source"], s["destination"], s["state"], future, s.get("evidence") or "-")' 2>/dev/null
}

# watch SECONDS LOG: poll every second, appending every line to LOG.
watch() {
    i=0
    while [ $i -lt "$1" ]; do
        echo "# t=$i" >>"$2"
        streams >>"$2"
        sleep 1
        i=$((i + 1))
    done
}

all_ok() { [ "$(streams | awk '$3 == "ok"' | wc -l)" = 6 ]; }
from_n3_peer_down() {
    [ "$(streams | awk '$1 == "n3" && $3 == "unmeasured" && $5 == "peer" && $6 == "down:"' | wc -l)" = 2 ]
}

# ------------------------------------------------------------------ 1. a fresh mesh, n3 late

e2e_coordinator_start "$work/mesh.json"
e2e_mesh_node_start n1 n1
e2e_mesh_node_start n2 n2
watch 12 "$work/start.log"
e2e_mesh_node_start n3 n3
watch 18 "$work/start.log"

grep -v '^#' "$work/start.log" >"$work/start.rows"
[ -s "$work/start.rows" ]
verdict "owmesh status answered during the first 30 s"
! awk '$3 == "failing"' "$work/start.rows" | grep -q .
verdict "no stream 'failing' during the start-up grace period"
awk '$3 == "failing"' "$work/start.rows" | head -3 | show
grep -q ' starting 0 starting: [0-9]* s of a 30 s grace period' "$work/start.rows"
verdict "streams are 'starting' within the grace period, and say so"
! awk '$4 != 0' "$work/start.rows" | grep -q .
verdict "no LAST SESSION in the future"
! awk '$5 == "-"' "$work/start.rows" | grep -q .
verdict "every verdict names its evidence"

e2e_poll 40 1 all_ok
verdict "every stream reaches ok"
streams | awk '$3 == "ok"' | grep -q ' ok 0 last session ended [0-9]* s ago'
verdict "ok names the last session's age"
e2e_mesh_status >"$work/table.out" 2>&1
grep -q 'EVIDENCE' "$work/table.out" && grep -q 'last session ended' "$work/table.out"
verdict "the status table shows the evidence"

# ------------------------------------------------------------------ 2. n3 down, then back

e2e_mesh_node_stop n3 KILL
e2e_poll 30 1 from_n3_peer_down
verdict "n3 killed: the streams from n3 are unmeasured, 'peer down: node n3 ...'"
streams | awk '$1 == "n3"' | show
e2e_mesh_node_start n3 n3
watch 15 "$work/restart.log"
! grep -v '^#' "$work/restart.log" | awk '$2 == "n3" && ($3 == "stalled" || $3 == "failing")' | grep -q .
verdict "n3 restarted: the streams into it are neither stalled nor failing"
grep -v '^#' "$work/restart.log" | awk '$2 == "n3"' | sort | uniq -c | head -6 | show
e2e_poll 30 1 all_ok
verdict "every stream is ok again"
! grep -v '^#' "$work/restart.log" | awk '$4 != 0' | grep -q .
verdict "no LAST SESSION in the future after the restart"

for n in $NODES; do e2e_mesh_node_stop "$n"; done
e2e_stop "$coord_pid"
if [ "$failed" != 0 ]; then
    tail -40 "$work/start.log" | show
    e2e_show_logs 20 coord n1 n2 n3
fi
e2e_finish
