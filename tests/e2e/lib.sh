# lib.sh - what the end-to-end scripts share. Sourced (POSIX sh) as
#
#     . "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
#     e2e_need "$OWAMPD" "$OWPING"    # skip (77) unless built
#     e2e_init                        # $work, cleanup on exit
#     ...; check "what" [ ... ]; pass "what"; fail "what"
#     e2e_finish                      # "NAME: N passed, M failed", exit status
#
# Every process a script starts in the background is registered with
# e2e_track (e2e_owampd_start does it for the daemons) and killed at exit
# unless e2e_wait or e2e_stop already reaped it: cleanup never signals a pid
# the script did not start. Loopback addresses only.
#
# Environment (set by the harness): top_builddir, top_srcdir; both default to
# the directory two levels above the script.

e2e_here=$(cd "$(dirname "$0")" && pwd)
top_builddir=${top_builddir:-$e2e_here/../..}
top_srcdir=${top_srcdir:-$e2e_here/../..}
E2E_NAME=$(basename "$0" .sh)

OWAMPD=${OWAMPD:-$top_builddir/node/owampd/owampd}
OWPING=$top_builddir/node/tools/owping
OWSTATS=$top_builddir/node/tools/owstats
OWFETCH=$top_builddir/node/tools/owfetch
OWUP=$top_builddir/node/tools/owup
PFSTORE=$top_builddir/node/tools/pfstore
POWSTREAM=$top_builddir/node/tools/powstream
OWMESH=$top_builddir/collector/cli/owmesh
OWMESH_NODE=$top_builddir/node/agent/owmesh-node
OWMESH_COORD=$top_builddir/coordinator/owmesh-coordinator
OWMESH_COLLECTOR=$top_builddir/collector/daemon/owmesh-collector
LAB_PFS=$top_srcdir/tests/vectors/lab/owampd.pfs

# Running owampd as root needs -f (the reference's rootfolly).
rootflag=
[ "$(id -u)" = 0 ] && rootflag=-f

# ------------------------------------------------------------------ results

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }
# check DESCRIPTION COMMAND...: pass or fail by the command's status.
check() {
    e2e_desc=$1
    shift
    if "$@"; then pass "$e2e_desc"; else fail "$e2e_desc"; fi
}
# verdict DESCRIPTION: pass or fail by the status of the command list before it.
verdict() {
    if [ "$?" = 0 ]; then pass "$1"; else fail "$1"; fi
}
# e2e_poll TRIES INTERVAL COMMAND...: run COMMAND every INTERVAL seconds
# until it succeeds (0) or has failed TRIES times (1).
e2e_poll() {
    e2e_tries=$1 e2e_interval=$2
    shift 2
    while [ "$e2e_tries" -gt 0 ]; do
        "$@" && return 0
        sleep "$e2e_interval"
        e2e_tries=$((e2e_tries - 1))
    done
    return 1
}
# show FILE...: indented, for the context of a failure.
show() { sed 's/^/    /' "$@"; }
# run WANT NAME COMMAND...: stdout in $work/out, stderr in $work/err; pass
# when the exit status is WANT, else fail showing both.
run() {
    e2e_want=$1 e2e_name=$2
    shift 2
    "$@" >"$work/out" 2>"$work/err"
    e2e_got=$?
    if [ "$e2e_got" -eq "$e2e_want" ]; then
        pass "$e2e_name: exit $e2e_want"
    else
        fail "$e2e_name: exit $e2e_got, want $e2e_want"
        show "$work/out" "$work/err"
    fi
}
# has NAME FILE TEXT: pass when FILE holds TEXT (a fixed string), else fail showing FILE.
has() {
    if grep -F -- "$3" "$2" >/dev/null; then pass "$1"; else fail "$1: no \"$3\" in $2:"; show "$2"; fi
}

# The closing line the test harness reads, and the exit status.
e2e_finish() {
    echo "$E2E_NAME: $passed passed, $failed failed"
    [ "$failed" = 0 ] && exit 0
    exit 1
}

