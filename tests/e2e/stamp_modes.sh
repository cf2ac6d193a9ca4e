#!/bin/sh
# stamp_modes.sh - the built stping against the built stampd on loopback
# (RFC 8762, RFC 8972): stateless and stateful, unauthenticated and
# authenticated, IPv4 (127.0.0.1) and IPv6 (::1); the TLVs answered; the
# report in twping's format (-M keys in the reference twping's order, -R
# records); a wrong key refused; the policy's deny rules and SIGHUP reload (a
# bad file keeps the old policy), a per-source rate limit observed in the
# counters; a TWAMP-Light sender (the independent peer) answered; the
# daemon's conventions (-h, --version, a bad option, counters at exit,
# SIGTERM).
#
# Environment (set by the harness): top_builddir, top_srcdir.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/stamp_lib.sh"
e2e_need "$STAMPD" "$STPING" python3
e2e_init
e2e_unprivileged
stamp_keyfile
VEC=$top_srcdir/tests/vectors/twamp

common="-c 20 -i 0.01 -L 0.5"

# run_stping NAME WANT ARGS...: output in $work/NAME.out/.err
run_stping() {
    name=$1 want=$2
    shift 2
    e2e_run "$name" "$want" "$STPING" "$@" || { fail "$name: exit $run_status (want $want)"; return 1; }
}

# ------------------------------------------------------------------ conventions
"$STAMPD" --help >"$work/help.out" 2>"$work/help.err"
[ $? = 0 ] && grep -q "^usage: stampd" "$work/help.out" && [ ! -s "$work/help.err" ]
verdict "stampd --help: usage on stdout, exit 0"
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")
[ "$("$STAMPD" --version)" = "stampd $version" ]
verdict "stampd --version: \"stampd $version\""
"$STAMPD" --no-such-option >/dev/null 2>"$work/bad.err"
[ $? = 1 ] && grep -q "usage: stampd" "$work/bad.err"
verdict "stampd --no-such-option: exit 1, usage on stderr"
"$STAMPD" -Z -A A -S 127.0.0.1:0 >/dev/null 2>"$work/nokey.err"
[ $? = 1 ] && grep -q "IDENTITY" "$work/nokey.err"
verdict "stampd -A A without a key: exit 1, says so"
"$STPING" -h >"$work/sthelp.out" 2>&1 && grep -q "^usage: stping" "$work/sthelp.out"
verdict "stping -h: usage on stdout, exit 0"
"$STPING" --version >"$work/stversion.out" 2>&1 && grep -q "^stping (owmesh) $version$" "$work/stversion.out" &&
    ! grep -q "drop-in" "$work/stversion.out"
verdict "stping --version: owmesh's version, no reference to replace"
run_stping badtlv 1 -T bogus 127.0.0.1 && has "stping -T bogus: the TLV named" "$work/badtlv.err" '"bogus"'

# ------------------------------------------------------------------ stateless, IPv4
stampd_up v4 127.0.0.1
v4_pid=$st_pid v4=127.0.0.1:$st_port
if run_stping open4 0 $common "$v4"; then
    has "IPv4 stateless: nothing lost" "$work/open4.out" "20 sent, 0 lost (0.000%)"
    has "IPv4: twping's report, headed stping" "$work/open4.out" "--- stping statistics from"
    has "IPv4 stateless: the answers carry our sequence numbers" "$work/open4.out" \
        "reflector sequence numbers: ours"
    has "IPv4: hops over loopback" "$work/open4.out" "send hops = 0 (consistently)"
fi
if run_stping machine 0 -M $common "$v4"; then
    grep -v -e '^	' -e '^Approximately' "$work/machine.out" | cut -f1 >"$work/keys.ours"
    grep -v -e '^	' -e '^Approximately' "$VEC/pcap/open.machine.txt" | cut -f1 >"$work/keys.ref"
    if cmp -s "$work/keys.ours" "$work/keys.ref"; then
        pass "-M: the reference twping's keys in its order"
    else
        fail "-M: keys differ from twping's"
        diff "$work/keys.ref" "$work/keys.ours" | show
    fi
