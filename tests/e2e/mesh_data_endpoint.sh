#!/bin/sh
# mesh_data_endpoint.sh - a node's data endpoint from the mesh (issue 11): a
# node started WITHOUT -D, in a mesh whose data-endpoint for it is a free
# loopback port:
#  - ends up serving there (rebinding from its default when its first
#    schedule arrives), announces it in its Hello, and a collector collects
#    from it through the coordinator's directory;
#  - follows the mesh when the data-endpoint changes (coordinator SIGHUP):
#    the node moves (the old port closes), announces the new endpoint, and
#    a collector collects from it;
#  - restarted, serves the saved schedule's endpoint from the start.
# n52 (the stream's other end) runs with -D none.
#
# Environment (set by the harness): top_builddir, top_srcdir.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need "$OWAMPD" "$OWMESH_NODE" "$OWMESH_COORD" "$OWMESH_COLLECTOR" "$OWMESH" python3
e2e_init

e2e_collected_mesh_init n51 n52
addr=$(e2e_mesh_addr n51)
port1=$dport
port2=$(e2e_free_port "$addr")
[ "$port2" != "$port1" ] || port2=$((port1 + 1))

# mesh_with PORT: the mesh file, n51's data-endpoint on PORT.
mesh_with() {
    e2e_mesh_full_json quick 0.02 25 1 $NODES |
        python3 -c 'import json, sys
m = json.load(sys.stdin)
m["nodes"]["n51"]["data-endpoint"] = sys.argv[1]
json.dump(m, sys.stdout, indent=1)' "tcp://$addr:$1" >"$MESH.new" && mv "$MESH.new" "$MESH"
}
mesh_with "$port1"
e2e_coordinator_start "$MESH"

# start_n51: owmesh-node n51 as e2e_mesh_node_start starts it, but without any -D.
start_n51() {
    mkdir -p "$work/n51"
    # shellcheck disable=SC2086 # e2e_run_as is empty or "-U USER"
    "$OWMESH_NODE" -Z -v $e2e_run_as -n n51 -k "$work/keys/n51_secret" -K "$work/keys/coord" \
        -C "$mesh_endpoint" -d "$work/n51/data" -S "$addr:$mesh_oport" -c "$work/conf" \
        -O "$OWAMPD" -R 3600 >>"$work/n51.log" 2>&1 &
    pid_n51=$!
    e2e_track "$pid_n51"
}
start_n51
e2e_mesh_node_start n52 n52

# listening PORT: something listens on addr:PORT.
listening() {
    python3 -c 'import socket, sys
s = socket.socket()
s.settimeout(1)
sys.exit(s.connect_ex((sys.argv[1], int(sys.argv[2]))) != 0)' "$addr" "$1"
}

# ------------------------------------------------------------------ 1. the mesh's endpoint

serving1() { listening "$port1" && grep -q "data endpoint.* tcp://$addr:$port1" "$work/n51.log"; }
e2e_poll 60 0.5 serving1
verdict "n51, started without -D, serves the mesh's data-endpoint tcp://$addr:$port1"
announced() { grep -q "node n51.*hello (.*data tcp://$addr:$1)" "$work/coord.log"; }
e2e_poll 20 0.5 announced "$port1"
verdict "n51 announced it in its Hello (the coordinator's directory follows)"

start_collector() { e2e_collector_start "$STORE" "$MESH"; }
start_collector
spooled() { [ -n "$(e2e_spool_max_seq n51)" ]; }
e2e_poll 60 0.5 spooled
verdict "n51 spools .owp files"
seq1=$(e2e_spool_max_seq n51)
e2e_poll 40 0.5 e2e_collected n51 "$seq1"
grep -q "node n51: collecting from tcp://$addr:$port1" "$work/collector.log"
verdict "the collector collects n51's files (up to seq $seq1) from tcp://$addr:$port1"

# ------------------------------------------------------------------ 2. the mesh moves it

mesh_with "$port2"
kill -HUP "$coord_pid"
moved() { grep -q "data endpoint moved from tcp://$addr:$port1 to tcp://$addr:$port2" "$work/n51.log"; }
e2e_poll 40 0.5 moved
verdict "coordinator reloaded with a new data-endpoint: n51 moved to tcp://$addr:$port2"
e2e_poll 20 0.5 listening "$port2"
verdict "n51 listens on the new port"
gone() { ! listening "$port1"; }
e2e_poll 20 0.5 gone
verdict "n51 no longer listens on the old port"
e2e_poll 20 0.5 announced "$port2"
verdict "n51 announced the new endpoint"
# The running collector finds the new endpoint in the directory and follows.
seq2=$(($(e2e_spool_max_seq n51) + 1))
e2e_poll 60 0.5 e2e_collected n51 "$seq2"
grep -q "node n51: data endpoint moved to tcp://$addr:$port2" "$work/collector.log"
verdict "the running collector follows n51 and collects its later files (seq $seq2) from the new endpoint"

# ------------------------------------------------------------------ 3. the saved schedule carries it

e2e_stop "$coll_pid"
e2e_mesh_node_stop n51
lines=$(wc -l <"$work/n51.log")
start_n51
first_endpoint() {
    tail -n +"$((lines + 1))" "$work/n51.log" | grep -m1 "node n51: data endpoint tcp://"
}
restarted() { [ -n "$(first_endpoint)" ]; }
e2e_poll 30 0.5 restarted
first_endpoint | grep -q "data endpoint tcp://$addr:$port2 (the mesh's data-endpoint)"
verdict "restarted n51 serves the saved schedule's data-endpoint from the start"

e2e_mesh_node_stop n51
e2e_mesh_node_stop n52
e2e_stop "$coord_pid"
if [ "$failed" != 0 ]; then
    e2e_show_logs 30 coord n51 n52 collector
fi
e2e_finish
