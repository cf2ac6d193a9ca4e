#!/bin/sh
# store_clickhouse.sh - the ClickHouse store backend (collector/store/store_ch*)
# against a private server on loopback (lib_clickhouse.sh), through the
# store API (tests/e2e/store_clickhouse_tool.c) on both backends:
#  - the repository's .owp vectors imported into LMDB and into ClickHouse
#    give the same per-file results (stored, duplicate sessions, skip
#    ranges), and then the same paths, cursor, queries (raw, histograms,
#    auto; one row, per second, per minute), export and sessions; a second
#    import stores nothing; a batch import is the same as file by file;
#    unmeasured intervals list the same, a second copy is a duplicate;
#  - crash safety: an ingest SIGKILLed at store hooks ("begin", "records",
#    "histograms", "session", "cursor") over and over, and run again each
#    time, ends with exactly what a clean import holds, though ClickHouse
#    holds rows inserted twice;
#  - retention drops whole days and leaves the rest;
#  - errors: a wrong password, a password file open to others, a server
#    that is down or stalled (bounded by OWMESH_CLICKHOUSE_TIMEOUT), a
#    database without a store opened read-only, a schema newer than the
#    code, a malformed URL; none shows the password.
#
# Environment: top_builddir, top_srcdir (set by the harness). Exit 0 pass, 1 fail.
set -u

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/lib_clickhouse.sh"
TOOL=$top_builddir/tests/e2e/store_clickhouse_tool
e2e_need --fail "$TOOL" "$CLICKHOUSE_SERVER" curl
e2e_init

e2e_clickhouse_start
V=$top_srcdir/tests/vectors
FILES="$V/owp/*.owp $V/powstream/*.owp"
LM=$work/lmdb
CH=clickhouse://owmesh:$ch_password@127.0.0.1:$ch_http/owm
mkdir -p "$LM"

# both NAME ARGS...: the tool on LMDB then on ClickHouse; outputs in
# $work/NAME.lmdb and $work/NAME.ch; pass when both succeed and agree.
both() {
    both_name=$1
    shift
    "$TOOL" "$LM" "$@" >"$work/$both_name.lmdb" 2>&1
    both_l=$?
    "$TOOL" "$CH" "$@" >"$work/$both_name.ch" 2>&1
    both_c=$?
    if [ $both_l = 0 ] && [ $both_c = 0 ] && [ -s "$work/$both_name.lmdb" ] &&
        cmp -s "$work/$both_name.lmdb" "$work/$both_name.ch"; then
        pass "$both_name: the same on both ($(wc -l <"$work/$both_name.ch") lines)"
    else
        fail "$both_name: LMDB (exit $both_l) and ClickHouse (exit $both_c) differ"
        diff "$work/$both_name.lmdb" "$work/$both_name.ch" | head -20 | show
    fi
}

# ---------------------------------------------------------------- the same answers

# shellcheck disable=SC2086 # FILES is a list of globs
both import import n1 a b $FILES
has "import: a copy of a stored session is a duplicate" "$work/import.ch" \
    "server-stored.owp: duplicate records 0 ignored 10"
has "import: skip ranges are not stored" "$work/import.ch" "skips-to.owp: stored records 1642 ignored 358"
# shellcheck disable=SC2086
both import-again import n4 a b $FILES
check "import again (another node's cursor): every session a duplicate, nothing stored" \
    [ "$(grep -c ': stored' "$work/import-again.ch")" = 0 ]
