#!/bin/sh
# clickhouse_private.sh - the private ClickHouse server the archive's tests
# run on (tests/e2e/lib_clickhouse.sh), and what the ClickHouse store relies
# on from Debian 12's clickhouse-server 18.16:
#  - it starts from the test's own directory, answers on 127.0.0.1 only,
#    and writes nothing outside that directory;
#  - records inserted twice (a collector killed between the insert and its
#    cursor) count once in a ReplacingMergeTree read with FINAL;
#  - RowBinary over HTTP, exact percentiles (quantilesExact), a user with a
#    password (a wrong one is refused with HTTP 401);
#  - it stops cleanly on SIGTERM.
#
# Environment: top_builddir, top_srcdir (set by the harness). Exit 0 pass, 1 fail.
set -u

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/lib_clickhouse.sh"
e2e_need --fail "$CLICKHOUSE_SERVER" curl python3
e2e_init

e2e_clickhouse_start
pass "a private clickhouse-server answers /ping on 127.0.0.1:$ch_http"
listeners=$(ss -ltnH "( sport = :$ch_http or sport = :$ch_tcp )" 2>/dev/null | awk '{print $4}' | sort -u)
[ -n "$listeners" ] && ! echo "$listeners" | grep -qv '^127\.0\.0\.1:'
verdict "it listens on 127.0.0.1 only ($(echo $listeners))"
q() { e2e_clickhouse_query "$@"; }
q "CREATE DATABASE owm" >/dev/null &&
    q "CREATE TABLE owm.rec (path UInt32, send UInt64, recv UInt64, seq UInt32, file UInt64,
       d Date MATERIALIZED toDate(toDateTime(intDiv(send, 4294967296) - 2208988800)))
       ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(d) ORDER BY (path, send, seq)" >/dev/null
verdict "a ReplacingMergeTree partitioned by day (NTP send times)"
[ -f "$ch_dir/data/metadata/owm/rec.sql" ]
verdict "its tables are in the test's directory"

# 1000 records of path 7: delays 1..1000 us in 32.32 NTP units, sent from 2026-12-07.
python3 - "$work/rows.rb" <<'PY'
import struct, sys
base = (3974112000 << 32)  # 2026-12-07T00:00:00Z in NTP seconds, as 32.32
with open(sys.argv[1], "wb") as f:
    for i in range(1000):
        send = base + (i << 32) // 10
        recv = send + ((i + 1) << 32) // 1000000
        f.write(struct.pack("<IQQIQ", 7, send, recv, i, 1))
PY
insert() {
    curl -s -S -m 30 --data-binary @"$work/rows.rb" -o "$work/ins.out" -w '%{http_code}' \
        "http://127.0.0.1:$ch_http/?query=INSERT%20INTO%20owm.rec%20(path,send,recv,seq,file)%20FORMAT%20RowBinary"
}
[ "$(insert)" = 200 ] && [ "$(insert)" = 200 ]
verdict "RowBinary over HTTP, the same 1000 records twice (a crash before the cursor)"
[ "$(q "SELECT count() FROM owm.rec FINAL")" = 1000 ]
verdict "read with FINAL, they count once ($(q "SELECT count() FROM owm.rec") rows stored)"
got=$(q "SELECT quantilesExact(0.5, 0.99)(intDiv((recv - send) * 1000000, 4294967296)) FROM owm.rec FINAL WHERE path = 7")
# Nearest rank over 1..1000 us (rounded down by the integer division): 500 and 990.
case $got in
'[499,989]' | '[500,990]') pass "quantilesExact over one path: $got us" ;;
*) fail "quantilesExact over one path: $got" ;;
esac
[ "$(q "SELECT 1" owmesh "$ch_password")" = 1 ]
verdict "user owmesh with its password"
! q "SELECT 1" owmesh wrong 2>/dev/null && [ "$(cat "$work/ch.status")" = 401 ]
verdict "a wrong password: HTTP 401"
! q "SELEKT 1" 2>/dev/null && grep -q '^Code: 62' "$work/ch.out"
verdict "a bad query: an HTTP error whose body starts with Code: N"

kill "$ch_pid"
e2e_poll 100 0.1 sh -c "! kill -0 $ch_pid 2>/dev/null"
verdict "SIGTERM stops it"
e2e_finish