fi
if run_stping raw 0 -R $common "$v4"; then
    good=$(awk 'NF == 16 && length($2) == 20 && length($13) == 20 && $1 == $9' "$work/raw.out" |
        wc -l | tr -d ' ')
    [ "$good" = 20 ]
    verdict "-R: 20 records of 16 fields, stateless seq = ours (got $good)"
fi

# ------------------------------------------------------------------ TLVs
if run_stping tlvs 0 -c 5 -i 0.01 -L 0.5 -I 7 -s 30 \
    -T location,timestamp,cos=46,direct,access=1,follow-up "$v4"; then
    has "TLVs: all recognized" "$work/tlvs.out" \
        "TLVs in 5 answers: unrecognized in 0, malformed in 0, integrity failed in 0"
    has "Location: the addresses and ports the reflector saw" "$work/tlvs.out" \
        "-> [127.0.0.1]:${v4#*:}"
    has "Timestamp Information: software stamps" "$work/tlvs.out" "software; out"
    has "Class of Service: DSCP1 46 used" "$work/tlvs.out" "DSCP1 46 used (RP 0)"
    has "Direct Measurement: the session's counts" "$work/tlvs.out" "S_TxC 5, R_RxC 5, R_TxC 5"
    has "Access Report echoed" "$work/tlvs.out" "Access Report: ID 1, return code 1"
    has "Follow-Up Telemetry: zero in stateless mode" "$work/tlvs.out" "Follow-Up Telemetry: seq 0, timestamp 00000000000000000000"
fi

# ------------------------------------------------------------------ stateful, IPv6
stampd_up v6 ::1 -m stateful
v6_pid=$st_pid v6=[::1]:$st_port
if run_stping open6 0 $common -T follow-up "$v6"; then
    has "IPv6 stateful: nothing lost" "$work/open6.out" "20 sent, 0 lost (0.000%)"
    has "IPv6 stateful: Follow-Up Telemetry names the previous answer" "$work/open6.out" \
        "Follow-Up Telemetry: seq 18,"
fi
# Sequence numbers that do not start at 0: a stateful reflector numbers from 0.
peer_send sf --to "$v6" --count 5 --first-seq 100 --timeout 0.5
peer_json "$work/sf.json" 'len(rows) == 5 and [r["seq"] for r in rows] == [0, 1, 2, 3, 4] and [r["sender_seq"] for r in rows] == [100, 101, 102, 103, 104]'
verdict "IPv6 stateful: the reflector's own numbers from 0 (the peer's from 100)"
peer_send sl --to "$v4" --count 5 --first-seq 100 --timeout 0.5
peer_json "$work/sl.json" 'len(rows) == 5 and all(r["seq"] == r["sender_seq"] for r in rows)'
verdict "IPv4 stateless: the sender's numbers copied"

# ------------------------------------------------------------------ authenticated
stampd_up auth 127.0.0.1 -A A -k "$work/stamp.keys" -u alice -m stateful
auth_pid=$st_pid auth=127.0.0.1:$st_port
if run_stping auth 0 $common -A A -k "$work/stamp.keys" -u alice -T timestamp,direct "$auth"; then
    has "authenticated: nothing lost" "$work/auth.out" "20 sent, 0 lost (0.000%)"
    has "authenticated: the HMAC TLV verified both ways" "$work/auth.out" \
        "HMAC TLV verified in 20, failed in 0"
fi
run_stping wrongkey 0 -c 5 -i 0.01 -L 0.3 -A A -k "$work/stamp.keys" -u bob "$auth" &&
    has "authenticated, the wrong key: nothing answered" "$work/wrongkey.out" "5 sent, 5 lost"
