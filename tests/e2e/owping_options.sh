#!/bin/sh
# owping_options.sh - owping's option matrix (programs.md §5) against the
# built owampd on 127.0.0.1 (and on ::1 for the IPv6 cases): output options
# -M -R -v[N] -Q -a -b -n -N -U -p/-d, connection options -4/-6, [v6]:port,
# %scope, -B, -S, test options -D -E -z -s, a -P range held by another
# session (the error names the range), and bad options -> usage and the
# reference's exit codes. Short tests run in parallel to stay well under a
# minute.
#
# Environment (set by the harness): top_builddir, top_srcdir.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need "$OWAMPD" "$OWPING"
e2e_init

# ------------------------------------------------------------------ owampd
e2e_owampd_conf O
mkdir -p "$work/var-v4" "$work/var-v6"
e2e_owampd_up 127.0.0.1 "$work/owampd-v4.log" "$work/var-v4" -c "$work/conf" -d "$work/data"
server=127.0.0.1:$owampd_port
port4=$owampd_port
port6=
if e2e_owampd_serve '[::1]' "$work/owampd-v6.log" "$work/var-v6" -c "$work/conf" -d "$work/data"; then
    port6=$owampd_port
else
    echo "SKIP: no owampd on [::1] (no IPv6 loopback?); IPv6 cases skipped"
fi
echo "owampd on $server${port6:+ and [::1]:$port6}"

short="-c 20 -i 0.01 -L 0.5"

# start NAME ARGS...: owping in the background, output in $work/NAME.*;
# wait_all waits for those (a bare `wait` would wait for the daemons too).
ping_pids=
start() {
    name=$1
    shift
    ("$OWPING" "$@" >"$work/$name.out" 2>"$work/$name.err"; echo $? >"$work/$name.rc") &
    ping_pids="$ping_pids $!"
    e2e_track $!
}
wait_all() {
    for pid in $ping_pids; do
        e2e_wait "$pid"
    done
    ping_pids=
}
# status NAME WANT: the exit status was WANT (else show stderr).
status() {
    got=$(cat "$work/$1.rc" 2>/dev/null)
    [ "$got" = "$2" ] && return 0
    echo "    $1: exit ${got:-?} (want $2)"
    show "$work/$1.err"
    return 1
}
# lines NAME REGEX: how many stdout lines match.
lines() { grep -Ec "$2" "$work/$1.out"; }

# ------------------------------------------------------------------ batch 1: output options
mkdir -p "$work/files"
start machine -M -b 0.001 $short "$server"
start raw -R $short "$server"
start verbose -v5 -U -n u -a 10,99.9 $short "$server"
start quiet -Q $short "$server"
start sub -N 25 -c 60 -i 0.005 -L 0.5 "$server"
start files -p -d "$work/files" -N 10 -t $short "$server"
start machfiles -M -p -d "$work/files" -f $short "$server"
start secs -n s -t $short "$server"
wait_all

status machine 0 && [ "$(lines machine '^SUMMARY	3\.00$')" = 2 ] &&
    [ "$(lines machine '^BUCKET_WIDTH	0\.001$')" = 2 ] &&
    [ "$(lines machine '^SENT	20$')" = 2 ] &&
    [ "$(lines machine '^Approximately ')" = 1 ]
verdict "-M -b 0.001: two machine blocks with BUCKET_WIDTH 0.001, after the Approximately line"

status raw 0 && [ "$(wc -l <"$work/raw.out" | tr -d ' ')" = 40 ] &&
    [ "$(lines raw '^[0-9]+ [0-9]{20} [01] [0-9.e+-]+ [0-9]{20} [01] [0-9.e+-]+ [0-9]+$')" = 40 ]
verdict "-R: 40 raw records and nothing else"

status verbose 0 && [ "$(lines verbose '^seq_no=[0-9 ]{10} delay=')" = 10 ] &&
    [ "$(lines verbose '^one-way delay min/median/max = .* us, ')" = 2 ] &&
    [ "$(lines verbose '^	10\.0: .* us$')" = 2 ] &&
    [ "$(lines verbose '^	99\.9: .* us$')" = 2 ] &&
    [ "$(lines verbose '^Percentiles:$')" = 2 ]
