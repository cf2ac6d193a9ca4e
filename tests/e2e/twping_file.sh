#!/bin/sh
# twping_file.sh - twping -F (the reference's two-way file) and owstats on
# two-way files (tests/vectors/twamp/README.md sections E and F):
#
#  - twping -F against the built twampd in every mode (open, authenticated,
#    encrypted, mixed, the modes twping picks without -A), with -Z, and over
#    IPv6: the file's header is the reference's (version 0x83, finished 1,
#    next_seqno 0, num_records 0, oset_skips 0, the stored preamble with
#    Conf-Sender/Receiver 1, the packet count, the actual addresses and
#    ports, the SID), and owstats on it prints what twping printed in the
#    same run, except the "Approximately" line and the far end's name (the
#    reference's README says the two agree so);
#  - one run per output variant (-M, -R, -v, -N 10, -a, -n u), compared the
#    same way;
#  - owstats on the reference's own files: -M byte for byte (the <BUCKETS>
#    lines as a set, README F), -v's records byte for byte, -R (which the
#    reference refuses on its own file) as the reference twping's record
#    printer prints it, and summaries line for line with the values we
#    compute exactly (median, jitter, -a: doc/compat.md) masked and checked
#    against the records by tw_exact_percentiles.py;
#  - stping -F writes the same format; owstats reads it;
#  - a save is all or nothing: a path that cannot be written fails before the
#    test, a twping killed during the test leaves no file, an early stop
#    (one SIGINT) saves what was measured; a truncated file is refused with
#    the file and offset named.
#
# Environment (set by the harness): top_builddir, top_srcdir.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
TWAMPD=$top_builddir/node/twampd/twampd
TWPING=$top_builddir/node/tools/twping
VEC=$top_srcdir/tests/vectors/twamp
OUT=$VEC/outputs
TRUTH=$top_srcdir/tests/e2e/tw_exact_percentiles.py
. "$top_srcdir/tests/e2e/stamp_lib.sh"
e2e_need "$TWAMPD" "$TWPING" "$OWSTATS" "$STAMPD" "$STPING" python3
e2e_init
TZ=UTC
export TZ
tab=$(printf '\t')

. "$top_srcdir/tests/e2e/twamp_lib.sh"
twampd_conf "$work/conf" AEMO
twampd_up tw4 127.0.0.1 "$work/conf"
server=127.0.0.1:$tw_port
pfs=$work/conf/twamp-server.pfs

# ------------------------------------------------------------------ helpers

# hosts FILE: the far end's name masked (twping prints it as given, owstats
# by the stored address), and with $all_hosts the near end's too.
all_hosts=0
lh=$(getent hosts 127.0.0.1 2>/dev/null | awk '{print $2; exit}')
[ "$lh" = localhost ] || all_hosts=1
# shellcheck disable=SC2317 # called through same_through
hosts() {
    if [ "$all_hosts" = 1 ]; then
        sed -e 's/^\(--- [a-z]* statistics from \[\)[^]]*\]/\1HOST]/' \
            -e "s/^FROM_HOST${tab}.*/FROM_HOST${tab}HOST/" "$1"
    else
        cat "$1"
    fi | sed -e 's/\( to \[\)[^]]*\(\]:[0-9]* ---\)$/\1HOST\2/' \
        -e "s/^TO_HOST${tab}.*/TO_HOST${tab}HOST/" -e '/^Approximately /d'
}

# same_report NAME A B: A and B the same report but for the names hosts() masks.
same_report() { same_through hosts "$@"; }

