#!/bin/sh
# mesh_shared_collectors.sh - two collectors that share one archive divide a
# mesh (issue 12): a coordinator, four nodes on 127.0.0.2..5 (keeping acked
# files, -R, so that the test can recount them) and two collectors "ca" and
# "cb". By default they keep LMDB stores of their own, declared as one
# archive with -a; with SHARED_ARCHIVE=cluster (tests/e2e/mesh_shared_cluster.sh)
# they write to one 2-shard ClickHouse cluster, ca through shard 1 and cb
# through shard 2, and the coordinator sees one archive without -a.
# Rendezvous hashing gives ca the nodes n1 and n2, cb n3 and n4 (pinned in
# check_assign.c).
#  - each collector pulls exactly the nodes the coordinator assigned it;
#  - ca is killed with SIGKILL: cb pulls n1 and n2 within two heartbeat
#    periods (-H) of the kill, plus a margin;
#  - no node is ever pulled by both at once: both collectors log into one
#    file, in the order things happened, and every "collecting from" of a
#    node must follow the other collector's "stopped pulling" of it (or
#    ca's death);
#  - every spooled file ends up stored, and each store's sent / lost / dups
#    equal the sums of `owstats -M` over the files its collector stored
#    (the cluster: the archive's over every stored file, so nothing was lost
#    or counted twice, and `owmesh query` through one shard shows every path).
#
# Environment (set by the harness): top_builddir, top_srcdir.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need "$OWAMPD" "$OWMESH_NODE" "$OWMESH_COORD" "$OWMESH_COLLECTOR" "$OWMESH" "$OWSTATS" python3
e2e_init
ARCHIVE=${SHARED_ARCHIVE:-lmdb}
if [ "$ARCHIVE" = cluster ]; then
    . "$top_srcdir/tests/e2e/lib_clickhouse.sh"
    e2e_clickhouse_cluster_start 2
    U=owmesh:$ch_password@127.0.0.1
    store_ca="clickhouse://$U:$ch_http_1/mesh?cluster=owmesh&shards=127.0.0.1:$ch_http_2"
    store_cb="clickhouse://$U:$ch_http_2/mesh?cluster=owmesh&shards=127.0.0.1:$ch_http_1"
    ARCHIVE_URL="clickhouse://$U:$ch_http_2/mesh" # an analyst's: the whole cluster
fi

NODES="n1 n2 n3 n4"
HB=2 # the collectors' heartbeat (-H), seconds
# shellcheck disable=SC2086
e2e_mesh_init $NODES
# shellcheck disable=SC2086
e2e_mesh_keygen coord ca cb $NODES
dport=$(e2e_free_port 127.0.0.2)
MESH=$work/mesh.json
LOG=$work/collectors.log
collectors=$(printf '  "collectors": {"ca": {"public-key": "%s"}, "cb": {"public-key": "%s"}},' \
    "$(e2e_mesh_key ca)" "$(e2e_mesh_key cb)")
# shellcheck disable=SC2086
e2e_mesh_full_json quick 0.02 50 1 $NODES |
    awk -v c="$collectors" '/^  "groups"/ { print c } { print }' >"$MESH" # keys hold sed's & and |

e2e_coordinator_start "$MESH"
for n in $NODES; do
    e2e_mesh_node_start "$n" "$n" -D "tcp://$(e2e_mesh_addr "$n"):$dport" -R 3600
done

# start_collector NAME: owmesh-collector NAME into $work/store-NAME, sharing
# archive "e2e-shared" (or into its shard of the cluster); both append to one
# log, so its lines are in time order.
start_collector() {
    if [ "$ARCHIVE" = cluster ]; then
        eval "where=\"-s \$store_$1 -q $work/quarantine-$1\""
    else
        where="-s $work/store-$1 -a e2e-shared"
    fi
    # shellcheck disable=SC2086 # e2e_run_as is empty or "-U USER"; where is two options
    "$OWMESH_COLLECTOR" -Z -v $e2e_run_as -C "$mesh_endpoint" -k "$work/keys/${1}_secret" \
        -K "$work/keys/coord" -m "$MESH" -H $HB $where \
        >>"$LOG" 2>&1 &
    eval "pid_$1=\$!"
    e2e_track "$!"
}

