#!/bin/sh
# owfetch_owup.sh - the built owfetch and owup against the built owampd on
# 127.0.0.1 (programs.md §7): owfetch of a session owping ran with -t gives a
# file that owstats reads, that matches the server's stored copy except
# oset_skips (bytes 24-31), and whose report is owstats' report; unknown SIDs
# fail their pair with the reference's messages but exit 0; -Q/-M/-R; one
# connection for several pairs; operand and connection errors; owup's
# "Server Up Since" line against the daemon's info file.
#
# Environment (set by the harness): top_builddir, top_srcdir.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need "$OWAMPD" "$OWPING" "$OWSTATS" "$OWFETCH" "$OWUP"
e2e_init

# ------------------------------------------------------------------ owampd
e2e_owampd_conf AEO
e2e_owampd_up 127.0.0.1 "$work/owampd.log" "$work/var" -c "$work/conf" -d "$work/data"
server=127.0.0.1:$owampd_port
echo "owampd pid $owampd_pid on $server"

# A port nothing listens on (a free one at the time of asking, so the
# "refused" checks below could only turn weaker, never wrong).
closed=127.0.0.1:$(e2e_free_port)

# ------------------------------------------------------------------ owup
if e2e_run owup 0 env TZ=UTC "$OWUP" "$server"; then
    line=$(grep '^Server Up Since:' "$work/owup.err")
    if ! printf '%s\n' "$line" |
        grep -Eq '^Server Up Since: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}UTC$'; then
        fail "owup: no 'Server Up Since: YYYY-MM-DDTHH:MM:SS.mmmUTC' line"
        show "$work/owup.err"
    elif [ -s "$work/owup.out" ]; then
        fail "owup printed on stdout"
    else
        pass "owup: Server Up Since line on stderr, exit 0"
    fi
    # The daemon's start time (owamp-server.info START=, 32.32 NTP) to the second.
    start=$(sed -n 's/^START=//p' "$work/var/owamp-server.info")
    secs=$(awk -v s="$start" 'BEGIN { printf "%d", s / 4294967296 - 2208988800 }')
    want=$(TZ=UTC date -d "@$secs" '+%Y-%m-%dT%H:%M:%S' 2>/dev/null)
    got=$(printf '%s\n' "$line" | sed 's/^Server Up Since: \(.\{19\}\).*/\1/')
    if [ -z "$want" ]; then
        echo "SKIP: date -d unavailable; owup time not compared"
    elif [ "$got" = "$want" ]; then
        pass "owup: the daemon's start time ($want)"
    else
        fail "owup: $got, daemon started $want (START=$start)"
    fi
else
    fail "owup SERVER"
fi
if e2e_run owup_tz 0 env TZ=EST5EDT "$OWUP" "$server" &&
    grep -Eq '^Server Up Since: .*\.[0-9]{3}E[SD]T$' "$work/owup_tz.err"; then
    pass "owup: local time zone abbreviation (TZ=EST5EDT)"
else
    fail "owup: TZ=EST5EDT not shown as EST/EDT"
    show "$work/owup_tz.err"
fi
e2e_run owup_auth 0 "$OWUP" -A A -u alice -k "$work/conf/owamp-server.pfs" "$server"
    verdict "owup -A A -u alice: exit 0"
e2e_run owup_refused 1 "$OWUP" "$closed" &&
    grep -q "Unable to open control connection to $closed\.\$" "$work/owup_refused.err"
    verdict "owup: unreachable server, exit 1 with the reference's message"
e2e_run owup_noop 1 "$OWUP" && grep -q '^usage: owup' "$work/owup_noop.err"
    verdict "owup without operand: usage, exit 1"
e2e_run owup_help 0 "$OWUP" -h && grep -q '^usage: owup \[arguments\] servaddr$' "$work/owup_help.out" &&
    grep -q '^Version: ' "$work/owup_help.out"
    verdict "owup -h: usage on stdout, exit 0"

# ------------------------------------------------------------------ a session to fetch
if ! e2e_run ping 0 "$OWPING" -t -c 20 -i 0.01 -L 1 "$server"; then
    fail "owping -t for a session to fetch"
    e2e_finish
fi
sid=$(sed -n 's/^SID:	\([0-9a-f]\{32\}\)$/\1/p' "$work/ping.out" | head -n 1)
stored=$work/data/catalog/$sid.owp
if [ -z "$sid" ] || [ ! -f "$stored" ]; then
    fail "owping -t: no SID in the report or no $stored"
    show "$work/ping.out"
    e2e_finish
fi
echo "session $sid"