# headers_are COUNT IPVN NAME...: each $work/NAME.twp's header and preamble
# as the reference writes them (decoded by the vectors' twpfile.py), its SID
# and ports those twping printed in $work/NAME.out, COUNT records: one
# verdict per NAME (one Python for all: its start-up is most of the cost).
headers_are() {
    python3 - "$VEC/twpfile.py" "$work" "$@" <<'EOF' >"$work/headers"
import contextlib, importlib.util, io, json, re, sys
spec = importlib.util.spec_from_file_location("twpfile", sys.argv[1])
twpfile = importlib.util.module_from_spec(spec)
spec.loader.exec_module(twpfile)
work, count, ipvn = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for name in sys.argv[5:]:
    sys.argv = ["twpfile.py", "%s/%s.twp" % (work, name)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        twpfile.main()
    d = json.loads(out.getvalue())
    text = open("%s/%s.out" % (work, name)).read()
    h, p = d["header"], d["preamble"]
    want = {"version": (h["version"], 0x83), "finished": (h["finished"], 1),
            "next_seqno": (h["next_seqno"], 0), "num_records": (h["num_records"], 0),
            "num_skips": (h["num_skips"], 0), "oset_skips": (h["oset_skips"], 0),
            "oset_records": (h["oset_records"], 184), "message_type": (p["message_type"], 1),
            "ipvn": (p["ipvn"], ipvn), "conf": ((p["conf_sender"], p["conf_receiver"]), (1, 1)),
            "num_slots": (p["num_slots"], 1), "num_packets": (p["num_packets"], count),
            "records": (d["records_by_file_size"], count), "hmac": (int(p["hmac"], 16), 0),
            "zero addresses": (p["sender_address"] in ("0.0.0.0", "::")
                               or p["receiver_address"] in ("0.0.0.0", "::"), False)}
    m = re.search(r"SID:?\t([0-9a-f]{32})", text)
    want["sid"] = (p["sid"], m and m.group(1))
    m = re.search(r"\]:(\d+) to \[[^]]*\]:(\d+) ---", text) or \
        re.search(r"FROM_PORT\t(\d+)\n(?:.*\n)*?TO_PORT\t(\d+)", text)
    want["ports"] = ((p["sender_port"], p["receiver_port"]),
                     m and (int(m.group(1)), int(m.group(2))))
    bad = ["%s %r, want %r" % (k, v[0], v[1]) for k, v in want.items() if v[0] != v[1]]
    print(name + (": " + "; ".join(bad) if bad else ""))
EOF
    while IFS= read -r line; do
        case $line in
        *:*) fail "${line%%:*}: the reference's header and preamble:${line#*:}" ;;
        *) pass "$line: the reference's header and preamble" ;;
        esac
    done <"$work/headers"
    [ "$(wc -l <"$work/headers")" -eq $(($# - 2)) ] || fail "headers_are $*: the check failed"
}

# saving NAME ARGS...: twping -F $work/NAME.twp ARGS in the background (the
# runs wait for their start times side by side), its output in
# $work/NAME.out and .err; saved: wait for them, $saved_ok the names of
# those that succeeded (the others fail the test).
saving_pids=
saving() {
    sv_name=$1
    shift
    "$TWPING" -F "$work/$sv_name.twp" "$@" >"$work/$sv_name.out" 2>"$work/$sv_name.err" &
    e2e_track "$!"
    saving_pids="$saving_pids $sv_name:$!"
}
saved() {
    saved_ok=
    for sv in $saving_pids; do
        e2e_wait "${sv#*:}"
        sv_status=$?
        if [ "$sv_status" = 0 ]; then
            saved_ok="$saved_ok ${sv%%:*}"
        else
            fail "${sv%%:*}: twping -F exit $sv_status"
            show "$work/${sv%%:*}.err"
        fi
    done
    saving_pids=
}
owstats_of() { # NAME FLAGS...: owstats FLAGS $work/NAME.twp > $work/NAME.owstats
    os_name=$1
    shift
    "$OWSTATS" "$@" "$work/$os_name.twp" >"$work/$os_name.owstats" 2>"$work/$os_name.owstats.err" ||
        { fail "$os_name: owstats $*"; show "$work/$os_name.owstats.err"; return 1; }
}

# ------------------------------------------------------------------ every mode
common="-c 20 -i 0.02 -L 0.3"
keys="-u alice -k $pfs"
# shellcheck disable=SC2086 # keys and common are option lists
{
    saving open -A O $common "$server"
    saving auth -A A $keys $common "$server"
    saving enc -A E $keys $common "$server"
    saving mixed -A M $keys $common "$server"
    saving picked $keys $common "$server"
    saving zero -A O -Z $common "$server" # the wire's addresses zero, the file's not
    saving quiet -A O -Q $common "$server"
}
saved
# shellcheck disable=SC2046 # a list of names
headers_are 20 4 $(echo "$saved_ok" | sed 's/ quiet//')
for name in $saved_ok; do
    [ "$name" = quiet ] && continue
    owstats_of "$name" && same_report "$name: owstats prints what twping printed" \
        "$work/$name.owstats" "$work/$name.out"
done
[ ! -s "$work/quiet.out" ] &&
    "$OWSTATS" -M "$work/quiet.twp" 2>/dev/null | grep -q "^SENT${tab}20\$"
verdict "-Q: nothing printed, the session saved"

# ------------------------------------------------------------------ every output variant
long="-A O -c 40 -i 0.005 -L 0.3"
variants="machine:-M raw:-R verbose:-v sub10:-N10 percentiles:-a25,75,99 units:-nu"
flags_of() {
    case ${1#*:} in
    -N10) echo "-N 10" ;; -a25,75,99) echo "-a 25,75,99" ;; -nu) echo "-n u" ;; *) echo "${1#*:}" ;;
    esac
}
for variant in $variants; do
    # shellcheck disable=SC2046,SC2086 # the flags and long are option lists
    saving "${variant%%:*}" $(flags_of "$variant") $long "$server"
