#!/bin/sh
# owampd_concurrent.sh - one owampd serving many owping clients at once, on
# loopback: CLIENTS (default 150) `owping -c 100 -i 0.01 -M` started
# together, both directions. Every client must exit 0, every session must
# finish with all 100 packets sent and none lost or duplicated, every
# receive session must be catalogued; owampd must still answer afterwards,
# log no error and keep no child. A CI-sized version of
# bench/bench_concurrent.sh (which goes to 1000 and prints figures).
#
# Deterministic on a loaded 2-core machine: owampd's listen queue holds all
# the clients at once, a client that gets its CPU late starts its test late
# (owping sets the start time after its handshake, 1 s + 3 RTT ahead)
# instead of losing packets, and the loss timeout (RTT + 2 s) covers the
# scheduling delays of a busy machine. The 150 clients need about 3 s of CPU
# in all; the script takes 5-15 s.
#
# Environment (set by the harness): top_builddir, top_srcdir; CLIENTS
# (default 150, 60 under ASan).

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need "$OWAMPD" "$OWPING" python3
# Under AddressSanitizer (scripts/check sets ASAN_OPTIONS for that build) every
# program needs 2-3 times the CPU: fewer clients give the same load.
if [ -n "${ASAN_OPTIONS:-}" ]; then CLIENTS=${CLIENTS:-60}; fi
CLIENTS=${CLIENTS:-150}

# A libtool wrapper is a bash script costing ~13 ms of CPU per start, as
# much as a whole test: run the real binaries when they are there.
if [ -x "$top_builddir/node/tools/.libs/owping" ] && [ -x "$top_builddir/node/owampd/.libs/owampd" ]; then
    OWAMPD=$top_builddir/node/owampd/.libs/owampd
    OWPING=$top_builddir/node/tools/.libs/owping
    LD_LIBRARY_PATH=$top_builddir/libowamp/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export LD_LIBRARY_PATH
fi
# Each client holds three sockets; owampd's master one channel per child.
ulimit -n 4096 2>/dev/null

e2e_init
e2e_owampd_conf
printf 'testports 10000-29999\n' >>"$work/conf/owamp-server.conf"
# Every client comes from 127.0.0.1 at once: lift the per-address bound on
# connections in set-up (default 8, for a public server); the total bound
# (maxsetupsessions 64) stays and only queues them.
printf 'maxsetupperaddr 0\n' >>"$work/conf/owamp-server.conf"
e2e_owampd_up 127.0.0.1 "$work/owampd.log" "$work/var" -c "$work/conf" -d "$work/data"
server=127.0.0.1:$owampd_port
echo "owampd pid $owampd_pid on $server"

answers() { # a new connection gets the Server-Greeting
    python3 -c "import socket
s = socket.create_connection(('127.0.0.1', $owampd_port), 5)
s.settimeout(5)
assert len(s.recv(64)) > 0" 2>/dev/null
}

# ------------------------------------------------------------------ all clients at once
# Each with its own 30-port range for its test sockets.
mkdir -p "$work/out"
start=$(date +%s)
clients=
i=0
while [ $i -lt "$CLIENTS" ]; do
    low=$((30000 + i * 30))
    "$OWPING" -c 100 -i 0.01 -M -P "$low-$((low + 29))" "$server" \
        >"$work/out/$i" 2>"$work/out/$i.err" &
    e2e_track $!
    clients="$clients $!"
    i=$((i + 1))
done
exited0=0
for p in $clients; do
    e2e_wait "$p" && exited0=$((exited0 + 1))
done
echo "# $CLIENTS clients took $(($(date +%s) - start)) s"

check "all $CLIENTS clients exit 0 (got $exited0)" [ "$exited0" -eq "$CLIENTS" ]
if [ "$exited0" -ne "$CLIENTS" ]; then
    cat "$work"/out/*.err | grep -v 'clock is not synchronized' | sort | uniq -c | sort -rn |
        head -5
fi
# shellcheck disable=SC2046 # five numbers
set -- $(cat "$work"/out/[0-9]* | awk '
    $1 == "SESSION_FINISHED" && $2 == 1 { fin++ }
    $1 == "SESSION_PACKET_COUNT" { want += $2 }
    $1 == "SENT" { sent += $2 }
    $1 == "LOST" { lost += $2 }
    $1 == "DUPS" { dups += $2 }
    END { print fin + 0, want + 0, sent + 0, lost + 0, dups + 0 }')
echo "# sessions finished $1, packets scheduled $2, sent $3, lost $4, duplicated $5"
check "all $((2 * CLIENTS)) sessions finish" [ "$1" -eq $((2 * CLIENTS)) ]
check "every packet is sent ($3 of $((200 * CLIENTS)))" [ "$3" -eq $((200 * CLIENTS)) ]
check "no packet is lost ($4)" [ "$4" -eq 0 ]
check "no packet is duplicated ($5)" [ "$5" -eq 0 ]

# ------------------------------------------------------------------ the daemon afterwards
stored=$(find "$work/data/catalog" -name '*.owp' | wc -l)
check "owampd catalogued all $CLIENTS receive sessions ($stored)" [ "$stored" -eq "$CLIENTS" ]
check "owampd still answers" answers
if grep -qi 'error\|abnormally\|denied' "$work/owampd.log"; then
    fail "owampd logged an error"
    grep -i 'error\|abnormally\|denied' "$work/owampd.log" | sort | uniq -c | head -5
else
    pass "owampd logged no error"
fi
no_children() { [ -z "$(pgrep -P "$owampd_pid")" ]; }
check "owampd keeps no child once the connections closed" e2e_poll 50 0.1 no_children
e2e_stop "$owampd_pid"
check "owampd exits 0 on SIGTERM" [ $? -eq 0 ]

e2e_finish
