#!/bin/sh
# powstream_faults.sh - unmeasured is not lost: powstream -c 100 -i 0.01 -L 1
# (1 s sessions, default -I) against our owampd on 127.0.0.1; after a few
# sessions the whole owampd process group is SIGKILLed (a crash: connections
# reset), left down for 15 s, then restarted on the same port.
# Checks:
#  - lost packets only in the session in flight at the kill (and the one
#    before it, still waiting for its Stop-Sessions): a few at most, never
#    the outage's 1500;
#  - no file for the sessions that could not be set up: no .owp/.sum starts
#    or ends inside the outage;
#  - the outage is logged as not measured, with its reason, and the logged
#    intervals and the files chain END to START: the time line is stitched;
#  - measured again within one set-up of the restart (back-off capped at 5 s
#    whatever -I says, plus the set-up lead);
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
# OWAMP timestamp (20-digit 32.32 name field) -> UNIX seconds.
unix_of() { awk -v t="$1" 'BEGIN { printf "%.3f", t / 4294967296 - 2208988800 }'; }
# Is $1 < $2 (decimal seconds)?
before() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

e2e_owampd_conf
mkdir -p "$work/out"
e2e_owampd_up 127.0.0.1 "$work/owampd.log" "$work/var" -c "$work/conf" -d "$work/data"
port=$owampd_port

count_owp() { ls "$work/out" | grep -c '\.owp$'; }
owp_at_least() { [ "$(count_owp)" -ge "$1" ]; }
# Loss-free, finished sessions starting after the restart.
clean_after_restart() {
    n=0
    for f in $(ls "$work/out" | grep '\.owp$'); do
        before "$(unix_of "${f%%_*}")" "$restarted" && continue
        sum="$work/out/${f%.owp}.sum"
        grep -q '^LOST	0$' "$sum" 2>/dev/null && grep -q '^SESSION_FINISHED	1$' "$sum" && n=$((n + 1))
    done
    echo $n
}
clean_at_least() { [ "$(clean_after_restart)" -ge "$1" ]; }

"$POWSTREAM" -p -c 100 -i 0.01 -L 1 -d "$work/out" "127.0.0.1:$port" \
    >"$work/pow.out" 2>"$work/pow.err" &
pow_pid=$!
e2e_track "$pow_pid"

e2e_poll 40 1 owp_at_least 3 && pass "3 sessions before the crash" || fail "no sessions before the crash"
(cd "$work/out" && md5sum -- * >"$work/before.md5")

killed=$(date +%s.%N)
kill_daemon
sleep 15
start_daemon "$port" && pass "owampd restarted on the same port after 15 s" || fail "owampd restart"
restarted=$(date +%s.%N)

e2e_poll 40 1 clean_at_least 2 && pass "loss-free sessions after the restart" ||
    fail "no loss-free sessions after the restart ($(count_owp) files)"
# What was finished before the stop; the stop itself ends the running session at
# its last measured packet (as the reference does), so it may leave a gap.
ls "$work/out" | grep '\.owp$' | sort >"$work/before-stop"
e2e_stop "$pow_pid"
verdict "SIGTERM: exit 0"

has "the outage is logged as not measured, owampd refused" "$work/pow.err" "owampd refused"
(cd "$work/out" && md5sum -c --quiet "$work/before.md5" >/dev/null 2>&1) &&
    pass "files written before the crash are unchanged" || fail "earlier files changed"

cd "$work/out" || exit 1
owps=$(ls | grep '\.owp$' | sort)

# No file for the time the server was down (the kill itself is seen within a
# tick; 1 s of slack for a loaded machine).
inside=0
resumed=
for f in $owps; do
    b=${f%.owp}
    s=$(unix_of "${b%_*}") e=$(unix_of "${b#*_}")
    if before "$killed" "$s" && before "$s" "$restarted"; then inside=$((inside + 1)); echo "  starts in the outage: $f"; fi
    if before "$(awk -v k="$killed" 'BEGIN { printf "%.6f", k + 1 }')" "$e" && before "$e" "$restarted"; then
        inside=$((inside + 1)); echo "  ends in the outage: $f"
    fi
    if ! before "$s" "$restarted" && [ -z "$resumed" ]; then resumed=$s; fi