run_stping openauth 0 -c 3 -i 0.01 -L 0.3 "$auth" &&
    has "an unauthenticated sender to an authenticated reflector: nothing answered" \
        "$work/openauth.out" "3 sent, 3 lost"

# ------------------------------------------------------------------ TWAMP-Light
peer_send light --to "$v4" --count 5 --twamp-light --timeout 0.5
peer_json "$work/light.json" 'len(rows) == 5 and all(r["length"] == 41 and r["sender_seq"] == r["seq"] and r["t1"] <= r["t2"] <= r["t3"] <= r["t4"] for r in rows)'
verdict "TWAMP-Light sender (41-octet packets): answered in 41 octets, times in order"
peer_send short --to "$v4" --count 3 --twamp-light --size 14 --timeout 0.3
peer_json "$work/short.json" 'summary["answered"] == 0'
verdict "TWAMP-Light without padding (14 octets): not answered (the answer would be larger)"

# ------------------------------------------------------------------ policy, reload, rate limit
printf 'allow 127.0.0.1\n' >"$work/stampd.policy"
chmod 0644 "$work/stampd.policy"
stampd_up pol 127.0.0.1 -c "$work/stampd.policy" -i 1
pol_pid=$st_pid pol=127.0.0.1:$st_port
run_stping denied 0 -c 5 -i 0.01 -L 0.3 -S 127.0.0.2 "$pol" &&
    has "policy: a source not allowed is not answered" "$work/denied.out" "5 sent, 5 lost"
printf 'allow 127.0.0.0/8\nrate-per-source 50 5\n' >"$work/stampd.policy"
kill -HUP "$pol_pid"
e2e_poll 30 0.1 grep -q "policy .* reloaded" "$work/pol.log"
verdict "SIGHUP: the policy reloaded"
run_stping allowed 0 -c 5 -i 0.01 -L 0.3 -S 127.0.0.2 "$pol" &&
    has "after the reload the source is answered" "$work/allowed.out" "5 sent, 0 lost"
printf 'allow 127.0.0.0/33\n' >"$work/stampd.policy"
kill -HUP "$pol_pid"
e2e_poll 30 0.1 grep -q "keeping the policy in force" "$work/pol.log" &&
    grep -q "stampd.policy:1: " "$work/pol.log"
verdict "SIGHUP with a bad file: the error named by file:line, the old policy kept"
run_stping ratelimit 0 -c 40 -i 0.001 -L 0.3 "$pol"
lost=$(sed -n 's/^40 sent, \([0-9]*\) lost.*/\1/p' "$work/ratelimit.out")
[ -n "$lost" ] && [ "$lost" -ge 20 ]
verdict "rate-per-source 50/s burst 5: most of 40 packets at 1000/s dropped ($lost lost)"

# ------------------------------------------------------------------ counters, SIGTERM
for pid in $v4_pid $v6_pid $auth_pid $pol_pid; do
    e2e_stop "$pid"
done
grep -q "counters at exit: reflected [1-9]" "$work/v4.log"
verdict "stampd: the counters logged at exit"
[ "$(counter auth "$work/auth.log")" -ge 5 ]
verdict "the authenticated reflector counted the wrong key's packets (auth $(counter auth "$work/auth.log"))"
[ "$(counter denied "$work/pol.log")" = 5 ] && [ "$(counter rate-source "$work/pol.log")" -ge 20 ]
verdict "the policy's drops counted: denied $(counter denied "$work/pol.log"), rate-source $(counter rate-source "$work/pol.log")"
[ "$(counter amplification "$work/v4.log")" = 3 ]
verdict "the short TWAMP-Light packets counted as amplification refusals"
grep -q "counters so far: reflected" "$work/pol.log"
verdict "stampd -i 1: the counters logged while it runs"
grep -q "stopping (signal)" "$work/v6.log"
verdict "SIGTERM: stampd stops cleanly"

e2e_finish
