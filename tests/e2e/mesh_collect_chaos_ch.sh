#!/bin/sh
# mesh_collect_chaos_ch.sh - mesh_collect_chaos.sh with the collector writing
# to ClickHouse (issue 12): SIGKILLed every ~20 s, mid-insert as often as
# not, and restarted, it never loses a record nor counts one twice.
CHAOS_STORE=clickhouse
CHAOS_SECONDS=${CHAOS_SECONDS:-75}
export CHAOS_STORE CHAOS_SECONDS
exec sh "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/mesh_collect_chaos.sh"