both paths paths
both cursor cursor n1
both range range a b
R=$(cat "$work/range.ch")
R_FROM=${R% *}
R10="$R_FROM $((R_FROM + 600))" # the first ten minutes
# shellcheck disable=SC2086 # R is two numbers
{
    both query-auto query a b $R 0 auto
    both query-raw query a b $R 0 raw
    both query-hist query a b $R 0 hist
    both query-every-minute query a b $R 60 hist
    both query-every-second query a b $R10 1 auto
    both query-every-hour query a b $R 3600 auto
}
has "query: raw percentiles are exact" "$work/query-raw.ch" "source raw"
has "query: histograms say so" "$work/query-hist.ch" "source hist"
both export export a b
both sessions sessions a b
# A batch: the same results as file by file.
# shellcheck disable=SC2086
both batch batch n2 c d $V/powstream/*.owp $V/owp/loss-dup-to.owp $V/owp/skips-to.owp
both batch-export export c d
both batch-sessions sessions c d
# shellcheck disable=SC2086 # R is two numbers
both batch-hours query c d $R 3600 hist
both unm-add unm-add n3 1 a b 3900000000 3900000600 peer-down "no answer"
both unm-dup unm-add n3 2 a b 3900000000 3900000900 owampd-refused ""
has "unmeasured: a second interval at the same start is a duplicate" "$work/unm-dup.ch" duplicate
both unm-add2 unm-add n3 3 a b 3900000700 3900000800 owampd-refused "busy 'quoted' \\ text"
both unm-list unm a b

# ---------------------------------------------------------------- crash safety

CR=clickhouse://owmesh:$ch_password@127.0.0.1:$ch_http/crash
n_files=$(echo $FILES | wc -w)
kills=0 round=0 at=1
while [ $round -lt 200 ]; do
    round=$((round + 1))
    cur=$("$TOOL" "$CR" cursor n1 2>/dev/null | cut -d' ' -f1)
    [ "${cur:-0}" = "$n_files" ] && break
    # shellcheck disable=SC2086
    "$TOOL" "$CR" crash $at n1 a b $FILES >/dev/null 2>"$work/crash.err"
    grep -q '^killed at' "$work/crash.err" && kills=$((kills + 1))
    at=$((at % 9 + 2))
done
check "crash: $kills kills, then every file stored (cursor $cur of $n_files)" \
    [ "$kills" -ge 10 ] && [ "$cur" = "$n_files" ]
points=$(sort -u "$work/crash.err" | tr '\n' ' ')
for what in export sessions; do
    "$TOOL" "$CR" $what a b >"$work/crash-$what" 2>&1
    check "crash: $what equals the clean import's" cmp -s "$work/crash-$what" "$work/$what.ch"
done
# shellcheck disable=SC2086
"$TOOL" "$CR" query a b $R 0 hist >"$work/crash-hist" 2>&1
check "crash: histograms (minute, hour, day) equal the clean import's" \
    cmp -s "$work/crash-hist" "$work/query-hist.ch"
# shellcheck disable=SC2086
"$TOOL" "$CR" query a b $R 60 hist >"$work/crash-minutes" 2>&1
check "crash: per-minute rows equal the clean import's" \
    cmp -s "$work/crash-minutes" "$work/query-every-minute.ch"
stored=$(e2e_clickhouse_query "SELECT count() FROM crash.records")
distinct=$(e2e_clickhouse_query "SELECT count() FROM crash.records FINAL")
check "crash: ClickHouse holds rows inserted twice ($stored rows, $distinct distinct), read once" \
    [ "$stored" -gt "$distinct" ]

# ---------------------------------------------------------------- retention

PR=clickhouse://owmesh:$ch_password@127.0.0.1:$ch_http/prune
# shellcheck disable=SC2086
"$TOOL" "$PR" import n1 a b $FILES >/dev/null 2>&1
days=$(e2e_clickhouse_query "SELECT uniqExact(intDiv(send, 371085174374400)) FROM prune.records")
last_day=$(e2e_clickhouse_query "SELECT max(intDiv(send, 371085174374400)) FROM prune.records")
# Keep one day of raw records at the end of the newest day: every older day goes.
now=$(((last_day + 1) * 86400))
run 0 "prune: keep one day of raw records" "$TOOL" "$PR" prune $now 86400 0
left=$(e2e_clickhouse_query "SELECT uniqExact(intDiv(send, 371085174374400)) FROM prune.records")
check "prune: $days days of records before, $left after" [ "$days" -gt 1 ] && [ "$left" = 1 ]
"$TOOL" "$PR" query a b $R 0 auto >"$work/pruned" 2>&1
has "prune: a query over the pruned days reads histograms" "$work/pruned" "source hist"

# ---------------------------------------------------------------- errors

U=127.0.0.1:$ch_http
run 1 "a wrong password" "$TOOL" "clickhouse://owmesh:not-it@$U/owm" paths
has "a wrong password: ClickHouse says so, naming the store" "$work/err" "store clickhouse://$U/owm: "
check "a wrong password: not shown" sh -c "! grep -q not-it '$work/err'"
printf '%s\n' "$ch_password" >"$work/pw"
chmod 644 "$work/pw"
run 1 "a password file open to others" "$TOOL" "clickhouse://owmesh@$U/owm?password_file=$work/pw" paths
has "a password file open to others: refused, with the fix" "$work/err" "chmod 600 $work/pw"
chmod 600 "$work/pw"
run 0 "a password file" "$TOOL" "clickhouse://owmesh@$U/owm?password_file=$work/pw" paths
down=$(e2e_free_port 127.0.0.1)
started=$(date +%s)
run 1 "a server that is down" "$TOOL" "clickhouse://127.0.0.1:$down/owm" paths
has "a server that is down: cannot connect, naming the URL" "$work/err" \
    "store clickhouse://127.0.0.1:$down/owm: open: cannot connect"
kill -STOP "$ch_pid"
started=$(date +%s)
run 1 "a stalled server" env OWMESH_CLICKHOUSE_TIMEOUT=2 "$TOOL" "$CH" paths
took=$(($(date +%s) - started))
kill -CONT "$ch_pid"
check "a stalled server: gives up after the timeout (${took} s)" [ "$took" -le 8 ]
has "a stalled server: says so" "$work/err" "no answer within 2 s"
run 1 "read-only, a database without a store" "$TOOL" "clickhouse://$U/nothing" paths
has "read-only, a database without a store: says so" "$work/err" \
    "store clickhouse://$U/nothing: no owmesh store in database nothing"
e2e_clickhouse_query "INSERT INTO owm.meta VALUES ('schema_version', 99)" >/dev/null
run 1 "a schema newer than the code" "$TOOL" "$CH" paths
has "a schema newer than the code: refused" "$work/err" "schema version 99 is newer"
run 1 "a URL without a port" "$TOOL" "clickhouse://127.0.0.1/owm" paths
has "a URL without a port: says so" "$work/err" "no port"

e2e_finish
