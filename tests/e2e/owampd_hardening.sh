#!/bin/sh
# owampd_hardening.sh - owampd on a public network (issue 11), on loopback:
#   - -h/--help print the usage on stdout, --version the versions, exit 0,
#     without clock warnings; -Z stays in the foreground and logs to stderr;
#   - idle connections that never send Set-Up-Response are bounded per
#     address (maxsetupperaddr) and in all (maxsetupsessions) and dropped
#     after setuptimeout, while a real owping from another address succeeds;
#   - owping -i 0 is accepted under a bandwidth limit (charged 0);
#   - SIGTERM during a test: master and children gone within ~2 s.
# The idle connections come from 127.0.0.2-4 (skipped when those addresses
# are not usable on this host's loopback).
set -u

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need "$OWAMPD" "$OWPING" python3
e2e_init

# ---- -h, --help, --version
for opt in -h --help; do
    "$OWAMPD" $opt >"$work/help.out" 2>"$work/help.err"
    check "$opt exits 0" [ $? -eq 0 ]
    check "$opt prints the usage on stdout" grep -q '^Usage: owampd \[options\]' "$work/help.out"
    check "$opt prints nothing on stderr (no clock warning)" [ ! -s "$work/help.err" ]
done
"$OWAMPD" --version >"$work/version.out" 2>"$work/version.err"
check "--version exits 0" [ $? -eq 0 ]
check "--version names our version and the reference's" \
    grep -Eq '^owampd \(owmesh\) [0-9][^ ]*, compatible with perfSONAR owamp [0-9]' "$work/version.out"
check "--version prints nothing on stderr" [ ! -s "$work/version.err" ]

# ---- a daemon with small set-up bounds and a bandwidth-limited class
e2e_owampd_conf
printf 'setuptimeout 2\nmaxsetupperaddr 4\nmaxsetupsessions 6\n' >"$work/conf/owamp-server.conf"
printf 'limit root with bandwidth=1m, delete_on_fetch=off\nassign default root\n' \
    >"$work/conf/owamp-server.limits"
e2e_owampd_up 127.0.0.1 "$work/daemon.log" "$work/var" -c "$work/conf" -d "$work/data"
master=$owampd_pid

# -Z: still our child (no fork), and its log lines on stderr.
check "-Z stays in the foreground (the pid file holds our child's pid)" \
    [ "$(cat "$work/var/owamp-server.pid")" = "$master" ]
has "-Z logs to stderr" "$work/daemon.log" "owampd[$master]: "

children() { ps -o pid= --ppid "$master" | wc -l; }
children_kb() { ps -o rss= --ppid "$master" | awk '{s += $1} END {print s + 0}'; }

# idle SRC N SECONDS: N connections from SRC that send nothing, held SECONDS.
idle() {
    python3 - "$1" "$2" "$3" "$owampd_port" <<'EOF' &
import socket, sys, time
src, n, hold, port = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
socks = []
for _ in range(n):
    s = socket.socket()
    s.bind((src, 0))
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        continue
    socks.append(s)
time.sleep(hold)
EOF
    e2e_track $!
}

if python3 -c 'import socket; [socket.socket().bind(("127.0.0.%d" % i, 0)) for i in (2, 3, 4)]' 2>/dev/null; then
    # Phase 1: 40 idle connections from one address: 4 children, and an
    # owping from another address still gets through.
    idle 127.0.0.2 40 4
    sleep 1
    n=$(children)
    echo "    40 idle connections from 127.0.0.2: $n children, $(children_kb) kB RSS"
    check "idle connections from one address are bounded (maxsetupperaddr 4): $n children" [ "$n" -le 4 ]
    check "some idle connections were held" [ "$n" -ge 1 ]
    e2e_run owping_under_flood 0 "$OWPING" -c 20 -i 0.01 "127.0.0.1:$owampd_port"
    verdict "owping from 127.0.0.1 succeeds while 127.0.0.2 floods"
    # Phase 2: more addresses: the total is bounded too.
    idle 127.0.0.3 40 3
    idle 127.0.0.4 40 3
    sleep 1
    n=$(children)
    echo "    120 idle connections from 3 addresses: $n children, $(children_kb) kB RSS"
    check "idle connections in all are bounded (maxsetupsessions 6): $n children" [ "$n" -le 6 ]
    # setuptimeout 2: all dropped well before the controltimeout (1800 s).
    e2e_poll 40 0.1 sh -c "[ \$(ps -o pid= --ppid $master | wc -l) -eq 0 ]"
    verdict "idle connections are dropped after setuptimeout"
    has "the refusal names the address and the limit" "$work/daemon.log" \
        'Connection from 127.0.0.2 refused: 4 connections from this address are in set-up (maxsetupperaddr 4)'
    has "the dropped set-up is logged, naming the peer" "$work/daemon.log" \
        'set-up not complete within 2 s (setuptimeout): 127.0.0.2:'
    check "no error-level 'terminated abnormally' for idle clients" \
        sh -c "! grep -q 'terminated abnormally' '$work/daemon.log'"
else
    echo "skip - idle connection bounds (127.0.0.2-4 not usable on loopback)"
fi

# ---- owping -i 0 under a bandwidth limit: charged 0, as the reference
e2e_run owping_i0 0 "$OWPING" -c 5 -i 0 "127.0.0.1:$owampd_port"
verdict "owping -i 0 is accepted by a class with a bandwidth limit"

# ---- SIGTERM during a test: everything gone within ~2 s
"$OWPING" -c 400 -i 0.05 "127.0.0.1:$owampd_port" >"$work/long.out" 2>"$work/long.err" &
ping_pid=$!
e2e_track "$ping_pid"
e2e_poll 50 0.1 sh -c "[ \$(ps -o pid= --ppid $master | wc -l) -ge 1 ]"
sleep 1
kids=$(ps -o pid= --ppid "$master" | tr '\n' ' ')
t0=$(date +%s.%N)
kill -TERM "$master"
e2e_wait "$master"
t1=$(date +%s.%N)
took=$(echo "$t1 $t0" | awk '{printf "%.2f", $1 - $2}')
check "SIGTERM during a test: the master exits within 2 s (took $took s)" \
    awk "BEGIN {exit !($took < 2.0)}"
alive=
for k in $kids; do kill -0 "$k" 2>/dev/null && alive="$alive $k"; done
check "SIGTERM during a test: no child left" [ -z "$alive" ]
check "no brute force needed" sh -c "! grep -q 'Time for brute force' '$work/daemon.log'"
e2e_wait "$ping_pid"
check "owping ends cleanly after the server stopped the test" [ $? -eq 0 ]

e2e_finish
