#!/bin/sh
# owstats_vectors.sh - run the built owstats on every row of
# tests/vectors/owstats/manifest.tsv and compare with the reference's output.
#
#  - -M and -R outputs must be byte-identical, the <BUCKETS> lines in the
#    reference's hash-table order included (straddle256-from and
#    skips-pcap-to -b 0.00001 have buckets on both sides of a multiple of 256,
#    where that order is not ascending);
#  - -v per-record lines must be identical;
#  - default summaries must be identical except the values doc/compat.md says
#    we compute differently (median, jitter, -a percentiles), and those must
#    be the true ones: exact_percentiles.py recomputes every delay figure a
#    summary prints (min, median, max, jitter, each -a percentile) from the
#    reference's -R output of the file, nearest rank over first copies
#    (doc/statistics.md), and the printed text must equal it;
#  - the same truth check on every .owp vector (tests/vectors/owp and
#    powstream) with many percentiles, whole and in -N sub-sessions.
#
# Environment: top_builddir, top_srcdir (set by the harness). Exit 0 pass, 1 fail.
set -u

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
VEC=$top_srcdir/tests/vectors
MANIFEST=$VEC/owstats/manifest.tsv
TZ=UTC
export TZ
e2e_need --fail "$OWSTATS" python3
e2e_init

tab=$(printf '\t')

# The vectors were made where 127.0.0.1 reverse-resolves to "localhost".
normalize_hosts=0
lh=$(getent hosts 127.0.0.1 2>/dev/null | awk '{print $2; exit}')
if [ "$lh" != "localhost" ]; then
    normalize_hosts=1
    echo "note: 127.0.0.1 does not resolve to localhost here ('$lh'): host names are not compared"
fi

# Replace host names by HOST in summary headers and -M FROM_HOST/TO_HOST lines.
hosts_out() {
    if [ "$normalize_hosts" = 1 ]; then
        sed -e 's/^\(--- owping statistics from \[\)[^]]*\(\]:[0-9]* to \[\)[^]]*\]/\1HOST\2HOST]/' \
            -e "s/^FROM_HOST${tab}.*/FROM_HOST${tab}HOST/" \
            -e "s/^TO_HOST${tab}.*/TO_HOST${tab}HOST/" "$1"
    else
        cat "$1"
    fi
}

# Human-readable output: lines must match the reference's, except the values
# of the statistics we compute exactly (median, jitter, -a percentiles),
# which exact_percentiles.py checks against the truth instead.
mask_exact() {
    sed -e 's|^\(one-way delay min/median/max = [^/]*/\)[^/]*/|\1X/|' \
        -e 's|^\(one-way jitter = \)[^ ]*|\1X|' \
        -e "s|^\\(${tab}[0-9.]*: \\)[^ ]*|\\1X|" "$1"
}
compare_summary() { # ours ref
    mask_exact "$1" > "$1.masked"
    mask_exact "$2" > "$2.masked"
    diff "$1.masked" "$2.masked" | head -10
    cmp -s "$1.masked" "$2.masked"
}

# check_truth NAME OWP RAW SUMMARY FLAGS...: every printed delay figure true.
figures_true=0 figures_all=0
check_truth() {
    ct_name=$1
    shift
    python3 "$top_srcdir/tests/e2e/exact_percentiles.py" "$@" > "$work/truth"
    ct_rc=$?
    set -- $(sed -n 's/.*: \([0-9]*\) of \([0-9]*\) printed figures true$/\1 \2/p' "$work/truth")
    figures_true=$((figures_true + ${1:-0})) figures_all=$((figures_all + ${2:-0}))
    if [ "$ct_rc" = 0 ]; then
        pass "$ct_name: printed percentiles true (${1:-0} figures)"
    else
        fail "$ct_name: printed percentiles true"
        head -10 "$work/truth"
    fi
}

# (IFS=tab would merge the empty flags field of the "summary" rows, so the
# fields are cut out one by one.)
while IFS= read -r row; do
    [ -n "$row" ] || continue
    file=$(printf '%s\n' "$row" | cut -f1)
    variant=$(printf '%s\n' "$row" | cut -f2)
    flags=$(printf '%s\n' "$row" | cut -f3)
    rc=$(printf '%s\n' "$row" | cut -f4)
    name=${file%.owp}
    ref=$VEC/owstats/$name.$variant.txt
    ours=$work/$name.$variant.txt
    # shellcheck disable=SC2086 # flags are several words on purpose
    "$OWSTATS" $flags "$VEC/owp/$file" > "$ours" 2> "$work/stderr"
    got=$?
    ok=1
    if [ "$got" != "$rc" ]; then
        fail "$name.$variant: exit status $got, expected $rc"
        ok=0
    else
        hosts_out "$ours" > "$work/a"
        hosts_out "$ref" > "$work/b"
        case " $flags " in
        *" -M "* | *" -R "*)
            cmp -s "$work/a" "$work/b" || { fail "$name.$variant ($flags)"; diff "$work/a" "$work/b" | head -10; ok=0; }
            ;;
        *)
            if ! compare_summary "$work/a" "$work/b" > "$work/why"; then
                fail "$name.$variant"
                cat "$work/why"
                ok=0
            fi
            # shellcheck disable=SC2086
            check_truth "$name.$variant" "$VEC/owp/$file" "$VEC/owstats/$name.raw.txt" "$ours" $flags
            ;;
        esac
    fi
    [ "$ok" = 1 ] && pass "$name.$variant"
done < "$MANIFEST"

# Every vector file, many percentiles, whole and in sub-sessions; the records
# from owstats -R, byte-identical to the reference's (checked above).
PCTS=0,0.1,1,5,10,25,50,75,90,95,99,99.9,100
for f in "$VEC"/owp/*.owp "$VEC"/powstream/*.owp; do
    name=$(basename "$f" .owp)
    "$OWSTATS" -R "$f" > "$work/$name.R" 2>/dev/null
    for flags in "-a $PCTS" "-N 7 -a $PCTS" "-n u -a $PCTS"; do
        # shellcheck disable=SC2086
        if "$OWSTATS" $flags "$f" > "$work/$name.sum" 2>/dev/null; then
            check_truth "$name ($flags)" "$f" "$work/$name.R" "$work/$name.sum" $flags
        else
            fail "$name ($flags): owstats failed"
        fi
    done
done
echo "printed delay figures true: $figures_true of $figures_all"
check "every printed delay figure true" [ "$figures_true" = "$figures_all" -a "$figures_all" -gt 0 ]

e2e_finish