# e2e_need [--fail] PROGRAM...: each a path that must be executable or a
# command name that must be found; otherwise the script is skipped (exit 77),
# or fails (exit 1) with --fail.
e2e_need() {
    e2e_missing_status=77
    if [ "${1:-}" = --fail ]; then
        e2e_missing_status=1
        shift
    fi
    for e2e_prog in "$@"; do
        case $e2e_prog in
        */*) [ -x "$e2e_prog" ] && continue ;;
        *) command -v "$e2e_prog" >/dev/null 2>&1 && continue ;;
        esac
        echo "$E2E_NAME: $e2e_prog not available"
        exit "$e2e_missing_status"
    done
}

# ------------------------------------------------------------------ work directory, cleanup

e2e_pids=
e2e_track() { e2e_pids="$e2e_pids $1"; }
e2e_untrack() {
    e2e_rest=
    for e2e_p in $e2e_pids; do
        [ "$e2e_p" = "$1" ] || e2e_rest="$e2e_rest $e2e_p"
    done
    e2e_pids=$e2e_rest
}
# e2e_wait PID: wait for a tracked child; its exit status.
e2e_wait() {
    wait "$1"
    e2e_status=$?
    e2e_untrack "$1"
    return $e2e_status
}
# e2e_stop PID [SIGNAL]: signal a tracked child (TERM by default) and reap it.
e2e_stop() {
    kill "-${2:-TERM}" "$1" 2>/dev/null
    e2e_wait "$1"
}

e2e_cleanup() {
    for e2e_p in $e2e_pids; do
        kill "$e2e_p" 2>/dev/null
    done
    for e2e_p in $e2e_pids; do
        wait "$e2e_p" 2>/dev/null
    done
    e2e_pids=
    # E2E_KEEP=1 keeps the work directory (logs, stores) for a post-mortem.
    [ -n "${work:-}" ] && [ -z "${E2E_KEEP:-}" ] && rm -rf "$work"
    return 0
}

# e2e_init: $work, a fresh directory removed at exit with every tracked process.
e2e_init() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/$E2E_NAME.XXXXXX") || exit 1
    trap e2e_cleanup EXIT
    trap 'exit 1' INT TERM HUP
}

# ------------------------------------------------------------------ owampd

# e2e_free_port [HOST]: a TCP port nothing listens on at HOST (127.0.0.1 or
# ::1) right now, below the kernel's ephemeral range: a port from that range
# (what bind(0) returns) can be taken by any outgoing connection of a test
# running beside this one before our daemon binds it. Without python3 a
# pseudo-random one (e2e_owampd_serve retries when it is taken).
e2e_port_try=0
e2e_free_port() {
    e2e_port_try=$((e2e_port_try + 1))
    python3 -c 'import random, socket, sys
h = sys.argv[1]
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError):
    low = 32768
for _ in range(200):
    port = random.randrange(10000, max(low, 10001))
    s = socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET)
    try:
        s.bind((h, port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    sys.exit(1)' "${1:-127.0.0.1}" 2>/dev/null ||
        echo $((10000 + ($$ * 7 + e2e_port_try * 131) % 22000))
}

# e2e_owampd_conf [AUTHMODE]: $work/conf for "-c" with an owamp-server.conf
# ("authmode AUTHMODE" when given, else empty), the lab pass-phrase file when
# AUTHMODE asks for A or E, and limits under which every client may test and
# fetched data stays stored; plus empty $work/data and $work/var.
e2e_owampd_conf() {
    mkdir -p "$work/conf" "$work/data" "$work/var"
    if [ -n "${1:-}" ]; then
        printf 'authmode %s\n' "$1" >"$work/conf/owamp-server.conf"
    else
        : >"$work/conf/owamp-server.conf"
    fi
    case ${1:-} in
    *A* | *E*) cp "$LAB_PFS" "$work/conf/owamp-server.pfs" ;;
    esac
    printf 'limit root with delete_on_fetch=off\nassign default root\n' \
        >"$work/conf/owamp-server.limits"
}

# e2e_owampd_start ADDR LOG VARDIR [OWAMPD ARGS...]: owampd -Z (-f as root)
# -R VARDIR -S ADDR in the background, its output appended to LOG, tracked.
# Returns 0 once VARDIR/owamp-server.pid holds its pid (written after its
# sockets listen), $owampd_pid set; 1 when it exited first (reaped).
e2e_owampd_start() {
    e2e_addr=$1 e2e_log=$2 e2e_var=$3
    shift 3
    # shellcheck disable=SC2086 # rootflag is empty or one word
    "$OWAMPD" -Z $rootflag -R "$e2e_var" -S "$e2e_addr" "$@" >>"$e2e_log" 2>&1 &
    owampd_pid=$!
    e2e_track "$owampd_pid"
    e2e_i=0
    while [ $e2e_i -lt 100 ]; do
        [ "$(cat "$e2e_var/owamp-server.pid" 2>/dev/null)" = "$owampd_pid" ] && return 0
        kill -0 "$owampd_pid" 2>/dev/null || break
        sleep 0.1
        e2e_i=$((e2e_i + 1))
    done
    e2e_stop "$owampd_pid" KILL 2>/dev/null
    owampd_pid=
    return 1
}

# e2e_owampd_serve HOST LOG VARDIR [OWAMPD ARGS...]: e2e_owampd_start on a
# free port of HOST (127.0.0.1 or [::1]), a few ports tried; sets
# $owampd_port and $owampd_pid.
e2e_owampd_serve() {
    e2e_host=$1
    shift
    e2e_bare=${e2e_host#\[}
    e2e_bare=${e2e_bare%\]}
    e2e_try=0
    while [ $e2e_try -lt 5 ]; do
        owampd_port=$(e2e_free_port "$e2e_bare")
        e2e_owampd_start "$e2e_host:$owampd_port" "$@" && return 0
        e2e_try=$((e2e_try + 1))
    done
    owampd_port=
    return 1
}

# e2e_owampd_up HOST LOG VARDIR [OWAMPD ARGS...]: e2e_owampd_serve, or the
# end of the script (exit 1) with the daemon's log.
e2e_owampd_up() {
    e2e_owampd_serve "$@" && return 0
    echo "FAIL: owampd did not start on $1; its log:"
    cat "$2"
    exit 1
}

# e2e_run NAME WANT COMMAND...: stdout and stderr in $work/NAME.out and
# .err; 0 when the exit status ($run_status) is WANT, else 1 after showing
# stderr.
e2e_run() {
    e2e_name=$1 e2e_want=$2
    shift 2
    "$@" >"$work/$e2e_name.out" 2>"$work/$e2e_name.err"
    run_status=$?
    [ "$run_status" = "$e2e_want" ] && return 0
    echo "    $e2e_name: exit $run_status (want $e2e_want)"
    show "$work/$e2e_name.err"
    return 1
}

# ------------------------------------------------------------------ running unprivileged

# e2e_unprivileged: where the test runs as root, the mesh daemons run as they
# would in production: started as root, they drop to an unprivileged user
# after start-up. Sets $e2e_run_user (nobody; empty when not root) and
# $e2e_run_as (the "-U USER" every mesh daemon helper passes), and opens $work
# to that user (traversable, like /var/lib): what it writes after the drop is
# under its own directories, which it is given at start-up.
e2e_run_user=
e2e_run_as=
e2e_unprivileged() {
    [ "$(id -u)" = 0 ] || return 0
    e2e_run_user=nobody
    e2e_run_as="-U $e2e_run_user"
    chmod 0755 "$work"
}

# e2e_user_of PID: the user a process runs as (ps -o user=), "" once gone.
e2e_user_of() { ps -o user= -p "$1" 2>/dev/null | tr -d ' '; }

# ------------------------------------------------------------------ the mesh

# e2e_mesh_init NODE...: the set-up of a mesh of owmesh-node agents named
# n1, n2, ... on 127.0.0.2, 127.0.0.3, ... (e2e_mesh_addr): skipped (77)
# unless every node address is usable on this host's loopback; $work/conf
# for the nodes' owampds (e2e_owampd_conf); $mesh_oport, the owamp port
# every node serves; $mesh_endpoint, the coordinator's.
e2e_mesh_init() {
    for e2e_n in "$@"; do
        python3 -c 'import socket, sys; socket.socket().bind((sys.argv[1], 0))' "$(e2e_mesh_addr "$e2e_n")" ||
            { echo "$E2E_NAME: $(e2e_mesh_addr "$e2e_n") not usable on loopback"; exit 77; }
    done
    # Every .sum file names its hosts by reverse DNS (as the reference's
    # powstream does), from the stream's own thread; 127.0.0.x are not in
    # /etc/hosts, so each summary asks the resolver. A resolver that drops
    # bursts of UDP queries (some sandboxes do) makes each lookup wait 5 s and
    # starves the streams: TCP queries are not dropped.
    RES_OPTIONS=${RES_OPTIONS:-use-vc}
    export RES_OPTIONS
    e2e_unprivileged
    e2e_owampd_conf
    mesh_oport=$(e2e_free_port 127.0.0.2)
    mesh_endpoint=tcp://127.0.0.1:$(e2e_free_port 127.0.0.1)
}

# e2e_mesh_addr NODE: the loopback address of node nN, 127.0.0.(N+1).
e2e_mesh_addr() { echo "127.0.0.$((${1#n} + 1))"; }

# e2e_mesh_keygen NAME...: `owmesh keygen NAME` in $work/keys for each (the
# certificates NAME and NAME_secret, the public key in NAME.pub); exit 1 on failure.
# Every program has a key pair of its own (issue 11): the coordinator's ("coord")
# is made in its own directory, $work/coordinator, and only its public
# certificate is copied to $work/keys: its secret key never leaves it.
e2e_mesh_keygen() {
    mkdir -p "$work/keys" "$work/coordinator"
    for e2e_k in "$@"; do
        e2e_d=$work/keys
        [ "$e2e_k" = coord ] && e2e_d=$work/coordinator
        (cd "$e2e_d" && "$OWMESH" keygen "$e2e_k" >"$e2e_k.pub") ||
            { echo "FAIL: owmesh keygen $e2e_k"; exit 1; }
        [ "$e2e_k" = coord ] && { cp "$e2e_d/coord" "$e2e_d/coord.pub" "$work/keys/" || exit 1; }
    done
}

# e2e_mesh_clients_json: the "collectors" and "analysts" members of a mesh
# file (each line ending with a comma) for the keys "coll" and "analyst" that
# e2e_mesh_keygen made; nothing for a key it did not make.
e2e_mesh_clients_json() {
    [ -f "$work/keys/coll.pub" ] &&
        printf '  "collectors": {"coll": {"public-key": "%s"}},\n' "$(e2e_mesh_key coll)"
    [ -f "$work/keys/analyst.pub" ] &&
        printf '  "analysts": {"analyst": {"public-key": "%s"}},\n' "$(e2e_mesh_key analyst)"
    return 0
}

# e2e_mesh_status ARGS...: `owmesh status` as the analyst (its own key, the
# coordinator's public key) against $mesh_endpoint.
e2e_mesh_status() {
    "$OWMESH" status -c "$mesh_endpoint" -k "$work/keys/analyst_secret" -s "$work/keys/coord" "$@"
}

# e2e_mesh_key NAME: the public key e2e_mesh_keygen made for NAME.
e2e_mesh_key() { cat "$work/keys/$1.pub"; }

# e2e_mesh_nodes_json NODE...: the members of a mesh file's "nodes" object,
# one a line, each with its address, $mesh_oport and its key.
e2e_mesh_nodes_json() {
    e2e_sep=
    for e2e_n in "$@"; do
        printf '%s    "%s": {"address": "%s", "owamp-port": %s, "public-key": "%s"}' \
            "$e2e_sep" "$e2e_n" "$(e2e_mesh_addr "$e2e_n")" "$mesh_oport" "$(e2e_mesh_key "$e2e_n")"
        e2e_sep=',
'
    done
}

# e2e_mesh_full_json TEST INTERVAL COUNT LOSS_TIMEOUT NODE...: a mesh file (on
# stdout) measuring every ordered pair of NODEs (group "all", task
# "all-owd") with the latencybg test TEST of those parameters.
e2e_mesh_full_json() {
    e2e_t=$1 e2e_i=$2 e2e_c=$3 e2e_l=$4
    shift 4
    printf '{\n  "nodes": {\n'
    e2e_mesh_nodes_json "$@"
    printf '\n  },\n'
    e2e_mesh_clients_json
    printf '  "groups": {"all": {"type": "mesh", "nodes": ['
    e2e_sep=
    for e2e_n in "$@"; do printf '%s"%s"' "$e2e_sep" "$e2e_n"; e2e_sep=', '; done
    printf ']}},\n  "tests": {"%s": {"type": "latencybg", "packet-interval": %s, ' "$e2e_t" "$e2e_i"
    printf '"packet-count": %s, "loss-timeout": %s}},\n' "$e2e_c" "$e2e_l"
    printf '  "tasks": {"all-owd": {"group": "all", "test": "%s"}}\n}\n' "$e2e_t"
}

# e2e_collected_mesh_init NODE...: e2e_mesh_init and keys for a mesh whose
# nodes serve their spools to a collector ("coll") and an analyst reads its
# status ("analyst"): $NODES, $dport (the nodes' data endpoint port), $STORE
# and $MESH (paths for the store and the mesh file).
e2e_collected_mesh_init() {
    NODES="$*"
    e2e_mesh_init "$@"
    e2e_mesh_keygen coord coll analyst "$@"
    dport=$(e2e_free_port 127.0.0.2)
    STORE=$work/store
    MESH=$work/mesh.json
}

# e2e_collector_start STORE MESH [OPTION...]: owmesh-collector (-v) with its
# own key ("coll", listed in the mesh) into STORE, its output appended to
# $work/collector.log; $coll_pid, tracked.
e2e_collector_start() {
    e2e_cs_store=$1 e2e_cs_mesh=$2
    shift 2
    # shellcheck disable=SC2086 # e2e_run_as is empty or "-U USER"
    "$OWMESH_COLLECTOR" -Z -v $e2e_run_as -C "$mesh_endpoint" -k "$work/keys/coll_secret" \
        -K "$work/keys/coord" -s "$e2e_cs_store" -m "$e2e_cs_mesh" -r 2 "$@" \
        >>"$work/collector.log" 2>&1 &
    coll_pid=$!
    e2e_track "$coll_pid"
}

# The collector's progress, and the recount that checks its store: the nodes
# keep acked files (-R), so every spooled .owp can be counted again.

# e2e_spool_max_seq NODE: the highest seq of a .owp file in NODE's spool.
e2e_spool_max_seq() {
    ls "$work/$1/data/spool" 2>/dev/null | sed -n 's/^0*\([0-9][0-9]*\)\..*\.owp$/\1/p' |
        sort -n | tail -1
}

# e2e_collected_seq NODE: the last seq of NODE the collector's log says it
# handled ("" before the first).
e2e_collected_seq() {
    sed -n "s/.*node $1: file \([0-9]*\) .*/\1/p" "$work/collector.log" | sort -n | tail -1
}

