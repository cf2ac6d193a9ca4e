#!/bin/sh
# mesh_4node.sh - a coordinator and four owmesh-node agents on 127.0.0.2..5
# (each with its own owampd on its own address), end to end with the real
# binaries (issue 5):
#  - keys from `owmesh keygen`; a node presenting an unlisted key is refused
#    (the coordinator's log names the key, the node's log says so, `owmesh
#    status` shows the node as not connected);
#  - a full mesh of 12 streams: every node runs exactly the 3 streams it
#    receives, and .owp/.sum files appear in its spool for each path;
#  - the mesh edited (node n4 removed, the interval of the n1/n2 <-> n3
#    streams doubled) + SIGHUP: n4's streams and the streams from n4 stop
#    (no new files), the changed streams restart with the new interval (their
#    sessions are twice as long), the unchanged n1 <-> n2 streams are not
#    restarted (one start each in the node logs, every session file abutting
#    the previous one);
#  - kill -9 of the coordinator: measurement goes on (new files); a node
#    restarted meanwhile resumes its saved schedule; the coordinator
#    restarted: every node registers again (`owmesh status`).
#
# Environment (set by the harness): top_builddir, top_srcdir.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need "$OWAMPD" "$OWMESH_NODE" "$OWMESH_COORD" "$OWMESH" python3
e2e_init

NODES="n1 n2 n3 n4"

# ------------------------------------------------------------------ set-up

# Node addresses, $work/conf shared by the four owampds, ports, keys.
e2e_mesh_init $NODES
e2e_mesh_keygen coord analyst $NODES rogue

# write_mesh FILE NODES SLOW_INTERVAL: a mesh of NODES; n1 <-> n2 run test
# "fast" (always 0.02 s); every other pair runs test "slow".
write_mesh() {
    file=$1 members=$2 slow=$3
    {
        printf '{\n  "nodes": {\n'
        e2e_mesh_nodes_json $members
        printf '\n  },\n'
        e2e_mesh_clients_json
        printf '  "groups": {\n'
        printf '    "pair": {"type": "mesh", "nodes": ["n1", "n2"]},\n'
        printf '    "rest": {"type": "list", "pairs": ['
        sep=
        for a in $members; do
            for b in $members; do
                [ "$a" = "$b" ] && continue
                case "$a$b" in n1n2 | n2n1) continue ;; esac
                printf '%s["%s", "%s"]' "$sep" "$a" "$b"
                sep=', '
            done
        done
        printf ']}\n  },\n  "tests": {\n'
        printf '    "fast": {"type": "latencybg", "packet-interval": 0.02, "packet-count": 50, '
        printf '"loss-timeout": 1, "sub-session-count": 25},\n'
        printf '    "slow": {"type": "latencybg", "packet-interval": %s, "packet-count": 50, ' "$slow"
        printf '"loss-timeout": 1, "sub-session-count": 25}\n'
        printf '  },\n  "tasks": {\n'
        printf '    "pair-owd": {"group": "pair", "test": "fast"},\n'
        printf '    "rest-owd": {"group": "rest", "test": "slow"}\n  }\n}\n'
    } >"$file"
}

write_mesh "$work/mesh.json" "$NODES" 0.02
e2e_run check1 0 "$OWMESH" check "$work/mesh.json" && [ "$(grep -c ' -> ' "$work/check1.out")" = 12 ]
verdict "owmesh check: the mesh has 12 streams"

coord_pid=
start_coordinator() { e2e_coordinator_start "$work/mesh.json"; }
# start_node NAME [KEYNAME]: owmesh-node for NAME with KEYNAME's key (default its own).
start_node() { e2e_mesh_node_start "$1" "${2:-$1}"; }

status_json() { e2e_mesh_status --json "$@" 2>/dev/null; }
# node_connected NAME: 1 or 0 as `owmesh status --json` says.
node_connected() {
    status_json "$1" | python3 -c 'import json, sys
d = json.load(sys.stdin)
nodes = d.get("nodes", d) if isinstance(d, dict) else d
for n in nodes:
    if n.get("node") == sys.argv[1]:
        print(1 if n.get("state") == "connected" else 0)
        sys.exit(0)
print(0)' "$1" 2>/dev/null || echo 0
}
all_connected() {
    for n in "$@"; do [ "$(node_connected "$n")" = 1 ] || return 1; done
}

