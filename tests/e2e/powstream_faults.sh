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

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need "$OWAMPD" "$POWSTREAM" "$OWSTATS"
e2e_init

kill_daemon() {
    # owampd -Z leads its own process group: take the children with it.
    kill -9 "-$owampd_pid" 2>/dev/null
    e2e_wait "$owampd_pid" 2>/dev/null
}
start_daemon() { # PORT
    e2e_owampd_start "127.0.0.1:$1" "$work/owampd.log" "$work/var" -c "$work/conf" -d "$work/data"
}

e2e_owampd_conf
mkdir -p "$work/out"
e2e_owampd_up 127.0.0.1 "$work/owampd.log" "$work/var" -c "$work/conf" -d "$work/data"
port=$owampd_port

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
    e2e_poll "$2" 1 owp_at_least "$1"
}
owp_at_least() { [ "$(count_owp)" -ge "$1" ]; }
clean_at_least() { [ "$(clean_after "$before")" -ge "$1" ]; }

"$POWSTREAM" -p -c 100 -i 0.01 -L 1 -I 1 -d "$work/out" "127.0.0.1:$port" \
    >"$work/pow.out" 2>"$work/pow.err" &
pow_pid=$!
e2e_track "$pow_pid"

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
e2e_poll 60 1 clean_at_least 2
# Sessions finished before the stop; the stop itself ends the running session at
# its last measured packet (as the reference does), so it may leave a gap.
ls "$work/out" | grep '\.owp$' | sort >"$work/before-stop"
e2e_stop "$pow_pid"
verdict "SIGTERM: exit 0"

grep -q -i -E 'OWPControlOpen|Connection refused|ended early|could not be set up' "$work/pow.err" &&
    pass "the outage is logged" || fail "nothing logged about the outage"

(cd "$work/out" && md5sum -c --quiet "$work/before.md5" >/dev/null 2>&1) &&
    pass "files written before the crash are unchanged" || fail "earlier files changed"

cd "$work/out" || exit 1
owps=$(ls | grep '\.owp$' | sort)
prev_end=
abut=1
for f in $(cat "$work/before-stop"); do
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

e2e_finish
