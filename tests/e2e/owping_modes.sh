#!/bin/sh
# owping_modes.sh - the built owping against the built owampd on 127.0.0.1, in
# open, authenticated and encrypted mode (programs.md §5): exit codes, report
# blocks, -M, -R, -F/-T files read back by owstats, refusals, and one SIGINT
# during a test (partial results, exit 0).
#
# Environment (set by the harness): top_builddir, top_srcdir.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need "$OWAMPD" "$OWPING" "$OWSTATS"
e2e_init

# ------------------------------------------------------------------ owampd
e2e_owampd_conf AEO
e2e_owampd_up 127.0.0.1 "$work/owampd.log" "$work/var" -c "$work/conf" -d "$work/data"
server=127.0.0.1:$owampd_port
echo "owampd pid $owampd_pid on $server"

# ------------------------------------------------------------------ helpers

# check_default_report NAME FILE: two blocks, 100 sent 0 lost, sane delays.
check_default_report() {
    name=$1 out=$2
    blocks=$(grep -c '^--- owping statistics from \[.*\]:[0-9]* to \[.*\]:[0-9]* ---$' "$out")
    [ "$blocks" = 2 ] || { fail "$name: $blocks report blocks (want 2)"; return; }
    sent=$(grep -c '^100 sent, 0 lost (0.000%), 0 duplicates$' "$out")
    [ "$sent" = 2 ] || { fail "$name: '100 sent, 0 lost' appears $sent times"; return; }
    grep -q '^Approximately [0-9.]* seconds until results available$' "$out" ||
        { fail "$name: no 'Approximately' line"; return; }
    if ! grep '^one-way delay min/median/max = ' "$out" | awk '
        { split($5, v, "/"); n++
          if ($6 != "ms,") bad = 1
          for (i = 1; i <= 3; i++)
              if (v[i] !~ /^-?[0-9.]+(e[-+][0-9]+)?$/ || v[i] + 0 >= 10) bad = 1
          if (v[1] + 0 > v[3] + 0) bad = 1 }
        END { exit (bad || n != 2) }'; then
        fail "$name: delay line not numbers below 10 ms with min <= max"
        grep '^one-way delay' "$out"
        return
    fi
    pass "$name"
}

# run_owping NAME EXPECTED_STATUS ARGS...: output in $work/NAME.out/.err
run_owping() {
    name=$1 want=$2
    shift 2
    e2e_run "$name" "$want" "$OWPING" "$@" || { fail "$name: exit $run_status (want $want)"; return 1; }
}

common="-c 100 -i 0.01 -L 1"

# ------------------------------------------------------------------ the three modes
run_owping open 0 -A O $common "$server" && check_default_report open "$work/open.out"
run_owping auth 0 -A A -u alice -k "$work/conf/owamp-server.pfs" $common "$server" &&
    check_default_report authenticated "$work/auth.out"
run_owping enc 0 -A E -u alice -k "$work/conf/owamp-server.pfs" $common "$server" &&
    check_default_report encrypted "$work/enc.out"

# ------------------------------------------------------------------ -M
if run_owping machine 0 -M $common "$server"; then
    n_sent=$(grep -c '^SENT	100$' "$work/machine.out")
    n_lost=$(grep -c '^LOST	0$' "$work/machine.out")
    n_sum=$(grep -c '^SUMMARY	3.00$' "$work/machine.out")
    if [ "$n_sent" = 2 ] && [ "$n_lost" = 2 ] && [ "$n_sum" = 2 ]; then
        pass "-M: SENT 100, LOST 0 in both blocks"
    else
        fail "-M: SENT 100 x$n_sent, LOST 0 x$n_lost, SUMMARY x$n_sum (want 2 each)"
    fi
fi