# e2e_collected NODE SEQ: the collector handled file SEQ of NODE, or a later one.
e2e_collected() {
    last=$(e2e_collected_seq "$1")
    [ -n "$last" ] && [ "$last" -ge "$2" ]
}

# e2e_mark_spools: s_NODE = e2e_spool_max_seq NODE, now, for every node of $NODES.
e2e_mark_spools() { for n in $NODES; do eval "s_$n=\$(e2e_spool_max_seq $n)"; done; }
# e2e_caught_up: the collector handled every node's files up to its mark.
e2e_caught_up() {
    for n in $NODES; do
        eval "s=\$s_$n"
        e2e_collected "$n" "$s" || return 1
    done
}

# e2e_collected_owp NODE: NODE's spooled .owp files up to the last seq the
# collector handled, one path a line.
e2e_collected_owp() {
    last=$(e2e_collected_seq "$1")
    for f in "$work/$1/data/spool/"*.owp; do
        seq=$(basename "$f" | sed 's/^0*\([0-9][0-9]*\)\..*/\1/')
        [ "$seq" -le "${last:-0}" ] && echo "$f"
    done
}

# e2e_recount_collected: "SENT LOST DUPS", the sums of `owstats -M` over the
# .owp files of every node of $NODES that the collector handled: what its
# store must say.
e2e_recount_collected() {
    for n in $NODES; do
        e2e_collected_owp "$n" | while read -r f; do "$OWSTATS" -M "$f" 2>/dev/null; done
    done | awk '$1 == "SENT" { s += $2 } $1 == "LOST" { l += $2 } $1 == "DUPS" { d += $2 }
                END { print s + 0, l + 0, d + 0 }'
}

