#!/bin/sh
# mesh_security.sh - the mesh's security model end to end (issue 11): every
# program has its own CURVE key pair and the mesh lists what each key may do.
# A coordinator, two nodes serving their spools (-D), then:
#  - the listed collector collects, with its own key; the listed analyst
#    gets `owmesh status`, with its own key;
#  - a collector with an unlisted key is refused by the coordinator;
#  - the analyst's key used to pull data gets the directory but is refused by
#    every node's data endpoint;
#  - a node's key used as a collector is refused the directory;
#  - a plaintext ZeroMQ client is refused by the coordinator and by a node's
#    data endpoint, a client that encrypts to the wrong server key by the
#    coordinator;
# each refusal logged: with the key and the peer address when ZAP refuses,
# with the refusing endpoint and the reason when the handshake fails before
# ZAP (libzmq 4.3's monitor does not name the peer); and the
# coordinator's secret key never leaves its directory. Bounded: about 30 s.
#
# Environment (set by the harness): top_builddir, top_srcdir.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need "$OWAMPD" "$OWMESH_NODE" "$OWMESH_COORD" "$OWMESH_COLLECTOR" "$OWMESH" python3
e2e_init

e2e_collected_mesh_init n1 n2
e2e_mesh_keygen rogue
e2e_mesh_full_json quick 0.02 25 1 $NODES >"$MESH"
grep -q '"collectors": {"coll"' "$MESH" && grep -q '"analysts": {"analyst"' "$MESH"
verdict "the mesh lists the collector's and the analyst's public keys"
secrets=$(find "$work" -name 'coord_secret' | sed "s|^$work/||")
[ "$secrets" = coordinator/coord_secret ]
verdict "the coordinator's secret key is in its own directory only ($secrets)"

e2e_coordinator_start "$MESH"
for n in $NODES; do
    e2e_mesh_node_start "$n" "$n" -D "tcp://$(e2e_mesh_addr "$n"):$dport" -R 3600
done
e2e_poll 50 0.2 grep -q "listening on" "$work/coord.log"
verdict "the coordinator listens"
grep -q "1 collector (directory, status, data pulls), 1 analyst (directory, status)" \
    "$work/coord.log"
verdict "the coordinator logs the collectors and analysts it admits"

# collector NAME KEY [SERVER_KEY]: an owmesh-collector into a store of its
# own with KEY's key pair, its log $work/NAME.log; $pid_NAME, tracked.
collector() {
    "$OWMESH_COLLECTOR" -Z -v -C "$mesh_endpoint" -k "$work/keys/$2_secret" \
        -K "$work/keys/${3:-coord}" -s "$work/store-$1" -m "$MESH" -r 2 \
        >>"$work/$1.log" 2>&1 &
    eval "pid_$1=\$!"
    e2e_track "$!"
}
stop() { eval "e2e_stop \"\$pid_$1\""; }
logged() { grep -qF -- "$2" "$work/$1.log"; } # logged LOG TEXT

# plaintext HOST PORT: connect as a ZeroMQ peer without CURVE (a ZMTP 3.0
# greeting offering the NULL mechanism) and hang up.
plaintext() {
    python3 - "$1" "$2" <<'EOF'
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)
s.sendall(b"\xff" + b"\0" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\0") + b"\0" * 32)
time.sleep(0.5)
s.close()
EOF
}

key_coll=$(e2e_mesh_key coll)
key_analyst=$(e2e_mesh_key analyst)
key_rogue=$(e2e_mesh_key rogue)
key_n1=$(e2e_mesh_key n1)
coord_port=${mesh_endpoint##*:}

# ------------------------------------------------------------------ 1. listed programs, own keys

spooled() { for n in $NODES; do [ -n "$(e2e_spool_max_seq "$n")" ] || return 1; done; }
e2e_poll 60 0.5 spooled
verdict "both nodes spool files"
e2e_poll 20 0.5 grep -q "serving 1 collector of the mesh (coll)" "$work/n1.log"
verdict "n1 learned the mesh's collector from its schedule"

e2e_collector_start "$STORE" "$MESH"
collected_both() { e2e_collected n1 1 && e2e_collected n2 1; }
e2e_poll 60 0.5 collected_both
verdict "the listed collector collects from both nodes with its own key"

e2e_mesh_status >"$work/status.out" 2>"$work/status.err"
rc=$?
[ "$rc" -le 2 ] && grep -Eq '^n1 +connected' "$work/status.out" &&
    grep -Eq '^n2 +connected' "$work/status.out"
verdict "the listed analyst gets owmesh status with its own key (exit $rc)"
[ "$rc" -le 2 ] || show "$work/status.out" "$work/status.err"

# ------------------------------------------------------------------ 2. refused keys

collector rogue rogue
e2e_poll 40 0.25 logged coord "refused connection from 127.0.0.1"
logged coord "CURVE key $key_rogue is not in $MESH"
verdict "the coordinator refuses and logs a collector with an unlisted key"
stop rogue

collector analyst analyst
e2e_poll 40 0.25 logged n1 "CURVE key $key_analyst is not a collector of the mesh"
verdict "n1's data endpoint refuses and logs the analyst's key pulling data"
e2e_poll 40 0.25 logged n2 "CURVE key $key_analyst is not a collector of the mesh"
verdict "n2's data endpoint refuses and logs the analyst's key pulling data"
grep "data: refused connection from" "$work/n1.log" | grep -qF "$key_analyst"
verdict "the refusal names the peer address and the key"
! grep -q "node n1: file " "$work/analyst.log"
verdict "the analyst's key pulled no file"
stop analyst

collector asnode n1
e2e_poll 40 0.25 logged coord "DirectoryRequest refused: CURVE key $key_n1 is a node's"
verdict "the coordinator refuses and logs a node's key asking for the directory"
grep "DirectoryRequest refused" "$work/coord.log" | grep -q "node n1 (127.0.0.1"
verdict "that refusal names the node and its peer address"
e2e_poll 20 0.25 grep -q "DirectoryRequest refused" "$work/asnode.log"
verdict "the collector run with a node's key is told why"
stop asnode

# ------------------------------------------------------------------ 3. plaintext, wrong server key

# libzmq 4.3 names the endpoint that refused such a client, not the client.
plaintext 127.0.0.1 "$coord_port"
e2e_poll 20 0.25 logged coord "coordinator: refused a connection on $mesh_endpoint: not CURVE"
verdict "the coordinator logs a plaintext client"
plaintext "$(e2e_mesh_addr n1)" "$dport"
e2e_poll 20 0.25 logged n1 \
    "node n1: data: refused a connection on tcp://$(e2e_mesh_addr n1):$dport: not CURVE"
verdict "n1's data endpoint logs a plaintext client"

collector wrongkey coll rogue # the right key of its own, the wrong server key
e2e_poll 40 0.25 logged coord "refused a connection on $mesh_endpoint: CURVE decryption failed"
verdict "the coordinator logs a client that uses the wrong server key"
stop wrongkey

# Refusals are rate-limited: one line per key (or peer host) a minute.
n=$(grep -cF "CURVE key $key_rogue is not in" "$work/coord.log")
[ "$n" = 1 ]
verdict "a retrying refused collector is logged once ($n lines)"

e2e_stop "$coll_pid"
for n in $NODES; do e2e_mesh_node_stop "$n"; done
e2e_stop "$coord_pid"
if [ "$failed" != 0 ]; then
    e2e_show_logs 30 coord n1 n2 collector rogue analyst asnode wrongkey
fi
e2e_finish
