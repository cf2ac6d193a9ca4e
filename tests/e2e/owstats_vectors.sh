#!/bin/sh
# owstats_vectors.sh - run the built owstats on every row of
# tests/vectors/owstats/manifest.tsv and compare with the reference's output.
#
#  - -M and -R outputs must be byte-identical (the <BUCKETS> block, printed by
#    the reference in hash-table order, is compared as a sorted set);
#  - -v per-record lines must be identical;
#  - default summaries must be identical except the values doc/compat.md says
#    we compute differently (median, jitter, -a percentiles): those must be
#    within one bucket width of the reference's, or replace its 'nan'.
#
# Environment: top_builddir, top_srcdir (set by the harness). Exit 0 pass, 1 fail.
set -u

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
VEC=$top_srcdir/tests/vectors
MANIFEST=$VEC/owstats/manifest.tsv
TZ=UTC
export TZ
e2e_need --fail "$OWSTATS"
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

# -M: sort the lines inside each <BUCKETS> block.
sort_buckets() {
    awk '
        /^<BUCKETS>$/ { print; inb = 1; n = 0; next }
        /^<\/BUCKETS>$/ { cmd = "sort"; for (i = 1; i <= n; i++) print b[i] | cmd; close(cmd); inb = 0; print; next }
        inb { b[++n] = $0; next }
        { print }' "$1"
}

# Human-readable output: lines must match, except the values of the corrected
# statistics, each allowed to differ by one bucket width (in printed units)
# plus %.3g rounding, or to be a number where the reference printed nan. The
# median may also lie further below the reference's, inside [min, max]: the
# reference counts lost packets and so walks to a later bucket.
compare_summary() { # ours ref tolerance
    awk -v tol="$3" '
        function num_ok(a, b) {
            if (a == b) return 1
            if (b == "nan") return a != "nan"
            if (a == "nan") return 0
            d = a - b; if (d < 0) d = -d
            m = (a < 0 ? -a : a); if ((b < 0 ? -b : b) > m) m = (b < 0 ? -b : b)
            return d <= tol * 1.000001 + 0.005 * m
        }
        function median_ok(a, b, lo, hi) {
            if (num_ok(a, b)) return 1
            if (a == "nan" || b == "nan") return 0
            return a + 0 >= lo * 0.995 && a + 0 <= hi * 1.005 && a + 0 <= b + tol * 1.000001 + 0.005 * b
        }
        NR == FNR { ours[FNR] = $0; n1 = FNR; next }
        {
            n2 = FNR; o = ours[FNR]
            if (o == $0) next
            if ($0 ~ /^one-way delay min\/median\/max = /) {
                split($0, r, " "); split(o, s, " ")
                split(r[5], rv, "/"); split(s[5], sv, "/")
                if (rv[1] == sv[1] && rv[3] == sv[3] && median_ok(sv[2], rv[2], sv[1], sv[3])) {
                    sub(/ = [^ ]* /, " = X ", o); x = $0; sub(/ = [^ ]* /, " = X ", x)
                    if (o == x) next
                }
            } else if ($0 ~ /^one-way jitter = /) {
                split($0, r, " "); split(o, s, " ")
                if (num_ok(s[4], r[4]) && s[5] == r[5]) next
                if (num_ok(s[4], r[4]) && s[5] == "(P95-P50)" && r[5] == "(P95-P50)") next
            } else if ($0 ~ /^\t[0-9.]+: /) {
                split($0, r, " "); split(o, s, " ")
                if (s[1] == r[1] && num_ok(s[2], r[2])) next
            }
            printf "line %d differs:\n  ours: %s\n  ref:  %s\n", FNR, o, $0
            bad = 1
        }
        END {
            if (n1 != n2) { printf "line counts differ: ours %d, ref %d\n", n1, n2; bad = 1 }
            exit bad
        }' "$1" "$2"
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
        *" -M "*)
            sort_buckets "$work/a" > "$work/a2"
            sort_buckets "$work/b" > "$work/b2"
            cmp -s "$work/a2" "$work/b2" || { fail "$name.$variant (-M)"; diff "$work/a2" "$work/b2" | head -10; ok=0; }
            ;;
        *" -R "*)
            cmp -s "$work/a" "$work/b" || { fail "$name.$variant (-R)"; diff "$work/a" "$work/b" | head -10; ok=0; }
            ;;
        *)
            width=0.0001
            unit=m
            set -- $flags
            while [ $# -gt 0 ]; do
                case $1 in
                -b) width=$2; shift ;;
                -n) unit=$2; shift ;;
                esac
                shift
            done
            case $unit in
            n) scale=1000000000 ;; u) scale=1000000 ;; s) scale=1 ;; *) scale=1000 ;;
            esac
            tol=$(awk -v w="$width" -v s="$scale" 'BEGIN { printf "%.12g", w * s }')
            if ! compare_summary "$work/a" "$work/b" "$tol" > "$work/why"; then
                fail "$name.$variant"
                head -10 "$work/why"
                ok=0
            fi
            ;;
        esac
    fi
    [ "$ok" = 1 ] && pass "$name.$variant"
done < "$MANIFEST"

e2e_finish
