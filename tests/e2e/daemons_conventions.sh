#!/bin/sh
# daemons_conventions.sh - what the three mesh daemons (owmesh-coordinator,
# owmesh-node, owmesh-collector) share as services:
#  - -h/--help print the usage on stdout and exit 0, --version prints
#    "PROGRAM VERSION" and exits 0, an unknown option exits 1;
#  - started as root (where the test runs as root), each runs as the
#    unprivileged default user (owmesh if it exists, else nobody) after
#    start-up, and owmesh-node's owampd is started without -f, with -U;
#  - a node without -D serves its data endpoint on port 8621 of its -S address;
#  - -Z and systemd ($INVOCATION_ID) keep a daemon in the foreground; without
#    either it detaches and the command exits 0 once it is up, or 1 with the
#    reason on its standard error when it could not start;
#  - SIGHUP with a bad mesh keeps the coordinator running its old one, logged
#    with the file's name;
#  - a collector whose coordinator is down says so once and backs off
#    (2 s, then 4 s, ...), without waiting on it.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need "$OWMESH_COORD" "$OWMESH_NODE" "$OWMESH_COLLECTOR" "$OWMESH" "$OWAMPD" python3
e2e_init

version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")

# ------------------------------------------------------------------ --help, --version
for d in "$OWMESH_COORD" "$OWMESH_NODE" "$OWMESH_COLLECTOR"; do
    name=$(basename "$d")
    for h in -h --help; do
        "$d" $h >"$work/out" 2>"$work/err"
        [ $? = 0 ] && grep -q "^usage: $name" "$work/out" && [ ! -s "$work/err" ]
        verdict "$name $h: usage on stdout, exit 0"
    done
    "$d" --version >"$work/out" 2>"$work/err"
    [ $? = 0 ] && [ "$(cat "$work/out")" = "$name $version" ]
    verdict "$name --version: \"$name $version\", exit 0"
    "$d" --no-such-option >"$work/out" 2>"$work/err"
    [ $? = 1 ] && grep -q "usage: $name" "$work/err"
    verdict "$name --no-such-option: exit 1, usage on stderr"
    # Every option of the usage's synopsis is in the man page's SYNOPSIS.
    man=$top_srcdir/doc/$name.8
    syn=$(sed -n '/^\.SH SYNOPSIS/,/^\.SH/p' "$man")
    for o in $("$d" --help | sed -n '/^usage:/,/^$/p' | grep -o '\[-[A-Za-z]\|^usage: [^ ]* -[A-Za-z]\| -[A-Za-z] ' |
        grep -o '[A-Za-z]$' | sort -u); do
        echo "$syn" | grep -q "B \\\\-$o\$\|B \\\\-$o \|RB \[ \\\\-$o" || fail "$name: -$o missing from the SYNOPSIS of $man"
    done
done

# ------------------------------------------------------------------ a detaching daemon that cannot start
cannot_start() {
    name=$(basename "$1")
    shift
    "$@" -k "$work/no-such-key_secret" >"$work/out" 2>"$work/err" </dev/null
    [ $? = 1 ] && grep -q "no-such-key_secret" "$work/err"
    verdict "$name detaching with a missing key: exit 1, the key file named on stderr"
}
cannot_start "$OWMESH_COORD" "$OWMESH_COORD" -c "$top_srcdir/mesh-configs/demo-3node.json" \
    -B tcp://127.0.0.1:1
cannot_start "$OWMESH_COLLECTOR" "$OWMESH_COLLECTOR" -s "$work/store" -C tcp://127.0.0.1:1

if [ "$(id -u)" != 0 ]; then
    echo "    (not root: the privilege checks are skipped)"
    e2e_finish
fi

# ------------------------------------------------------------------ as root: the run-as user
e2e_mesh_init n60 n61
e2e_mesh_keygen coord coll n60 n61
user=nobody
getent passwd owmesh >/dev/null 2>&1 && user=owmesh
chmod 0755 "$work"
e2e_mesh_full_json quick 0.1 20 1 n60 n61 >"$work/mesh.json"

"$OWMESH_COORD" -Z -c "$work/mesh.json" -k "$work/coordinator/coord_secret" -B "$mesh_endpoint" \
    >"$work/coord.log" 2>&1 &
coord_pid=$!
e2e_track "$coord_pid"
addr=$(e2e_mesh_addr n60)
mkdir -p "$work/n60"
"$OWMESH_NODE" -Z -n n60 -k "$work/keys/n60_secret" -K "$work/keys/coord" -C "$mesh_endpoint" \
    -d "$work/n60/data" -S "$addr:$mesh_oport" -c "$work/conf" -O "$OWAMPD" >"$work/n60.log" 2>&1 &
