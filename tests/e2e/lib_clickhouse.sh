# lib_clickhouse.sh - a private ClickHouse server for a test (sourced after
# lib.sh and e2e_init):
#
#     . "$top_srcdir/tests/e2e/lib_clickhouse.sh"
#     e2e_clickhouse_start            # $ch_http, $ch_tcp, $ch_dir; or exit 1
#     e2e_clickhouse_query "SELECT 1" # the answer on stdout; status 1 on an error
#
# The server is Debian's clickhouse-server (18.16, installed by scripts/setup)
# run from the test's own directory: its own config.xml and users.xml, data,
# temporary files and logs under $work/clickhouse, listening on 127.0.0.1
# only, on two free ports. Nothing under /etc or /var/lib is read or written
# (it reads only the time zone data), and the system's clickhouse-server
# service is never used. The server is stopped with the test (e2e_track).
#
# Users: "default" (no password) and "owmesh" with the password in
# $ch_password, both from 127.0.0.1 only.
#
# A cluster (issue 12: collectors sharing one archive):
#
#     e2e_clickhouse_cluster_start 2  # servers 1..2: $ch_http_1, $ch_http_2, ...
#
# starts N such servers, each one shard of the cluster "owmesh" (named in
# every server's remote_servers, one replica per shard, no ZooKeeper: the
# store makes its tables on each server and a Distributed table over them).

CLICKHOUSE_SERVER=${CLICKHOUSE_SERVER:-/usr/sbin/clickhouse-server}
ch_password=loopback-only

# e2e_clickhouse_config DIR HTTP_PORT TCP_PORT: write DIR/config.xml and DIR/users.xml.
# An optional fourth argument is XML put in the server's configuration (the
# cluster's remote_servers).
e2e_clickhouse_config() {
    mkdir -p "$1/data" "$1/tmp" "$1/user_files" "$1/format_schemas" "$1/log"
    cat >"$1/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>information</level>
        <log>$1/log/server.log</log>
        <errorlog>$1/log/server.err.log</errorlog>
        <size>10M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$2</http_port>
    <tcp_port>$3</tcp_port>
    <path>$1/data/</path>
    <tmp_path>$1/tmp/</tmp_path>
    <user_files_path>$1/user_files/</user_files_path>
    <format_schema_path>$1/format_schemas/</format_schema_path>
    <users_config>$1/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>67108864</mark_cache_size>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <max_concurrent_queries>32</max_concurrent_queries>
${4:-}
</yandex>
XML
    ch_sha=$(printf %s "$ch_password" | sha256sum | cut -d' ' -f1)
    cat >"$1/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
        <owmesh>
            <password_sha256_hex>$ch_sha</password_sha256_hex>
            <networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </owmesh>
    </users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
        <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
    </interval></default></quotas>
</yandex>
XML
}

e2e_clickhouse_ping() { curl -s -m 2 "http://127.0.0.1:$ch_http/ping" 2>/dev/null | grep -q '^Ok\.'; }

# e2e_clickhouse_start: start the server, wait until it answers /ping (a
# fresh one takes ~0.2 s). A port taken between choosing it and the server's
# bind makes the server exit at once: tried again on new ports, 3 times.
e2e_clickhouse_start() {
    ch_dir=$work/clickhouse
    for ch_try in 1 2 3; do
        ch_http=$(e2e_free_port 127.0.0.1)
        ch_tcp=$(e2e_free_port 127.0.0.1)
        e2e_clickhouse_config "$ch_dir" "$ch_http" "$ch_tcp"
        "$CLICKHOUSE_SERVER" --config-file="$ch_dir/config.xml" >"$ch_dir/log/stdout" 2>&1 &
        ch_pid=$!
        e2e_track "$ch_pid"
        if e2e_poll 100 0.1 e2e_clickhouse_ping; then
            return 0
        fi
        kill -0 "$ch_pid" 2>/dev/null && e2e_stop "$ch_pid"
        echo "    clickhouse-server did not answer on 127.0.0.1:$ch_http (try $ch_try):"
        tail -5 "$ch_dir/log/server.err.log" 2>/dev/null | sed 's/^/    /'
    done
    fail "a private clickhouse-server starts on loopback"
    e2e_finish
}

# e2e_clickhouse_cluster_start N: N servers, shards of the cluster "owmesh";
# server i answers HTTP on $ch_http_i (TCP $ch_tcp_i), lives in
# $work/clickhouse_i and runs as $ch_pid_i. A port race restarts them all.
e2e_clickhouse_cluster_start() {
    for ch_try in 1 2 3; do
        ch_shards=
        for i in $(seq 1 "$1"); do
            eval "ch_http_$i=\$(e2e_free_port 127.0.0.1) ch_tcp_$i=\$(e2e_free_port 127.0.0.1)"
            eval "ch_shards=\"\$ch_shards<shard><replica><host>127.0.0.1</host><port>\$ch_tcp_$i</port><user>owmesh</user><password>$ch_password</password></replica></shard>\""
        done
        ch_remote="<remote_servers><owmesh>$ch_shards</owmesh></remote_servers>"
        ch_up=0
        for i in $(seq 1 "$1"); do
            eval "ch_dir=\$work/clickhouse_$i ch_http=\$ch_http_$i ch_tcp=\$ch_tcp_$i"
            e2e_clickhouse_config "$ch_dir" "$ch_http" "$ch_tcp" "$ch_remote"
            "$CLICKHOUSE_SERVER" --config-file="$ch_dir/config.xml" >"$ch_dir/log/stdout" 2>&1 &
            eval "ch_pid_$i=$!"
            e2e_track $!
        done
        for i in $(seq 1 "$1"); do
            eval "ch_http=\$ch_http_$i"
            e2e_poll 100 0.1 e2e_clickhouse_ping && ch_up=$((ch_up + 1))
        done
        [ "$ch_up" = "$1" ] && return 0
        for i in $(seq 1 "$1"); do
            eval "p=\$ch_pid_$i"
            kill -0 "$p" 2>/dev/null && e2e_stop "$p"
        done
        echo "    a clickhouse-server of the cluster did not answer (try $ch_try)"
    done
    fail "a private 2-shard ClickHouse cluster starts on loopback"
    e2e_finish
}

# e2e_clickhouse_query SQL [USER PASSWORD]: POST the query (every statement,
# reads too: a GET is read-only); its answer on stdout; 1 on an HTTP error
# (the server's message on stderr).
e2e_clickhouse_query() {
    ch_auth=
    [ $# -ge 3 ] && ch_auth="-u $2:$3"
    # shellcheck disable=SC2086 # ch_auth is empty or two words
    curl -s -S -m 30 $ch_auth --data-binary "$1" -o "$work/ch.out" -w '%{http_code}' \
        "http://127.0.0.1:$ch_http/" >"$work/ch.status" 2>"$work/ch.err"
    if [ "$(cat "$work/ch.status")" = 200 ]; then
        cat "$work/ch.out"
        return 0
    fi
    cat "$work/ch.out" "$work/ch.err" >&2
    return 1
}