# ------------------------------------------------------------------ spool helpers

# The receiving node of each stream id, and its source, from the node logs:
# "node n2: stream ID (n1 -> n2): started: ...".
started_lines() { grep -h ': started: peer' "$work"/n?.log 2>/dev/null; }
# ids NODE: stream ids with at least one .owp in NODE's spool
ids_of() { ls "$work/$1/data/spool" 2>/dev/null | sed -n 's/^[0-9]\{20\}\.\(.*\)\.[0-9]\{20\}_[0-9]\{20\}\.[0-9a-f]\{32\}\.owp$/\1/p' | sort -u; }
# owps NODE ID: that stream's .owp names (START_END), in time order
owps() { ls "$work/$1/data/spool" 2>/dev/null | sed -n "s/^[0-9]\{20\}\.$2\.\([0-9_]\{41\}\)\.[0-9a-f]\{32\}\.owp\$/\1/p" | sort; }
count_owp() { ls "$work/$1/data/spool" 2>/dev/null | grep -c '\.owp$'; }
# id_of SRC DST: the id of the stream SRC -> DST most recently started
id_of() { started_lines | sed -n "s/.*stream \([^ ]*\) ($1 -> $2): started.*/\1/p" | tail -1; }

every_path_has() {
    want=$1
    for d in $NODES; do
        for s in $NODES; do
            [ "$s" = "$d" ] && continue
            id=$(id_of "$s" "$d")
            [ -n "$id" ] || return 1
            [ "$(owps "$d" "$id" | wc -l)" -ge "$want" ] || return 1
        done
    done
}