# owfetch: exit 0, a file owstats reads, the owstats report on stdout.
if e2e_run fetch 0 "$OWFETCH" "$server" "$sid" "$work/fetched.owp"; then
    if "$OWSTATS" "$work/fetched.owp" >"$work/owstats.out" 2>"$work/owstats.err" &&
        grep -q '^20 sent, 0 lost (0.000%), 0 duplicates$' "$work/owstats.out"; then
        pass "owfetch: owstats reads the saved file (20 sent, 0 lost)"
    else
        fail "owstats on the fetched file"
        show "$work/owstats.out" "$work/owstats.err"
    fi
    if cmp -s "$work/fetch.out" "$work/owstats.out"; then
        pass "owfetch: its report is owstats' report of the saved file"
    else
        fail "owfetch report differs from owstats'"
        diff "$work/fetch.out" "$work/owstats.out" | show
    fi
    if grep -q "^SID:	$sid\$" "$work/fetch.out" &&
        grep -Eq '^--- owping statistics from \[[^]]+\]:[0-9]+ to \[[^]]+\]:[0-9]+ ---$' \
            "$work/fetch.out"; then
        pass "owfetch: report block with the SID"
    else
        fail "owfetch: no report block with SID $sid"
        show "$work/fetch.out"
    fi
    # Same bytes as the server's copy except oset_skips (bytes 24-31, i.e.
    # cmp's 1-based offsets 25-32): the writers place the skips differently.
    size_a=$(wc -c <"$work/fetched.owp" | tr -d ' ')
    size_b=$(wc -c <"$stored" | tr -d ' ')
    other=$(cmp -l "$work/fetched.owp" "$stored" 2>/dev/null | awk '$1 < 25 || $1 > 32' | wc -l)
    if [ "$size_a" = "$size_b" ] && [ "$other" -eq 0 ]; then
        pass "owfetch: the server's stored copy, apart from oset_skips"
    else
        fail "owfetch: $size_a vs $size_b bytes, $other bytes differ outside 24-31"
        cmp -l "$work/fetched.owp" "$stored" | head -n 10 | show
    fi
else
    fail "owfetch SERVER SID FILE"
fi

# Several pairs over one connection; the unknown SID fails its pair only.
unknown=00000000000000000000000000000001
if e2e_run pairs 0 "$OWFETCH" "$server" "$unknown" "$work/bad.owp" "$sid" "$work/good.owp"; then
    if grep -q '^owfetch: owp_fetch_sid:Server denied request for to session data - is your clock synchronized via NTP properly?$' "$work/pairs.err" &&
        grep -q "^owfetch: Unable to fetch sid($unknown)\$" "$work/pairs.err"; then
        pass "owfetch: unknown SID gets the reference's two messages, exit 0"
    else
        fail "owfetch: unknown SID messages"
        show "$work/pairs.err"
    fi
    # programs.md §7.1: the denial comes first, on the line just before.
    grep -A1 '^owfetch: owp_fetch_sid:Server denied request ' "$work/pairs.err" | sed -n 2p |
        grep -q "^owfetch: Unable to fetch sid($unknown)\$"
    verdict "owfetch: 'Server denied request' immediately before 'Unable to fetch sid'"
    [ ! -e "$work/bad.owp" ] && pass "owfetch: a failed fetch removes its savefile" ||
        fail "owfetch: $work/bad.owp left behind"
    if cmp -s "$work/good.owp" "$work/fetched.owp" &&
        [ "$(grep -c '^--- owping statistics' "$work/pairs.out")" = 1 ]; then
        pass "owfetch: the next pair is still fetched and reported"
    else
        fail "owfetch: second pair after a failed one"
        show "$work/pairs.out"
    fi
else
    fail "owfetch with an unknown and a known SID"
fi

# Output options.
e2e_run quiet 0 "$OWFETCH" -Q "$server" "$sid" "$work/q.owp" && [ ! -s "$work/quiet.out" ] &&
    cmp -s "$work/q.owp" "$work/fetched.owp"
    verdict "owfetch -Q: file saved, nothing printed"
if e2e_run machine 0 "$OWFETCH" -M "$server" "$sid" "$work/m.owp" &&
    grep -q "^SID	$sid\$" "$work/machine.out" && grep -q '^SENT	20$' "$work/machine.out"; then
    pass "owfetch -M: machine-readable summary"
else
    fail "owfetch -M"
    show "$work/machine.out"
fi
if e2e_run raw 0 "$OWFETCH" -R "$server" "$sid" "$work/r.owp" &&
    [ "$(awk 'NF == 8' "$work/raw.out" | wc -l | tr -d ' ')" = 20 ] &&
    [ "$(wc -l <"$work/raw.out" | tr -d ' ')" = 20 ]; then
    pass "owfetch -R: 20 raw records"
else
    fail "owfetch -R"
    show "$work/raw.out"
fi
if e2e_run authfetch 0 "$OWFETCH" -A E -u alice -k "$work/conf/owamp-server.pfs" -Q \
    "$server" "$sid" "$work/e.owp" && cmp -s "$work/e.owp" "$work/fetched.owp"; then
    pass "owfetch -A E -u alice: same file in encrypted mode"
else
    fail "owfetch in encrypted mode"
fi

# Operands and connection errors.
e2e_run even 1 "$OWFETCH" "$server" "$sid" && grep -q '^usage: owfetch' "$work/even.err"
    verdict "owfetch with an even operand count: usage, exit 1"
e2e_run one 1 "$OWFETCH" "$server"
    verdict "owfetch with only servhost: exit 1"
e2e_run fetch_help 0 "$OWFETCH" -h &&
    grep -q '^usage: owfetch \[arguments\] servaddr \[SID savefile\]+$' "$work/fetch_help.out"
    verdict "owfetch -h: usage on stdout, exit 0"
e2e_run fetch_badopt 1 "$OWFETCH" -b 0 "$server" "$sid" "$work/x.owp" &&
    grep -q "Invalid '-b' value. Positive float expected" "$work/fetch_badopt.err"
    verdict "owfetch -b 0: usage, exit 1"
e2e_run fetch_refused 1 "$OWFETCH" "$closed" "$sid" "$work/x.owp" &&
    grep -q "^owfetch: Unable to open control connection to $closed\.\$" \
        "$work/fetch_refused.err"
    verdict "owfetch: unreachable server, exit 1"

e2e_finish