# e2e_coordinator_start MESH: owmesh-coordinator for the mesh file MESH on
# $mesh_endpoint with the "coord" key (from its own directory), its output
# appended to $work/coord.log; $coord_pid, tracked.
e2e_coordinator_start() {
    # shellcheck disable=SC2086 # e2e_run_as is empty or "-U USER"
    "$OWMESH_COORD" -Z $e2e_run_as -c "$1" -k "$work/coordinator/coord_secret" \
        -B "$mesh_endpoint" -t 6 >>"$work/coord.log" 2>&1 &
    coord_pid=$!
    e2e_track "$coord_pid"
}

# e2e_mesh_node_start NODE KEYNAME [NODE ARGS...]: owmesh-node NODE with
# KEYNAME's key, its owampd on e2e_mesh_addr:$mesh_oport, its data under
# $work/NODE, its output appended to $work/NODE.log; $pid_NODE, tracked.
# No data endpoint unless NODE ARGS give -D (the default one, port 8621,
# would be shared by tests running side by side).
e2e_mesh_node_start() {
    e2e_n=$1 e2e_k=$2
    shift 2
    mkdir -p "$work/$e2e_n"
    # shellcheck disable=SC2086 # e2e_run_as is empty or "-U USER"
    "$OWMESH_NODE" -Z -v $e2e_run_as -n "$e2e_n" -k "$work/keys/${e2e_k}_secret" \
        -K "$work/keys/coord" -C "$mesh_endpoint" -d "$work/$e2e_n/data" \
        -S "$(e2e_mesh_addr "$e2e_n"):$mesh_oport" -c "$work/conf" -O "$OWAMPD" -D none "$@" \
        >>"$work/$e2e_n.log" 2>&1 &
    eval "pid_$e2e_n=\$!"
    e2e_track "$!"
}

# e2e_mesh_node_stop NODE [SIGNAL]: e2e_stop of the node's agent.
e2e_mesh_node_stop() { eval "e2e_stop \"\$pid_$1\" ${2:-TERM}"; }

# e2e_show_logs LINES NAME...: the last LINES lines of each $work/NAME.log.
e2e_show_logs() {
    e2e_lines=$1
    shift
    for e2e_f in "$@"; do
        echo "---- $e2e_f.log (tail)"
        tail -"$e2e_lines" "$work/$e2e_f.log" | show
    done
}
