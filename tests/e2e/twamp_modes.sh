#!/bin/sh
# twamp_modes.sh - the built twping against the built twampd on loopback
# (RFC 5357; the reference's behaviour in tests/vectors/twamp/README.md):
# every mode (open, authenticated, encrypted, mixed, and the modes twping
# picks without -A) over IPv4 and open mode over IPv6, each output compared
# with the reference's (tests/vectors/twamp/pcap, outputs) line for line
# with the measured numbers, SIDs, times and ports masked; -M keys in the
# reference's order; -R and -v records; a wrong pass-phrase refused; stray
# and malformed datagrams at the reflector never answered while the session
# loses nothing; allow_open_mode and maxcontrolsessions of the limits and
# configuration enforced while a test runs; SIGTERM: twampd exits cleanly.
#
# Environment (set by the harness): top_builddir, top_srcdir.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
TWAMPD=$top_builddir/node/twampd/twampd
TWPING=$top_builddir/node/tools/twping
VEC=$top_srcdir/tests/vectors/twamp
e2e_need "$TWAMPD" "$TWPING" python3
e2e_init

# ------------------------------------------------------------------ twampd

# twampd_conf, twampd_up and the test port range $tports: twamp_lib.sh.
. "$top_srcdir/tests/e2e/twamp_lib.sh"

twampd_conf "$work/conf" AEMO
twampd_up tw4 127.0.0.1 "$work/conf"
server=127.0.0.1:$tw_port
tw4_pid=$tw_pid
pfs=$work/conf/twamp-server.pfs
echo "twampd pid $tw4_pid on $server, test ports $tports"

# ------------------------------------------------------------------ comparing with the reference

# mask FILE: the report with what differs from run to run by nature masked:
# SIDs, times, ports, the measured values and their error estimates.
mask() {
    sed -E -e 's/^(SID:?\t)[0-9a-f]{32}$/\1SID/' \
        -e 's/^(first|last):\t.*/\1:\tTIME/' \
        -e 's/\]:[0-9]+/]:PORT/g' \
        -e 's/^Approximately [0-9.]+ seconds/Approximately X seconds/' \
        -e 's/= [^ ]+\/[^ ]+\/[^ ]+ (m|u|n)?s, \(err=[^ ]+ (m|u|n)?s\)$/= A\/B\/C \1s, (err=E \2s)/' \
        -e 's/min\/max = [^ ]+\/[^ ]+ /min\/max = A\/B /' \
        -e 's/jitter = [^ ]+ /jitter = J /' \
        -e 's/^(\t[0-9.]+: )[^ ]+ /\1P /' \
        -e 's/^(seq_no=[0-9 ]+) fwd_delay=.*/\1 RECORD/' "$1"
}

# same_as_reference NAME OURS REFERENCE: masked, the two are identical.
same_as_reference() {
    same_through mask "$1: the reference's report, line for line" "$3" "$2"
}

# machine_keys FILE: the -M keys in order (bucket rows are data, not keys).
machine_keys() { grep -v -e '^	' -e '^Approximately' "$1" | cut -f1; }

# run_twping NAME WANT ARGS...: output in $work/NAME.out/.err
run_twping() {
    name=$1 want=$2
    shift 2
    e2e_run "$name" "$want" "$TWPING" "$@" || { fail "$name: exit $run_status (want $want)"; return 1; }
}

common="-c 20 -i 0.02 -L 0.3"

# ------------------------------------------------------------------ every mode, IPv4
run_twping open 0 -A O $common "$server" &&
    same_as_reference "open" "$work/open.out" "$VEC/pcap/open.twping.txt"
run_twping auth 0 -A A -u alice -k "$pfs" $common "$server" &&
    same_as_reference "authenticated" "$work/auth.out" "$VEC/pcap/auth.twping.txt"
run_twping enc 0 -A E -u alice -k "$pfs" $common "$server" &&
    same_as_reference "encrypted" "$work/enc.out" "$VEC/pcap/enc.twping.txt"
run_twping mixed 0 -A M -u alice -k "$pfs" $common "$server" &&
    same_as_reference "mixed" "$work/mixed.out" "$VEC/pcap/mixed.twping.txt"
run_twping defmodes 0 -u alice -k "$pfs" $common "$server" &&
    same_as_reference "modes by default (encrypted)" "$work/defmodes.out" \
        "$VEC/pcap/default-modes.twping.txt"
run_twping padding 0 -A O -s 100 -D 46 $common "$server" &&
    same_as_reference "-s 100 -D 46" "$work/padding.out" "$VEC/pcap/padding-dscp.twping.txt"
run_twping zero 0 -A O -Z $common "$server" &&
    same_as_reference "-Z" "$work/zero.out" "$VEC/pcap/zero-addr.twping.txt"
grep -q 'mode mixed class root/authusers' "$work/tw4.log"
verdict "mixed mode: the identity's class of the limits"

# ------------------------------------------------------------------ -M, -R, -v, -N, -a, -n
if run_twping machine 0 -M $common "$server"; then
    machine_keys "$work/machine.out" >"$work/keys.ours"
    machine_keys "$VEC/pcap/open.machine.txt" >"$work/keys.ref"
    if cmp -s "$work/keys.ours" "$work/keys.ref"; then
        pass "-M: the reference's keys in its order"
    else
        fail "-M: keys differ from the reference's"
        diff "$work/keys.ref" "$work/keys.ours" | show
    fi
    has "-M: loss-free summary" "$work/machine.out" "SENT	20"