# The shared log as events, in order: "PID NODE +" (collecting from), "PID
# NODE -" (stopped pulling), "PID * x" (killed by the test).
events() {
    sed -n -e 's/^owmesh-collector\[\([0-9]*\)\]: .*node \(n[0-9]*\): collecting from.*/\1 \2 +/p' \
        -e 's/^owmesh-collector\[\([0-9]*\)\]: .*node \(n[0-9]*\): stopped pulling.*/\1 \2 -/p' \
        -e 's/^E2E: collector \([0-9]*\) killed$/\1 * x/p' "$LOG"
}
# The nodes collector NAME pulls now: "n1 n2".
pulling() {
    eval "p=\$pid_$1"
    events | awk -v pid="$p" '$1 == pid && $3 == "+" { on[$2] = 1 }
        $1 == pid && $3 == "-" { delete on[$2] }
        $1 == pid && $3 == "x" { split("", on) }
        END { for (n in on) print n }' | sort | tr '\n' ' ' | sed 's/ $//'
}

spooled() { for n in $NODES; do [ "$(ls "$work/$n/data/spool" 2>/dev/null | grep -c '\.owp$')" -ge 2 ] || return 1; done; }
e2e_poll 60 0.5 spooled
verdict "every node spools .owp files"

# ------------------------------------------------------------------ 1. the division

# ca alone: the only live collector of the archive owns every node.
start_collector ca
alone() { [ "$(pulling ca)" = "n1 n2 n3 n4" ]; }
e2e_poll 100 0.2 alone
verdict "ca, alone, pulls every node ($(pulling ca))"
stored_by() { eval "p=\$pid_$1"; grep "owmesh-collector\[$p\]: .*node $2: file .* records stored" "$LOG" | wc -l; }
e2e_poll 60 0.5 eval '[ "$(stored_by ca n3)" -ge 1 ]'
verdict "ca stores files of n3"
# cb joins: it wins n3 and n4, which ca lets go of first.
start_collector cb
divided() { [ "$(pulling ca)" = "n1 n2" ] && [ "$(pulling cb)" = "n3 n4" ]; }
e2e_poll 100 0.2 divided
verdict "cb joined: ca pulls n1 n2 ($(pulling ca)), cb pulls n3 n4 ($(pulling cb))"
grep -q 'node n3: collector cb (was ca: still live' "$work/coord.log" &&
    ! grep -q 'node n[12]: collector cb (was ca: still live' "$work/coord.log"
verdict "the coordinator moved only cb's share, and logged it"
e2e_poll 60 0.5 eval '[ "$(stored_by cb n3)" -ge 1 ] && [ "$(stored_by cb n4)" -ge 1 ]'
verdict "cb stores files of its nodes"

# ------------------------------------------------------------------ 2. a collector killed

sleep 1
t0=$(date +%s.%N)
e2e_stop "$pid_ca" KILL
echo "E2E: collector $pid_ca killed" >>"$LOG"
taken() { [ "$(pulling cb)" = "n1 n2 n3 n4" ]; }
e2e_poll 200 0.1 taken
ok=$?
took=$(echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }')
[ $ok = 0 ]
verdict "cb pulls ca's nodes after ca was killed ($(pulling cb), after $took s)"
bound=$(echo "$HB" | awk '{ print 2 * $1 + 1.5 }')
echo "$took $bound" | awk '{ exit !($1 <= $2) }'
verdict "within two heartbeat periods plus a margin: $took s <= $bound s"
grep -q "node n1: collector cb (was ca: not heard from for" "$work/coord.log"
verdict "the coordinator logs the reassignment and why"

# ------------------------------------------------------------------ 3. never two at once

