#!/bin/sh
# powstream_faults.sh - powstream keeps measuring through a server crash:
# powstream -c 100 -i 0.01 -L 1 -I 1 against our owampd on 127.0.0.1; after
# a few sessions the whole owampd process group is killed (SIGKILL: a crash,
# connections reset), left down for 4 s, then restarted on the same port.
# Checks:
#  - powstream logs the failure and resumes: complete, loss-free sessions
#    appear after the restart;
#  - the time line has no hole: every .owp's START is the previous one's END;
#  - the outage is visible as loss: the lost packets add up to at least the
#    down time at 100 packets/s (less a margin), in files marked unfinished;
#  - files written before the crash are byte-for-byte unchanged;
#  - every .sum still equals owstats -M of its .owp.
#
# Environment (set by the harness): top_builddir, top_srcdir.

top_builddir=${top_builddir:-.}
OWAMPD=$top_builddir/node/owampd
POWSTREAM=$top_builddir/node/powstream
OWSTATS=$top_builddir/node/owstats
for prog in "$OWAMPD" "$POWSTREAM" "$OWSTATS"; do
    [ -x "$prog" ] || { echo "SKIP: $prog not built"; exit 77; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/powstream_faults.XXXXXX") || exit 1
daemon_pid=
pow_pid=
kill_daemon() {
    # owampd -Z leads its own process group: take the children with it.
    [ -n "$daemon_pid" ] && kill -9 "-$daemon_pid" 2>/dev/null
    [ -n "$daemon_pid" ] && wait "$daemon_pid" 2>/dev/null
    daemon_pid=
}
cleanup() {
    [ -n "$pow_pid" ] && kill "$pow_pid" 2>/dev/null && wait "$pow_pid" 2>/dev/null
    kill_daemon
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }

mkdir -p "$work/conf" "$work/data" "$work/var" "$work/out"
: >"$work/conf/owamp-server.conf"
printf 'limit root with delete_on_fetch=off\nassign default root\n' >"$work/conf/owamp-server.limits"
rootflag=
[ "$(id -u)" = 0 ] && rootflag=-f

start_daemon() {
    "$OWAMPD" -Z $rootflag -c "$work/conf" -d "$work/data" -R "$work/var" \
        -S "127.0.0.1:$1" >>"$work/owampd.log" 2>&1 &
    daemon_pid=$!
    sleep 1
    kill -0 "$daemon_pid" 2>/dev/null || { daemon_pid=; return 1; }
}

port=
try=0
while [ $try -lt 10 ]; do
    candidate=$((20000 + ($$ * 11 + try * 137) % 30000))
    if start_daemon "$candidate"; then port=$candidate; break; fi
    try=$((try + 1))
done
[ -n "$port" ] || { echo "FAIL: owampd did not start"; cat "$work/owampd.log"; exit 1; }

count_owp() { ls "$work/out" | grep -c '\.owp$'; }
# Loss-free, finished sessions among the files after the first N (a loaded CI
# machine may need a few sessions after the restart before one runs clean).
clean_after() { # clean_after N
    n=0
    for f in $(ls "$work/out" | grep '\.owp$' | sort | tail -n +$(($1 + 1))); do
        sum="$work/out/${f%.owp}.sum"
        grep -q '^LOST	0$' "$sum" 2>/dev/null && grep -q '^SESSION_FINISHED	1$' "$sum" && n=$((n + 1))
    done
    echo $n
}
wait_owp() { # wait_owp N MAXSECONDS
    i=0
    while [ $i -lt "$2" ]; do
        [ "$(count_owp)" -ge "$1" ] && return 0
        sleep 1
        i=$((i + 1))
    done
    return 1
}

"$POWSTREAM" -p -c 100 -i 0.01 -L 1 -I 1 -d "$work/out" "127.0.0.1:$port" \
    >"$work/pow.out" 2>"$work/pow.err" &
pow_pid=$!

wait_owp 3 40 && pass "3 sessions before the crash" || fail "no sessions before the crash"
(cd "$work/out" && md5sum -- * >"$work/before.md5")
before=$(count_owp)

kill_daemon
sleep 4
start_daemon "$port" && pass "owampd restarted on the same port" || fail "owampd restart"
restarted_at=$(date +%s)

# After the restart: sessions resume (a few seconds of set-up, then 1 s each).
wait_owp $((before + 4)) 40 && pass "sessions resume after the restart" ||
    fail "no sessions after the restart ($(count_owp) files)"
i=0
while [ "$(clean_after "$before")" -lt 2 ] && [ $i -lt 60 ]; do
    sleep 1
    i=$((i + 1))
done
kill -TERM "$pow_pid"
wait "$pow_pid"
rc=$?
pow_pid=
[ $rc = 0 ] && pass "SIGTERM: exit 0" || fail "SIGTERM: exit $rc"

grep -q -i -E 'OWPControlOpen|Connection refused|ended early|could not be set up' "$work/pow.err" &&
    pass "the outage is logged" || fail "nothing logged about the outage"

(cd "$work/out" && md5sum -c --quiet "$work/before.md5" >/dev/null 2>&1) &&
    pass "files written before the crash are unchanged" || fail "earlier files changed"

cd "$work/out" || exit 1
owps=$(ls | grep '\.owp$' | sort)
prev_end=
abut=1
for f in $owps; do
    b=${f%.owp}
    s=${b%_*}
    [ -n "$prev_end" ] && [ "$prev_end" != "$s" ] && { abut=0; echo "  hole: $prev_end -> $s"; }
    prev_end=${b#*_}
done
[ $abut = 1 ] && pass "no hole in the time line across the outage" || fail "hole in the time line"

sumok=1
for f in $owps; do
    "$OWSTATS" -M "$f" 2>/dev/null | cmp -s - "${f%.owp}.sum" || { sumok=0; echo "  ${f%.owp}.sum"; }
done
[ $sumok = 1 ] && pass ".sum = owstats -M for every session" || fail ".sum files"

# Loss: the 4+ s outage at 100 packets/s is at least ~300 lost packets, in
# sessions marked unfinished (SESSION_FINISHED 0).
lost=0
unfinished=0
for f in $owps; do
    sum=${f%.owp}.sum
    l=$(awk -F'\t' '$1 == "LOST" {print $2}' "$sum")
    lost=$((lost + l))
    if [ "$l" -gt 0 ] && grep -q '^SESSION_FINISHED	0$' "$sum"; then unfinished=$((unfinished + 1)); fi
done
[ "$lost" -ge 300 ] && pass "outage recorded as $lost lost packets" || fail "only $lost packets lost"
[ "$unfinished" -ge 1 ] && pass "$unfinished sessions with loss marked unfinished" ||
    fail "no unfinished session"

# Complete sessions: every one before the crash, and some after the restart, lose nothing.
clean=$(clean_after "$before")
[ "$clean" -ge 2 ] && pass "$clean loss-free sessions after the restart" ||
    fail "no loss-free sessions after the restart"

echo "powstream_faults: $passed passed, $failed failed"
[ $failed = 0 ]