node_pid=$!
e2e_track "$node_pid"
dead=tcp://127.0.0.1:$(e2e_free_port 127.0.0.1)
"$OWMESH_COLLECTOR" -Z -v -C "$dead" -k "$work/keys/coll_secret" -K "$work/keys/coord" \
    -s "$work/store" >"$work/collector.log" 2>&1 &
coll_pid=$!
e2e_track "$coll_pid"

running_as() { [ "$(e2e_user_of "$1")" = "$user" ]; }
for p in coord:$coord_pid n60:$node_pid collector:$coll_pid; do
    e2e_poll 50 0.1 running_as "${p#*:}"
    verdict "${p%%:*} runs as $user after start-up (ps: $(e2e_user_of "${p#*:}"))"
done
grep -q "running as user $user" "$work/coord.log" "$work/collector.log"
verdict "the coordinator and the collector say whom they run as"
grep -q "node n60: running as user $user, group .* (keeping CAP_NET_BIND_SERVICE)" "$work/n60.log"
verdict "the node says whom it runs as, and the one capability it keeps"

# owmesh-node's owampd: no -f, the node's user passed on.
owampd_child() { pgrep -P "$node_pid" owampd | head -1; }
has_owampd_child() { [ -n "$(owampd_child)" ]; }
e2e_poll 150 0.1 has_owampd_child
opid=$(owampd_child)
args=$(ps -o args= -p "$opid" 2>/dev/null)
case " $args " in
*" -f "*) fail "owampd started with -f: $args" ;;
*" -U $user "*) pass "owampd started without -f, with -U $user" ;;
*) fail "owampd's command line: $args" ;;
esac
e2e_poll 50 0.1 running_as "$opid"
verdict "owampd runs as $user"

# The default data endpoint: port 8621 of the -S address.
grep -q "node n60: data endpoint tcp://$addr:8621" "$work/n60.log"
verdict "a node without -D serves tcp://ADDR:8621"

# ------------------------------------------------------------------ SIGHUP keeps a good mesh
cp "$work/mesh.json" "$work/mesh.good"
printf '{"nodes": {\n  "n60": {"address": 7}\n}}\n' >"$work/mesh.json"
kill -HUP "$coord_pid"
reload_failed() { grep -q "reload (SIGHUP) failed: .*mesh.json" "$work/coord.log"; }
e2e_poll 50 0.1 reload_failed
verdict "SIGHUP with a bad mesh: the error is logged with the file"
kill -0 "$coord_pid" 2>/dev/null && grep -q "still running generation" "$work/coord.log"
verdict "the coordinator keeps running its old mesh"
cp "$work/mesh.good" "$work/mesh.json"

# ------------------------------------------------------------------ the collector backs off
backing_off() { grep -q "retrying in 4 s" "$work/collector.log"; }
e2e_poll 120 0.1 backing_off
verdict "the collector backs off while the coordinator is down (2 s, then 4 s)"
[ "$(grep -c 'backing off up to' "$work/collector.log")" = 1 ]
verdict "the coordinator's absence is logged once"

# ------------------------------------------------------------------ detaching
# Without -Z (and not under systemd) a daemon detaches: the command exits 0
# once the daemon is up; the node's lock file names the daemon.
mkdir -p "$work/n61"
(unset INVOCATION_ID JOURNAL_STREAM
 "$OWMESH_NODE" -n n61 -k "$work/keys/n61_secret" -K "$work/keys/coord" -C "$mesh_endpoint" \
     -d "$work/n61/data" -S "$(e2e_mesh_addr n61):$mesh_oport" -c "$work/conf" -O "$OWAMPD" \
     -D none >"$work/n61.out" 2>&1)
[ $? = 0 ]
verdict "owmesh-node without -Z detaches: the command exits 0"
dpid=$(cat "$work/n61/data/owmesh-node.lock" 2>/dev/null)
[ -n "$dpid" ] && e2e_track "$dpid"
[ -n "$dpid" ] && running_as "$dpid" && [ "$(ps -o sid= -p "$dpid" | tr -d ' ')" = "$dpid" ]
verdict "the detached node runs as $user in a session of its own"
[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
# Under systemd (INVOCATION_ID) it stays in the foreground without -Z.
INVOCATION_ID=0123456789abcdef "$OWMESH_COLLECTOR" -C "$dead" -k "$work/keys/coll_secret" \
    -K "$work/keys/coord" -s "$work/store2" >"$work/sd.out" 2>&1 &
sd_pid=$!
e2e_track "$sd_pid"
e2e_poll 50 0.1 running_as "$sd_pid"
verdict "under systemd the collector stays in the foreground (the started pid runs as $user)"
e2e_stop "$sd_pid"

e2e_stop "$coll_pid"
e2e_stop "$node_pid"
e2e_stop "$coord_pid"
[ "$failed" = 0 ] || e2e_show_logs 15 coord n60 collector
e2e_finish