verdict "-v5 -U -n u -a 10,99.9: five per-record lines per session, us units, percentiles"

status quiet 0 && [ ! -s "$work/quiet.out" ]
verdict "-Q: nothing on stdout, exit 0"

status sub 0 && [ "$(lines sub '^--- owping statistics')" = 6 ] &&
    [ "$(lines sub '^25 sent, 0 lost')" = 4 ] && [ "$(lines sub '^10 sent, 0 lost')" = 2 ]
verdict "-N 25 with -c 60: three blocks per session (25, 25, 10 packets)"

if status files 0 && [ "$(grep -c . "$work/files.out")" = 3 ] &&
    [ "$(grep -Ec "^$work/files/[0-9]{20}_[0-9]{20}\.txt\$" "$work/files.out")" = 2 ]; then
    ok=0
    for f in $(grep '\.txt$' "$work/files.out"); do
        grep -q '^10 sent, 0 lost' "$f" || ok=1
    done
    [ $ok = 0 ]
else
    false
fi
verdict "-p -d DIR -N 10 -t: two START_END.txt files named on stdout, 10 packets each"

status machfiles 0 &&
    f=$(grep -E "^$work/files/[0-9]{20}_[0-9]{20}\.sum\$" "$work/machfiles.out") &&
    [ -n "$f" ] && grep -q '^SENT	20$' "$f"
verdict "-M -p -d DIR -f: one START_END.sum file"

status secs 0 && [ "$(lines secs '^one-way delay min/median/max = [^ ]+ , ')" = 1 ]
verdict "-n s: no unit after the delays"

# ------------------------------------------------------------------ batch 2: connection and test options
start dscp -D ef -M -t $short "$server"
start src -S 127.0.0.1 -B lo $short "$server"
start dscpnum -D 0x0a -M -f $short "$server"
start delays -z 2 -E 0.2 -s 100 -t $short "$server"
# Hold the one-port range 1-port with a session of its own, then ask for it.
held=$((port4 + 2))
start holder -f -c 400 -i 0.01 -L 0.5 -P "$held-$held" "$server"
if [ -n "$port6" ]; then
    start v6 -6 $short "[::1]:$port6"
    lo_index=$(cat /sys/class/net/lo/ifindex 2>/dev/null || echo 1)
    start v6scope -t $short "[::1%$lo_index]:$port6"
fi
sleep 2.5
start busy -f $short -P "$held-$held" "$server"
wait_all

status dscp 0 && [ "$(lines dscp '^DSCP	0x2e$')" = 1 ]
verdict "-D ef: DSCP 0x2e"
status dscpnum 0 && [ "$(lines dscpnum '^DSCP	0x0a$')" = 1 ]
verdict "-D 0x0a: DSCP 0x0a"
status src 0 && [ "$(lines src '^20 sent, 0 lost')" = 2 ]
verdict "-S 127.0.0.1 -B lo: both sessions complete"
status delays 0 && grep -Eq '^Approximately (2\.[5-9]|[3-9]\.[0-9]) seconds' "$work/delays.out" &&
    [ "$(lines delays '^20 sent, 0 lost')" = 1 ]
verdict "-z 2 -E 0.2 -s 100: later start (Approximately >= 2.5 s, 1.7 without -z), session complete"
status holder 0
verdict "-P N-N: a session on a one-port range"
status busy 1 && grep -q "$held-$held" "$work/busy.err" &&
    grep -Eq 'exhausted|no free UDP port' "$work/busy.err" && grep -q 'Session Failed!' "$work/busy.err"
verdict "-P with its only port busy: error naming the range $held-$held, exit 1"
if [ -n "$port6" ]; then
    status v6 0 && [ "$(lines v6 '^--- owping statistics from \[::1\]:[0-9]+ to \[::1\]:[0-9]+ ---$')" = 2 ]
    verdict "-6 [::1]:port: both sessions over IPv6"
    status v6scope 0 && [ "$(lines v6scope '^20 sent, 0 lost')" = 1 ]
    verdict "[::1%scope]:port: scope id accepted"
