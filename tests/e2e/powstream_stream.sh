#!/bin/sh
# powstream_stream.sh - powstream against our owampd on 127.0.0.1 with
# -c 200 -i 0.01 -N 50 -L 1 for several sessions (programs.md §8), then SIGTERM:
#  - files appear with START_END names (20-digit 32.32 times), -p prints them;
#  - every .owp parses (owstats) and every .sum equals owstats -M of its .owp;
#  - sub-session .sum files chain from the session START to its END, are
#    preliminary (SESSION_FINISHED 0) and hold 50 packets each;
#  - consecutive sessions abut: END of one = START of the next, seqs 0..199
#    each exactly once, and the send times across every boundary follow the
#    schedule (no hole, no overlap).
#
# Environment (set by the harness): top_builddir, top_srcdir.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need "$OWAMPD" "$POWSTREAM" "$OWSTATS"
e2e_init

e2e_owampd_conf
mkdir -p "$work/out"
e2e_owampd_up 127.0.0.1 "$work/owampd.log" "$work/var" -c "$work/conf" -d "$work/data"
port=$owampd_port

# -N must divide -c.
if "$POWSTREAM" -c 200 -N 30 -d "$work/out" "127.0.0.1:$port" 2>"$work/n.err"; then
    fail "-N 30 with -c 200 accepted"
elif grep -q 'Number of summary packets (-N 30) must be a divisor of the number of session packets (-c 200).' "$work/n.err"; then
    pass "-N not dividing -c: clear error, exit 1"
else
    fail "-N error message: $(cat "$work/n.err")"
fi

# Sessions of about 2 s after the 10 s start allowance: wait for 4 complete sessions.
"$POWSTREAM" -p -c 200 -i 0.01 -N 50 -L 1 -I 1 -d "$work/out" "127.0.0.1:$port" \
    >"$work/pow.out" 2>"$work/pow.err" &
pow_pid=$!
e2e_track "$pow_pid"
owp_at_least() { [ "$(ls "$work/out" | grep -c '\.owp$')" -ge "$1" ]; }
e2e_poll 60 1 owp_at_least 4
e2e_stop "$pow_pid"
verdict "SIGTERM: exit 0"
grep -q 'SIGTERM/SIGINT Caught: Exiting.' "$work/pow.err" && pass "SIGTERM logged" ||
    fail "SIGTERM not logged"

cd "$work/out" || exit 1
owps=$(ls | grep '\.owp$' | sort)
nowp=$(echo "$owps" | grep -c .)
[ "$nowp" -ge 4 ] && pass "$nowp session files" || fail "only $nowp session files"
bad=$(ls | grep -v -E '^[0-9]{20}_[0-9]{20}\.(owp|sum)$')
[ -z "$bad" ] && pass "file names are START_END.owp/.sum" || fail "unexpected files: $bad"
ls -a | grep -q '\.i$' && fail "temporary .i files left" || pass "no temporary files left"

# -p printed every file, each once.
printed=$(sed 's,.*/,,' "$work/pow.out" | sort)
present=$(ls | sort)
[ "$printed" = "$present" ] && pass "-p printed each file" || fail "-p output differs from the files"

# Every .owp parses and its .sum is owstats -M of it.
sumok=1
for f in $owps; do
    b=${f%.owp}
    if ! "$OWSTATS" -M "$f" >"$work/m.txt" 2>/dev/null; then sumok=0; echo "  $f does not parse"; continue; fi
    cmp -s "$work/m.txt" "$b.sum" || { sumok=0; echo "  $b.sum differs from owstats -M"; }
done
[ $sumok = 1 ] && pass ".owp files parse, .sum = owstats -M" || fail ".sum files"