done
saved
for variant in $variants; do
    name=${variant%%:*} flags=$(flags_of "$variant")
    [ -s "$work/$name.twp" ] || continue
    # shellcheck disable=SC2086
    owstats_of "$name" $flags && same_report "$flags: owstats prints what twping printed" \
        "$work/$name.owstats" "$work/$name.out"
    # Our exact figures are the true ones (the records from owstats -R).
    if [ "$name" != machine ] && [ "$name" != raw ]; then
        "$OWSTATS" -R "$work/$name.twp" >"$work/$name.R" 2>/dev/null
        # shellcheck disable=SC2086
        python3 "$TRUTH" "$work/$name.twp" "$work/$name.R" "$work/$name.out" $flags \
            >"$work/truth" 2>&1
        verdict "$flags: twping's summary figures true ($(tail -1 "$work/truth" | sed 's/.*: //'))"
    fi
done
[ -s "$work/raw.out" ] && cmp -s "$work/raw.out" "$work/raw.owstats"
verdict "-R: owstats -R prints the records twping -R printed, byte for byte"

# ------------------------------------------------------------------ IPv6
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
    twampd_up tw6 '[::1]' "$work/conf"
    # shellcheck disable=SC2086
    saving ipv6 -A O $common "[::1]:$tw_port"
    saved
    if [ "$saved_ok" = " ipv6" ]; then
        headers_are 20 6 ipv6
        owstats_of ipv6 && same_report "IPv6: owstats prints what twping printed" \
            "$work/ipv6.owstats" "$work/ipv6.out"
        python3 "$VEC/twpfile.py" "$work/ipv6.twp" | grep -q '"sender_address": "::1"'
        verdict "IPv6: the stored addresses are ::1"
    fi
    e2e_stop "$tw_pid"
else
    echo "SKIP: no IPv6 loopback"
fi

# ------------------------------------------------------------------ the reference's files

# mask FILE: the values we compute exactly, which doc/compat.md says differ
# from the reference's bucket arithmetic: medians, jitters, -a percentiles.
# shellcheck disable=SC2317 # these views are called through same_through
mask() {
    sed -E -e 's|^([a-z -]+ time min/median/max = [^/]*/)[^/]*/|\1X/|' \
        -e 's|^([a-z-]+ jitter = )[^ ]*|\1X|' -e "s|^(${tab}[0-9.]+: )[^ ]*|\\1X|" "$1"
}
# buckets_apart FILE: -M without its <BUCKETS> lines, and those lines sorted.
# shellcheck disable=SC2317
buckets_apart() {
    sed '/^<BUCKETS>$/,/^<\/BUCKETS>$/{/^\t/d}' "$1"
    sed -n '/^<BUCKETS>$/,/^<\/BUCKETS>$/{/^\t/p}' "$1" | sort
}

# as_reference NAME OURS REFERENCE FLAGS...: -M with its buckets as a set,
# anything else line for line with the exact values masked (their truth is
# checked apart).
# shellcheck disable=SC2317
machine_view() { hosts "$1" >"$work/view"; buckets_apart "$work/view"; }
# shellcheck disable=SC2317
summary_view() { hosts "$1" >"$work/view"; mask "$work/view"; }
as_reference() {
    ar_name=$1 ar_ours=$2 ar_ref=$3
    shift 3
    case " $* " in
    *" -M "*) same_through machine_view "$ar_name: as the reference" "$ar_ref" "$ar_ours" ;;
    *) same_through summary_view "$ar_name: as the reference" "$ar_ref" "$ar_ours" ;;
    esac
}

"$OWSTATS" -R "$OUT/open200.twp" >"$work/open200.R" 2>"$work/open200.R.err" &&
    cmp -s "$work/open200.R" "$OUT/twping-as-owstats/open200.raw.txt"
verdict "owstats -R open200.twp: as the reference twping's record printer (its owstats fails)"
while IFS= read -r row; do
    file=$(printf '%s\n' "$row" | cut -f1)
    variant=$(printf '%s\n' "$row" | cut -f2)
    flags=$(printf '%s\n' "$row" | cut -f3)
    [ "$file" = file ] || [ "$variant" = raw ] && continue
    # shellcheck disable=SC2086 # flags are several words on purpose
    if ! "$OWSTATS" $flags "$OUT/$file" >"$work/ref.$variant" 2>"$work/ref.err"; then
        fail "owstats $flags $file"
        show "$work/ref.err"
        continue
    fi
    # shellcheck disable=SC2086
    as_reference "owstats $flags $file" "$work/ref.$variant" \
        "$OUT/owstats/open200.$variant.txt" $flags
    case " $flags " in *" -M "*) continue ;; esac
    # shellcheck disable=SC2086
    python3 "$TRUTH" "$OUT/$file" "$work/open200.R" "$work/ref.$variant" $flags >"$work/truth" 2>&1
    verdict "owstats $flags $file: figures true ($(tail -1 "$work/truth" | sed 's/.*: //'))"