fi

# ------------------------------------------------------------------ quick failures (no test runs)
# check_usage NAME WANT_STATUS STDERR_REGEX ARGS...
check_usage() {
    name=$1 want=$2 regex=$3
    shift 3
    "$OWPING" "$@" >"$work/$name.out" 2>"$work/$name.err"
    echo $? >"$work/$name.rc"
    status "$name" "$want" && grep -Eq -- "$regex" "$work/$name.err"
    verdict "owping $* -> exit $want"
}
check_usage v4_v6 1 '^owping: -4 and -6 flags cannot be set together$' -4 -6 "$server"
! grep -q '^usage:' "$work/v4_v6.err"
verdict "-4 -6: no usage text (as the reference)"
check_usage v4_on_v6 1 'Unable to open control connection to ::1\.' -4 ::1
check_usage v6_on_v4 1 'Unable to open control connection to 127\.0\.0\.1:' -6 "$server"
"$OWPING" -h >"$work/help.out" 2>"$work/help.err"
[ $? = 0 ] && grep -q '^usage: owping \[arguments\] testaddr \[servaddr\]$' "$work/help.out" &&
    [ ! -s "$work/help.err" ]
verdict "owping -h -> usage on stdout (not the reference's stderr), exit 0"
check_usage unknown 0 '^usage: owping ' -Y "$server"
check_usage count0 1 '^owping: Invalid value\. Positive integer expected$' -c 0 "$server"
check_usage noop 1 '^usage: owping ' -c 10
check_usage threeops 1 '^usage: owping ' "$server" "$server" "$server"
check_usage count 1 '^owping: Invalid value\. Positive integer expected$' -c 12x "$server"
check_usage padding 1 '^owping: Invalid value\. Positive integer expected$' -s abc "$server"
check_usage enddelay 1 "^owping: Invalid '-E' value\. Positive float expected\$" -E -1 "$server"
check_usage losst 1 "^owping: Invalid '-L' value\. Positive float expected\$" -L x "$server"
check_usage delaystart 1 "^owping: Invalid '-z' value\. Positive float expected\$" -z 1s "$server"
check_usage dscpbad 1 '^owping: Invalid DSCP value \(-D\): "af11"' -D af11 "$server"
check_usage dscptwice 1 "^owping: Invalid option '-D'\. Can only set one '-D'\$" -D ef -D cs1 "$server"
check_usage sched 1 '^owping: Invalid Schedule\.$' -i 0.1x,0.2 "$server"
check_usage slottype 1 'Invalid slot type \(xy\) for schedule' -i 0.1xy "$server"
check_usage alpha 1 "Invalid numeric value \(101\) for percentile" -a 10,101 "$server"
check_usage bucket 1 "^owping: Invalid '-b' value\. Positive float expected\$" -b 0 "$server"
check_usage units 1 "^owping: Invalid '-n' value\.\$" -n x "$server"
check_usage subs 1 '^owping: Invalid "-N" value\. Positive integer expected$' -N 5x "$server"
check_usage vlimit 1 '^owping: Invalid "-v" value\. Positive integer expected$' -v5x "$server"
check_usage ports 1 '^owping: Invalid test port range specified\.$' -P 9000-8000 "$server"
check_usage authmode 1 'Invalid -authmode X' -A X "$server"
check_usage bindtwice 1 '^owping: -B can only be used once$' -B lo -B lo "$server"
check_usage lossbucket 1 "LossThreshold\(0\.000100\) '-L' < BucketWidth \(0\.001000\) '-b'" \
    -L 0.0001 -b 0.001 "$server"
check_usage ignore_v 0 "^owping: Ignoring '-v', '-Q' set\$" -Q -v -c 1 -i 0.01 -L 0.5 "$server"

e2e_finish