# ------------------------------------------------------------------ -R
if run_owping raw 0 -R $common "$server"; then
    lines=$(wc -l <"$work/raw.out" | tr -d ' ')
    good=$(awk 'NF == 8 && length($2) == 20 && $2 ~ /^[0-9]+$/ && length($5) == 20 &&
        $5 ~ /^[0-9]+$/ && $5 != "00000000000000000000"' \
        "$work/raw.out" | wc -l | tr -d ' ')
    if [ "$lines" = 200 ] && [ "$good" = 200 ]; then
        pass "-R: 200 raw records"
    else
        fail "-R: $lines lines, $good well-formed received records (want 200)"
    fi
fi

# ------------------------------------------------------------------ -F / -T read by owstats
if run_owping files 0 -Q -F "$work/from.owp" -T "$work/to.owp" $common "$server"; then
    if [ -s "$work/files.out" ]; then
        fail "-Q printed something"
    else
        pass "-Q prints nothing"
    fi
    for f in from to; do
        if "$OWSTATS" "$work/$f.owp" >"$work/owstats-$f.out" 2>&1 &&
            grep -q '^100 sent, 0 lost (0.000%), 0 duplicates$' "$work/owstats-$f.out"; then
            pass "owstats reads the -${f} file"
        else
            fail "owstats on the -${f} file"
            show "$work/owstats-$f.out"
        fi
    done
fi

# ------------------------------------------------------------------ one direction only
if run_owping to_only 0 -t $common "$server"; then
    n=$(grep -c '^--- owping statistics' "$work/to_only.out")
    [ "$n" = 1 ] && pass "-t: one report" || fail "-t: $n reports"
fi

# ------------------------------------------------------------------ -D with trailing blanks
# programs.md §5.1: numbers and names alike may end in whitespace.
tab=$(printf '\t')
for d in "46 |dscp_num|0x2e" "ef |dscp_name|0x2e" "CS3$tab|dscp_cs|0x18"; do
    # d* names: run_owping itself sets $name and $want.
    dvalue=${d%%|*} drest=${d#*|}
    dname=${drest%|*} dhex=${drest#*|}
    run_owping "$dname" 0 -t -M -D "$dvalue" -c 10 -i 0.01 -L 1 "$server" || continue
    [ "$(grep -c "^DSCP	$dhex\$" "$work/$dname.out")" = 1 ] &&
        pass "-D \"$dvalue\": accepted, DSCP $dhex" || fail "-D \"$dvalue\": not DSCP $dhex"
done

# ------------------------------------------------------------------ refusals
run_owping refused_mode 1 -A A $common "$server" && pass "-A A without -u fails with exit 1"
printf 'alice\t77726f6e67\n' >"$work/wrong.pfs"
run_owping wrong_pass 1 -A A -u alice -k "$work/wrong.pfs" $common "$server" &&
    pass "wrong pass-phrase fails with exit 1"
if grep -q 'Unable to open control connection' "$work/wrong_pass.err" 2>/dev/null; then
    pass "wrong pass-phrase: clear error"
else
    fail "wrong pass-phrase: no 'Unable to open control connection' on stderr"
fi
run_owping bad_option 1 -c abc "$server" && pass "-c abc fails with exit 1"
run_owping help 0 -h && grep -q '^usage: owping' "$work/help.out" && pass "-h: usage on stdout, exit 0"

# ------------------------------------------------------------------ SIGINT during the test
"$OWPING" -c 1000 -i 0.01 -L 1 "$server" >"$work/intr.out" 2>"$work/intr.err" &
ping_pid=$!
e2e_track "$ping_pid"
sleep 3
kill -INT "$ping_pid" 2>/dev/null
e2e_wait "$ping_pid"
status=$?
if [ "$status" = 0 ] && [ "$(grep -c '^--- owping statistics' "$work/intr.out")" = 2 ]; then
    pass "one SIGINT: partial results, exit 0"
else
    fail "one SIGINT: exit $status, $(grep -c '^--- owping statistics' "$work/intr.out") reports"
    show "$work/intr.err"
fi

e2e_finish