# Sessions abut: END of one = START of the next.
prev_end=
abut=1
for f in $owps; do
    b=${f%.owp}
    s=${b%_*}
    e=${b#*_}
    [ -n "$prev_end" ] && [ "$prev_end" != "$s" ] && { abut=0; echo "  $prev_end != $s"; }
    prev_end=$e
done
[ $abut = 1 ] && pass "session names abut" || fail "session names do not abut"

# All but the last (stopped) session: 200 records, seqs 0..199 once, none lost on loopback.
complete=$(echo "$owps" | sed '$d')
seqok=1
for f in $complete; do
    "$OWSTATS" -R "$f" 2>/dev/null | awk '{print $1}' | sort -n | uniq >"$work/seqs"
    [ "$(wc -l <"$work/seqs")" = 200 ] && [ "$(head -1 "$work/seqs")" = 0 ] &&
        [ "$(tail -1 "$work/seqs")" = 199 ] || { seqok=0; echo "  $f: seqs not 0..199"; }
    grep -q '^SESSION_FINISHED	1$' "${f%.owp}.sum" || { seqok=0; echo "  $f not finished"; }
done
[ $seqok = 1 ] && pass "complete sessions hold seqs 0..199 once" || fail "sequence numbers"

# Send times across each boundary: the last packet of a session is due at its
# END (the name), the first of the next one exponential(0.01 s) later. A
# sender never sends early, so the next session's first send is strictly
# after the previous END, and within the 1 s loss timeout (a hole between
# sessions would be seconds long; an overlap would be before END). The
# previous session's last packet itself may leave a little late on a loaded
# machine, so its actual send time is held to the same bound, not to order.
bound=1
prev_end=
for f in $owps; do
    b=${f%.owp}
    first=$("$OWSTATS" -R "$f" 2>/dev/null | awk '$1 == 0 {print $2}')
    last=$("$OWSTATS" -R "$f" 2>/dev/null | sort -n | tail -1 | awk '{print $2}')
    if [ -n "$prev_end" ]; then
        awk -v a="$prev_end" -v b="$first" 'BEGIN { d = (b - a) / 4294967296; exit !(d > 0 && d < 1.0) }' ||
            { bound=0; echo "  boundary before $f: END $prev_end -> first send $first"; }
    fi
    end=${b#*_}
    [ "$f" = "$(echo "$owps" | tail -1)" ] ||
        awk -v a="$end" -v b="$last" 'BEGIN { d = (b - a) / 4294967296; exit !(d > -1e-4 && d < 1.0) }' ||
        { bound=0; echo "  $f: last send $last is not at its END $end"; }
    prev_end=$end
done
[ $bound = 1 ] && pass "send times continue across session boundaries" || fail "boundary send times"

# Sub-sessions: 4 per complete session, chained from START to END, preliminary, 50 packets.
subok=1
for f in $complete; do
    b=${f%.owp}
    s=${b%_*}
    e=${b#*_}
    cur=$s
    for k in 1 2 3 4; do
        sub=$(ls | grep "^${cur}_.*\.sum$" | grep -v "^$b.sum$" | head -1)
        [ -n "$sub" ] || { subok=0; echo "  $b: sub-session $k missing"; break; }
        grep -q '^SESSION_FINISHED	0$' "$sub" && grep -q '^SAMPLE_PACKET_COUNT	50$' "$sub" &&
            grep -q '^SENT	50$' "$sub" || { subok=0; echo "  $sub content"; }
        cur=${sub#*_}
        cur=${cur%.sum}
    done
    [ "$cur" = "$e" ] || { subok=0; echo "  $b: sub-sessions end at $cur"; }
done
[ $subok = 1 ] && pass "sub-session summaries chain START..END, preliminary, 50 packets" ||
    fail "sub-session summaries"

# A sub-session summary is owstats -M -N 50 of its block (bar SESSION_FINISHED).
f=$(echo "$complete" | head -1)
"$OWSTATS" -M -N 50 "$f" 2>/dev/null | awk '/^SUMMARY/{n++} n==2' |
    sed 's/^SESSION_FINISHED	1$/SESSION_FINISHED	0/' >"$work/block2"
s2=$(ls | grep "^$(echo "$f" | cut -c1-20)_" | grep '\.sum$' | sort | head -1)
s2=${s2#*_}
s2=$(ls | grep "^${s2%.sum}_.*\.sum$" | head -1)
cmp -s "$work/block2" "$s2" && pass "sub-session .sum = owstats -M -N 50 block" ||
    fail "sub-session .sum differs from owstats -M -N 50"

# -v levels (programs.md §8.1): only -v -v prints "Starting session [START - END] v=N",
# START and END as in the session's file name. One short session each, side by side.
cd "$work" || exit 1
for v in v vv; do
    mkdir -p "$work/out_$v"
    "$POWSTREAM" -$v -p -c 20 -i 0.01 -L 1 -I 1 -d "$work/out_$v" "127.0.0.1:$port" \
        >"$work/pow_$v.out" 2>"$work/pow_$v.err" &
    eval "pid_$v=\$!"
    e2e_track "$!"
done
printed_owp() { grep -q '\.owp$' "$work/pow_v.out" && grep -q '\.owp$' "$work/pow_vv.out"; }
e2e_poll 60 1 printed_owp
e2e_stop "$pid_v"
e2e_stop "$pid_vv"
grep -q 'Starting session' "$work/pow_v.err" && fail "-v: printed a Starting session line" ||
    pass "-v: no Starting session line"
first=$(grep '\.owp$' "$work/pow_vv.out" | head -1 | sed 's,.*/,,; s,\.owp$,,')
want="Starting session \[${first%_*} - ${first#*_}\] v=2\$"
if [ -n "$first" ] && grep -q "$want" "$work/pow_vv.err"; then
    pass "-v -v: Starting session [START - END] v=2 for $first"
else
    fail "-v -v: no 'Starting session [START - END] v=2' line for '$first'"
    show "$work/pow_vv.err"
fi

# A server that refuses the connection: the reference's wording (programs.md §8.5).
closed=127.0.0.1:$(e2e_free_port)
mkdir -p "$work/out_closed"
"$POWSTREAM" -I 1 -d "$work/out_closed" "$closed" 2>"$work/closed.err" &
pid_closed=$!
e2e_track "$pid_closed"
refused() {
    grep -q "OWPControlOpen($closed): Couldn't open 'control' connection to server: Connection refused\$" \
        "$work/closed.err"
}
e2e_poll 20 0.5 refused
verdict "refused connection: OWPControlOpen(SERVER): Couldn't open 'control' connection to server: ..."
e2e_stop "$pid_closed"

e2e_finish
