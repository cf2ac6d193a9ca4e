#!/bin/sh
# owstats_raw.sh - the built owstats -R, a process like pScheduler runs it,
# against owstats_raw.py (the reference's printf format over records parsed
# from the file, no libowamp): on every .owp vector (both layouts, skips,
# legacy-free v3 files), on synthesised sessions of 40 000 records with
# loss, duplicates and reordering (bench/owp_synth, several output buffers),
# several files in one run, and a full disk (an error naming the output,
# exit 1, where printf's errors went unnoticed).
#
# Environment: top_builddir, top_srcdir (set by the harness). Exit 0 pass,
# 1 fail, 77 skip.
set -u

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
SYNTH=$top_builddir/bench/owp_synth
ORACLE=$top_srcdir/tests/e2e/owstats_raw.py
e2e_need --fail "$OWSTATS" python3
e2e_need "$SYNTH"
e2e_init

# same NAME FILE...: owstats -R FILE... equals the oracle, byte for byte.
same() {
    same_name=$1
    shift
    "$OWSTATS" -R "$@" >"$work/ours" 2>"$work/err"
    same_rc=$?
    python3 "$ORACLE" "$@" >"$work/want"
    if [ "$same_rc" = 0 ] && cmp -s "$work/ours" "$work/want"; then
        pass "$same_name: -R is the reference's printf ($(wc -l <"$work/want") lines)"
    else
        fail "$same_name: -R differs (exit $same_rc)"
        diff "$work/ours" "$work/want" | head -5
        show "$work/err"
    fi
}

for f in "$top_srcdir"/tests/vectors/owp/*.owp "$top_srcdir"/tests/vectors/powstream/*.owp; do
    same "$(basename "$f")" "$f"
done

mkdir "$work/synth"
"$SYNTH" "$work/synth" 2 40000 0.001 1767225600 15 faults || fail "owp_synth"
"$SYNTH" "$work/synth" 1 20000 0.01 1767225600 16 || fail "owp_synth clean"
for f in "$work"/synth/*.owp; do
    same "$(basename "$f")" "$f"
done
same "three files in one run" "$work"/synth/*.owp

if [ -w /dev/full ]; then
    "$OWSTATS" -R "$top_srcdir/tests/vectors/owp/clean100-to.owp" >/dev/full 2>"$work/err"
    full_rc=$?
    if [ "$full_rc" = 1 ] && grep -q "writing raw records" "$work/err"; then
        pass "-R to a full disk: exit 1, the error names the output"
    else
        fail "-R to a full disk: exit $full_rc"
        show "$work/err"
    fi
fi

e2e_finish