fi
if run_twping raw 0 -R $common "$server"; then
    good=$(awk 'NF == 16 && length($2) == 20 && length($5) == 20 && length($10) == 20 &&
        length($13) == 20 && $1 == $9' "$work/raw.out" | wc -l | tr -d ' ')
    [ "$good" = 20 ] && [ "$(wc -l <"$work/raw.out" | tr -d ' ')" = 20 ]
    verdict "-R: 20 records of 16 fields (got $good)"
fi
# The reference's 200-packet variants (tests/vectors/twamp/outputs/twping).
long="-c 200 -i 0.005 -L 0.3"
for variant in verbose:-v sub10:-N10 percentiles:-a25,75,99 units-us:-nu; do
    name=${variant%%:*} flag=${variant#*:}
    case $flag in
    -N10) flag="-N 10" ;; -a25,75,99) flag="-a 25,75,99" ;; -nu) flag="-n u" ;;
    esac
    # shellcheck disable=SC2086 # flag and long are option lists
    run_twping "$name" 0 $flag $long "$server" &&
        same_as_reference "$flag" "$work/$name.out" "$VEC/outputs/$name.txt"
done

# ------------------------------------------------------------------ IPv6
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
    twampd_up tw6 '[::1]' "$work/conf"
    run_twping ipv6 0 -A O $common "[::1]:$tw_port" &&
        same_as_reference "IPv6" "$work/ipv6.out" "$VEC/pcap/ipv6-open.twping.txt"
    e2e_stop "$tw_pid"
else
    echo "SKIP: no IPv6 loopback"
fi

# ------------------------------------------------------------------ refusals
cp "$VEC/lab/alice-wrong.pfs" "$work/wrong.pfs"
run_twping wrongpass 1 -A A -u alice -k "$work/wrong.pfs" $common "$server" &&
    has "wrong pass-phrase: refused" "$work/wrongpass.err" \
        "Unable to open control connection to $server."
[ ! -s "$work/wrongpass.out" ]
verdict "wrong pass-phrase: nothing on stdout (as the reference)"

# ------------------------------------------------------------------ hostile datagrams
# While a 60-packet session runs, every reflector port gets garbage from
# other ports (5, 41 and 200 octets, as the reference's stray-packets run):
# none may be answered and the session must lose nothing.
"$TWPING" -A O -c 60 -i 0.02 -L 1 "$server" >"$work/stray.out" 2>"$work/stray.err" &
stray_twping=$!
e2e_track "$stray_twping"
sleep 1.2
python3 - "$tbase" >"$work/stray.py.out" <<'EOF'
import os, socket, sys
base = int(sys.argv[1])
answered = 0
socks = []
for size in (5, 41, 200):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.02)
    socks.append(s)
    for port in range(base, base + 40):
        s.sendto(os.urandom(size), ("127.0.0.1", port))
for s in socks:
    try:
        while True:
            s.recvfrom(2048)
            answered += 1
    except OSError:
        pass
print(answered)
EOF
e2e_wait "$stray_twping"
[ "$?" = 0 ] && grep -q '^60 sent, 0 lost' "$work/stray.out"
verdict "stray datagrams: the session still loses nothing"
[ "$(cat "$work/stray.py.out")" = 0 ]
verdict "stray datagrams: none answered ($(cat "$work/stray.py.out") answers)"
kill -0 "$tw4_pid" 2>/dev/null
verdict "twampd survives them"

# ------------------------------------------------------------------ limits under load
twampd_conf "$work/conf-lim" AEMO "maxcontrolsessions 1"
sed -i 's/^limit regular with parent=root, disk=0, bandwidth=0, allow_open_mode=on/limit regular with parent=root, disk=0, bandwidth=0, allow_open_mode=off/' \
    "$work/conf-lim/twamp-server.limits"
twampd_up twlim 127.0.0.1 "$work/conf-lim"
lim=127.0.0.1:$tw_port
run_twping lim-open 1 -A O $common "$lim" &&
    has "allow_open_mode=off: open mode refused" "$work/lim-open.err" "Unable to open control connection"
"$TWPING" -A A -u alice -k "$pfs" -c 100 -i 0.02 -L 1 "$lim" >"$work/busy.out" 2>"$work/busy.err" &
busy=$!
e2e_track "$busy"
sleep 1.5
run_twping lim-second 1 -A A -u alice -k "$pfs" $common "$lim"
verdict "maxcontrolsessions 1: a second connection refused while the first tests"
e2e_wait "$busy"
[ "$?" = 0 ] && grep -q '^100 sent, 0 lost' "$work/busy.out"
verdict "maxcontrolsessions 1: the running session undisturbed"

# ------------------------------------------------------------------ SIGTERM
"$TWPING" -A O -c 200 -i 0.02 -L 1 "$lim" >/dev/null 2>&1 &
victim=$!
e2e_track "$victim"
sleep 1.5
kill -TERM "$tw_pid"
i=0
while kill -0 "$tw_pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$tw_pid" 2>/dev/null; then
    fail "SIGTERM: twampd still running after 5 s"
else
    e2e_wait "$tw_pid"
    [ ! -e "$work/twlim.var/twamp-server.pid" ]
    verdict "SIGTERM: twampd exits within 5 s and removes its pid file"
fi
e2e_wait "$victim" >/dev/null 2>&1

e2e_stop "$tw4_pid"
verdict "SIGTERM: twampd exits 0"

# -F (the two-way file) and owstats on it: tests/e2e/twping_file.sh.
e2e_finish
