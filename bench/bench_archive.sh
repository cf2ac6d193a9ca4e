#!/bin/sh
# bench_archive.sh [scale] - bench/bench_archive (the archive's figures, LMDB
# and ClickHouse side by side) against a private ClickHouse server on loopback,
# started and stopped here (tests/e2e/lib_clickhouse.sh). Run from the build
# directory: bench/bench_archive.sh 0.05   (scale 1 = 100 million records)
set -u
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/lib_clickhouse.sh"
e2e_init
e2e_clickhouse_start
"$top_builddir/bench/bench_archive" \
    "clickhouse://owmesh:$ch_password@127.0.0.1:$ch_http/bench" "$ch_tcp" "$ch_password" "${1:-0.05}"
status=$?
[ $status = 0 ] || failed=1
e2e_finish
