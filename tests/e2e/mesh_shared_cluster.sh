#!/bin/sh
# mesh_shared_cluster.sh - mesh_shared_collectors.sh with both collectors
# writing to one 2-shard ClickHouse cluster (issue 12, "Done means"): each
# collector pulls only its nodes; one killed with SIGKILL, the other pulls its
# nodes within two heartbeats; the archive then holds every record of every
# spooled file once, and one shard's URL shows every path.
SHARED_ARCHIVE=cluster
export SHARED_ARCHIVE
exec sh "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/mesh_shared_collectors.sh"