# Replay the shared log: a node may be "collecting from" only while no other
# collector pulls it (stopped pulling, or killed).
overlaps=$(events | awk '$3 == "x" { for (n in who) if (who[n] == $1) delete who[n]; next }
    $3 == "+" { if (($2 in who) && who[$2] != $1) print $2 " by " who[$2] " and " $1; who[$2] = $1 }
    $3 == "-" { if (who[$2] == $1) delete who[$2] }')
[ -z "$overlaps" ]
verdict "no node pulled by two collectors at once${overlaps:+: $overlaps}"

# ------------------------------------------------------------------ 4. everything stored

# stored_list [PID]: "NODE SEQ" of the files collector PID (default: any)
# stored, or found stored already ("session already stored": in a shared
# archive, a collector killed after its insert and before its own log line
# leaves that to the next one).
stored_list() {
    sed -n "s/^owmesh-collector\[${1:-[0-9]*}\]: .*node \(n[0-9]*\): file \([0-9]*\) .*\(records stored\|session already stored\).*/\1 \2/p" \
        "$LOG" | sort -u
}
# stored_seqs NODE: the seqs of NODE's files some collector stored.
stored_seqs() { stored_list | sed -n "s/^$1 //p" | sort -nu; }
e2e_mark_spools
caught_up() {
    for n in $NODES; do
        eval "s=\$s_$n"
        last=$(stored_seqs "$n" | tail -1)
        [ -n "$last" ] && [ "$last" -ge "$s" ] || return 1
    done
}
e2e_poll 40 0.5 caught_up
verdict "cb caught up with every node's spool"
e2e_stop "$pid_cb"
for n in $NODES; do e2e_mesh_node_stop "$n"; done
missing=
for n in $NODES; do
    for f in "$work/$n/data/spool/"*.owp; do
        [ -e "$f" ] || continue
        seq=$(basename "$f" | sed 's/^0*\([0-9][0-9]*\)\..*/\1/')
        eval "s=\$s_$n"
        [ "$seq" -le "$s" ] || continue
        stored_seqs "$n" | grep -qx "$seq" || missing="$missing $n:$seq"
    done
done
[ -z "$missing" ]
verdict "every .owp file spooled was stored by a collector${missing:+ (missing:$missing)}"

# recount NAME: "SENT LOST DUPS" over the files NAME's collector stored
# (NAME "all": every collector's, each file once).
recount() {
    p=
    [ "$1" = all ] || eval "p=\$pid_$1"
    stored_list "$p" >"$work/stored-$1"
    for n in $NODES; do
        for f in "$work/$n/data/spool/"*.owp; do
            seq=$(basename "$f" | sed 's/^0*\([0-9][0-9]*\)\..*/\1/')
            grep -qx "$n $seq" "$work/stored-$1" && "$OWSTATS" -M "$f" 2>/dev/null
        done
    done | awk '$1 == "SENT" { s += $2 } $1 == "LOST" { l += $2 } $1 == "DUPS" { d += $2 }
                END { print s + 0, l + 0, d + 0 }'
}
ROWS="python3 $top_srcdir/tests/e2e/query_rows.py"
if [ "$ARCHIVE" = cluster ]; then
    want=$(recount all)
    got=$("$OWMESH" query --store "$ARCHIVE_URL" --mesh "$MESH" --from 2020-01-01 --to now --json \
        2>>"$work/query.err" | $ROWS sums)
    [ -n "$want" ] && [ "$got" = "$want" ]
    verdict "the cluster: sent/lost/dups = owstats -M over every stored file: $got = $want"
    npaths=$("$OWMESH" query --store "$ARCHIVE_URL" --mesh "$MESH" --from 2020-01-01 --to now \
        --per-path --json 2>>"$work/query.err" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["paths"]))')
    [ "$npaths" = 12 ]
    verdict "owmesh query through one shard shows every path of the mesh ($npaths of 12)"
fi
for c in ca cb; do
    [ "$ARCHIVE" = cluster ] && break
    want=$(recount $c)
    got=$("$OWMESH" query --store "$work/store-$c" --mesh "$MESH" --from 2020-01-01 --to now --json \
        2>>"$work/query.err" | $ROWS sums)
    [ -n "$want" ] && [ "$got" = "$want" ]
    verdict "store of $c: sent/lost/dups = owstats -M over the files $c stored: $got = $want"
done

e2e_stop "$coord_pid"
if [ "$failed" != 0 ]; then
    e2e_show_logs 30 coord n1 collectors
    [ -f "$work/query.err" ] && show "$work/query.err"
fi
e2e_finish