done <"$OUT/owstats/manifest.tsv"

# The reference twping's runs: owstats on each saved file prints what twping
# printed in that run (README F), ours exactly where we correct nothing.
for variant in $(echo "$variants" | sed 's/units:/units-us:/'); do
    name=${variant%%:*} flags=$(flags_of "$variant")
    # shellcheck disable=SC2086
    "$OWSTATS" $flags "$OUT/$name.twp" >"$work/refrun.$name" 2>"$work/ref.err" ||
        { fail "owstats $flags $name.twp"; show "$work/ref.err"; continue; }
    if [ "$name" = raw ]; then
        cmp -s "$work/refrun.raw" "$OUT/raw.txt"
        verdict "owstats -R raw.twp: what the reference twping -R printed in that run"
        continue
    fi
    # shellcheck disable=SC2086
    as_reference "owstats $flags $name.twp vs twping $flags" "$work/refrun.$name" \
        "$OUT/$name.txt" $flags
done

# ------------------------------------------------------------------ stping -F
stampd_up stampd 127.0.0.1
for flags in -M -R; do
    name=st${flags#-}
    # shellcheck disable=SC2086 # one word
    if e2e_run "$name" 0 "$STPING" $flags -c 20 -i 0.01 -L 0.3 -F "$work/$name.twp" \
        "127.0.0.1:$st_port"; then
        [ "$flags" = -M ] && headers_are 20 4 "$name"
        owstats_of "$name" $flags && same_report "stping $flags: owstats reads its file" \
            "$work/$name.owstats" "$work/$name.out"
    else
        fail "stping -F $flags"
    fi
done
e2e_stop "$st_pid"

# ------------------------------------------------------------------ all or nothing
# shellcheck disable=SC2086
run 1 "-F into a missing directory" "$TWPING" -F "$work/no/such/dir/x.twp" $common "$server"
has "-F: the path named" "$work/err" "$work/no/such/dir/x.twp"
[ ! -e "$work/no" ]
verdict "-F: nothing created"

# A 4 s session for each way a run can end early, side by side: SIGKILL;
# two signals (the second ends the run at once); one SIGINT (an early stop
# with what was measured, saved finished as the reference saves it).
for name in killed twice early; do
    "$TWPING" -A O -c 200 -i 0.02 -L 0.3 -F "$work/$name.twp" "$server" >"$work/$name.out" \
        2>"$work/$name.err" &
    eval "${name}_pid=\$!"
    e2e_track "$!"
done
# shellcheck disable=SC2317 # called through e2e_poll
started() {
    for f in killed twice early; do grep -q '^Approximately' "$work/$f.out" || return 1; done
}
e2e_poll 50 0.1 started
sleep 1.5 # well into the test
kill -KILL "$killed_pid"
kill -INT "$twice_pid"
kill -TERM "$twice_pid" # a second, different signal: the same one twice may merge
kill -INT "$early_pid"
{ e2e_wait "$killed_pid"; } 2>/dev/null # without the shell's "Killed"
[ ! -e "$work/killed.twp" ]
verdict "SIGKILL during the test: no file at the -F path"
e2e_wait "$twice_pid"
twice_status=$?
leftover=$(find "$work" -name 'twice.twp*')
[ "$twice_status" = 2 ] && [ -z "$leftover" ]
verdict "two signals: exit 2, no file and no temporary file left"
if e2e_wait "$early_pid" && [ -s "$work/early.twp" ]; then
    n=$(python3 "$VEC/twpfile.py" "$work/early.twp" |
        python3 -c 'import json, sys; d = json.load(sys.stdin)
print(d["header"]["finished"], d["records_by_file_size"])')
    finished=${n% *} records=${n#* }
    [ "$finished" = 1 ] && [ "$records" -gt 0 ] && [ "$records" -lt 200 ]
    verdict "one SIGINT: the early stop saved ($records records, finished $finished)"
    owstats_of early && same_report "one SIGINT: owstats prints what twping printed" \
        "$work/early.owstats" "$work/early.out"
else
    fail "one SIGINT: twping exit 0 with a file"
    show "$work/early.err"
fi

head -c 7701 "$OUT/open200.twp" >"$work/cut.twp"
run 1 "owstats on a truncated file" "$OWSTATS" "$work/cut.twp"
has "truncated: the file and offset named" "$work/err" \
    "$work/cut.twp: offset 7684: truncated record"

e2e_finish