done
[ $inside = 0 ] && pass "no file for the sessions that could not be set up" ||
    fail "$inside files inside the outage"

# Measured again within one set-up: at most 5 s of back-off, 1 s + 2 RTT of lead.
if [ -n "$resumed" ] && before "$resumed" "$(awk -v r="$restarted" 'BEGIN { printf "%.6f", r + 8 }')"; then
    pass "measured again $(awk -v a="$resumed" -v r="$restarted" 'BEGIN { printf "%.1f", a - r }') s after the restart"
else
    fail "first session after the restart starts at ${resumed:-never} (restart $restarted)"
fi

# Loss: only in a session that was running at the kill, and only a few packets
# (those on their way), not the 1500 of the outage.
lost=0
badloss=0
for f in $owps; do
    b=${f%.owp}
    l=$(awk -F'\t' '$1 == "LOST" {print $2}' "$b.sum")
    [ "$l" -gt 0 ] || continue
    lost=$((lost + l))
    s=$(unix_of "${b%_*}") e=$(unix_of "${b#*_}")
    if before "$killed" "$s" || before "$(awk -v e="$e" 'BEGIN { printf "%.6f", e + 2.5 }')" "$killed"; then
        badloss=$((badloss + 1)); echo "  $l lost in $f, not running at the kill"
    fi
done
[ $badloss = 0 ] && pass "lost packets only in the session in flight at the kill" ||
    fail "loss in $badloss sessions not running at the kill"
[ "$lost" -le 30 ] && pass "$lost packets lost in all (the outage is not loss)" ||
    fail "$lost packets lost"
# A session still sending at the kill is cut (fewer than its 100 packets
# kept) and says so; the kill may also fall between one session's last
# packet and the next one's first, and then no session is cut.
cut=
for f in $owps; do
    b=${f%.owp}
    before "$(unix_of "${b%_*}")" "$restarted" &&
        [ "$(awk -F'\t' '$1 == "SENT" {print $2}' "$b.sum")" -lt 100 ] && cut=$f
done
if [ -n "$cut" ]; then
    has "the session cut at the kill ($cut) says it ended early" "$work/pow.err" "ended early"
else
    pass "no session was sending at the kill (it fell between two sessions)"
fi

# The time line: files and logged unmeasured intervals chain END to START up
# to the stop.
{
    sed -n 's/.*not measured \[\([0-9]\{20\}\) - \([0-9]\{20\}\)\].*/\1 \2/p' "$work/pow.err"
    sed 's/^\([0-9]\{20\}\)_\([0-9]\{20\}\)\.owp$/\1 \2/' "$work/before-stop"
} | sort >"$work/timeline"
nunm=$(grep -c 'not measured \[' "$work/pow.err")
[ "$nunm" -ge 1 ] && pass "$nunm unmeasured intervals logged" || fail "no unmeasured interval logged"
prev_end=
abut=1
while read -r s e; do
    [ -n "$prev_end" ] && [ "$prev_end" != "$s" ] && { abut=0; echo "  hole or overlap: $prev_end -> $s"; }
    prev_end=$e
done <"$work/timeline"
[ $abut = 1 ] && pass "files and unmeasured intervals abut: the time line is stitched" ||
    fail "the time line has a hole"

sumok=1
for f in $owps; do
    "$OWSTATS" -M "$f" 2>/dev/null | cmp -s - "${f%.owp}.sum" || { sumok=0; echo "  ${f%.owp}.sum"; }
done
[ $sumok = 1 ] && pass ".sum = owstats -M for every session" || fail ".sum files"

e2e_finish