# abut NODE ID: every session file of the stream starts where the previous ended.
abut() {
    prev=
    for f in $(owps "$1" "$2"); do
        s=${f%_*} e=${f#*_}
        [ -n "$prev" ] && [ "$prev" != "$s" ] && return 1
        prev=$e
    done
    return 0
}

# mean_span NODE ID: mean END - START (seconds) of the stream's sessions, the last excluded.
mean_span() {
    owps "$1" "$2" | sed '$d' | python3 -c 'import sys
v = [(int(l[21:41]) - int(l[0:20])) / 2**32 for l in sys.stdin if l.strip()]
print("%.3f" % (sum(v) / len(v)) if v else "0")'
}

# ------------------------------------------------------------------ 1. registration; an unlisted key

start_coordinator
for n in n1 n2 n3; do start_node "$n"; done
# "n4" first comes with a key the mesh does not list.
start_node n4 rogue
rogue_pid=$pid_n4
e2e_poll 40 0.5 all_connected n1 n2 n3
verdict "n1, n2, n3 registered (owmesh status: connected)"
# A new node starts its owamp server with its first schedule, not before it.
e2e_poll 20 0.5 grep -q 'owampd started (pid' "$work/n1.log"
verdict "n1 started its owampd"
! grep -q 'restarting it' "$work/n1.log"
verdict "... once: the first schedule did not restart it"
e2e_poll 20 0.5 grep -qF -e "$(e2e_mesh_key rogue)" "$work/coord.log"
verdict "coordinator log names the unlisted key"
grep -q "refused this node's key" "$work/n4.log" && pass "the unlisted node logs that its key was refused" ||
    fail "the unlisted node did not log the refusal"
[ "$(node_connected n4)" = 0 ] && pass "owmesh status: n4 (unlisted key) not connected" ||
    fail "n4 shown connected with an unlisted key"
[ -z "$(ls "$work/n4/data/spool" 2>/dev/null | grep '\.owp$')" ] && pass "the refused node runs no stream" ||
    fail "the refused node measures"
e2e_stop "$rogue_pid"
rm -rf "$work/n4/data"
mv "$work/n4.log" "$work/n4-rogue.log"
start_node n4
e2e_poll 20 0.5 all_connected n4
verdict "n4 with its listed key registered"

# ------------------------------------------------------------------ 2. full mesh: 12 streams, files per path

e2e_poll 60 1 every_path_has 2
verdict "every one of the 12 paths has .owp files in its receiver's spool"
ok=1
for d in $NODES; do
    running=$(ids_of "$d" | tr '\n' ' ')
    expect=
    for s in $NODES; do
        [ "$s" = "$d" ] || expect="$expect$(id_of "$s" "$d") "
    done
    [ "$(echo "$running" | tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' ')" = \
      "$(echo "$expect" | tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' ')" ] ||
        { ok=0; echo "    $d runs [$running], expected [$expect]"; }
    [ "$(grep -c ': started: peer' "$work/$d.log")" = 3 ] ||
        { ok=0; echo "    $d started $(grep -c ': started: peer' "$work/$d.log") streams"; }
done
[ $ok = 1 ] && pass "every node runs exactly the 3 streams it receives" || fail "stream assignment"
[ "$(started_lines | sed 's/.*stream \([^ ]*\) .*/\1/' | sort -u | wc -l)" = 12 ] &&
    pass "12 distinct stream ids" || fail "stream ids not 12 distinct ones"
sums=1
for d in $NODES; do
    ls "$work/$d/data/spool" | grep -q '\.[0-9_]\{41\}\.[0-9a-f]\{32\}\.sum$' || sums=0
    ls "$work/$d/data/spool" | grep -q '\.sub\.sum$' || sums=0
done
[ $sums = 1 ] && pass "session and sub-session summaries spooled" || fail "summaries missing"
f=$(ls "$work/n2/data/spool" | grep '\.owp$' | head -1)
"$OWSTATS" -M "$work/n2/data/spool/$f" >"$work/owstats.out" 2>&1 && grep -q '^SENT	50$' "$work/owstats.out"
verdict "a spooled .owp parses (owstats): 50 packets"
lost=$(for d in $NODES; do ls "$work/$d/data/spool/"*.sum | grep -v '\.sub\.sum$' | xargs cat; done | awk '$1 == "LOST" { n += $2 } END { print n + 0 }')
[ "$lost" = 0 ] && pass "no loss on loopback" || echo "    note: $lost packets lost (loaded host?)"

# ------------------------------------------------------------------ 3. edit the mesh, SIGHUP

id12=$(id_of n1 n2) id21=$(id_of n2 n1)
id13=$(id_of n1 n3) id31=$(id_of n3 n1)
id41=$(id_of n4 n1) id14=$(id_of n1 n4)
write_mesh "$work/mesh.json" "n1 n2 n3" 0.04
kill -HUP "$coord_pid"
# n4 gets an empty schedule, the others a new one.
e2e_poll 30 0.5 grep -q 'running schedule generation .*0 started, 3 stopped' "$work/n4.log"
verdict "removed node n4: all its streams stopped (empty schedule)"
new13() { n=$(id_of n1 n3); [ -n "$n" ] && [ "$n" != "$id13" ]; }
e2e_poll 30 0.5 new13
verdict "changed stream n1 -> n3 restarted under a new id"
sleep 3 # the stops write their last files
n4_before=$(count_owp n4)
from4_before=$(owps n1 "$id41" | wc -l)
new31() { n=$(id_of n3 n1); [ -n "$n" ] && [ "$n" != "$id31" ] && [ "$(owps n1 "$n" | wc -l)" -ge 4 ] &&
    [ "$(owps n3 "$(id_of n1 n3)" | wc -l)" -ge 4 ]; }
e2e_poll 60 1 new31
verdict "changed streams produce files after the restart"
[ "$(count_owp n4)" = "$n4_before" ] && pass "no new files on the removed node" ||
    fail "n4 still measures: $n4_before -> $(count_owp n4) files"
[ "$(owps n1 "$id41" | wc -l)" = "$from4_before" ] && pass "no new files of the stream n4 -> n1" ||
    fail "n4 -> n1 still measured"
grep -q "stream $id14 .*stopped" "$work/n4.log" && pass "n4 logged the stop of n1 -> n4" ||
    fail "n4 did not log the stop of its streams"
grep -q "every 0.04 s" "$work/n1.log" && grep -q "every 0.04 s" "$work/n3.log"
verdict "changed streams run with the new interval (0.04 s)"
span_new=$(mean_span n3 "$(id_of n1 n3)") span_old=$(mean_span n3 "$id13")
python3 -c 'import sys; o, n = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if o > 0 and n > 1.4 * o else 1)' \
    "$span_old" "$span_new"
verdict "new sessions of n1 -> n3 last longer: ${span_old} s -> ${span_new} s"
[ "$(started_lines | grep -c "stream $id12 ")" = 1 ] && [ "$(started_lines | grep -c "stream $id21 ")" = 1 ]
verdict "unchanged streams n1 <-> n2 were not restarted (one start each)"
grep -q "kept running" "$work/n1.log" && grep -q ' 1 kept running' "$work/n1.log"
verdict "n1 logged 1 stream kept running"
abut n2 "$id12" && abut n1 "$id21" && [ "$(owps n2 "$id12" | wc -l)" -ge 6 ]
verdict "unchanged streams' session files abut across the reload ($(owps n2 "$id12" | wc -l) files)"

# ------------------------------------------------------------------ 4. coordinator outage

e2e_stop "$coord_pid" KILL
before1=$(count_owp n1) before2=$(count_owp n2) before3=$(count_owp n3)
grows() { [ "$(count_owp n1)" -gt "$before1" ] && [ "$(count_owp n2)" -gt "$before2" ] &&
    [ "$(count_owp n3)" -gt "$before3" ]; }
e2e_poll 20 0.5 grows
verdict "coordinator killed (-9): every node keeps measuring"
e2e_poll 30 0.5 grep -q 'lost the coordinator' "$work/n2.log"
verdict "nodes notice the lost coordinator"
# A node restarted while the coordinator is away resumes its saved schedule.
e2e_mesh_node_stop n3
grep -q 'SIGTERM/SIGINT: stopping' "$work/n3.log" && pass "n3 stops on SIGTERM" || fail "n3 stop not logged"
before3=$(count_owp n3)
start_node n3
e2e_poll 20 0.5 grep -q 'running schedule generation .* (saved)' "$work/n3.log"
verdict "n3 restarted without a coordinator runs its saved schedule"
more3() { [ "$(count_owp n3)" -gt "$before3" ]; }
e2e_poll 40 0.5 more3
verdict "n3 measures again before the coordinator is back"

# ------------------------------------------------------------------ 5. coordinator back

hellos=$(grep -c 'hello sent' "$work/n1.log")
start_coordinator
e2e_poll 40 0.5 all_connected n1 n2 n3
verdict "restarted coordinator: n1, n2, n3 registered again"
[ "$(grep -c 'hello sent' "$work/n1.log")" -gt "$hellos" ] && pass "n1 said hello again" ||
    fail "n1 did not re-register"
[ "$(node_connected n4)" = 0 ] && pass "removed n4 is not connected" || fail "n4 connected"
# Nothing restarted across the outage: still one start of n1 -> n2.
[ "$(started_lines | grep -c "stream $id12 ")" = 1 ] && pass "n1 -> n2 kept running across the outage" ||
    fail "n1 -> n2 restarted"
# Every log line of the agents names its node.
bad=$(grep -h 'owmesh-node\[' "$work"/n?.log | grep -v ': node n[1-4]: ' | head -3)
[ -z "$bad" ] && pass "every agent log line names its node" || fail "log lines without the node: $bad"

for n in $NODES; do e2e_mesh_node_stop "$n"; done
e2e_stop "$coord_pid"
leftover=$(ls "$work"/n?/data/streams/*/ 2>/dev/null | grep -c '[0-9]\.\(owp\|sum\)$')
[ "$leftover" = 0 ] && pass "stopped nodes left every finished file in the spool" ||
    fail "$leftover finished files left in work directories"
if [ "$failed" != 0 ]; then
    e2e_show_logs 15 coord n1 n2 n3 n4
fi
e2e_finish
