# stamp_lib.sh - what the STAMP end-to-end scripts share (sourced after
# lib.sh): the programs, a stampd on a free loopback port, and checks of the
# independent peer's JSON lines (tests/stamp_peer.py).

STAMPD=$top_builddir/node/stampd/stampd
STPING=$top_builddir/node/tools/stping
PEER=$top_srcdir/tests/stamp_peer.py
# The test key: identity alice, 32 octets 00..1f (the peer takes the hex).
STAMP_KEY_HEX=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f

# stamp_keyfile: $work/stamp.keys with alice's key and a second identity.
stamp_keyfile() {
    printf '# STAMP keys\nalice\t%s\nbob\t%s\n' "$STAMP_KEY_HEX" \
        "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100" >"$work/stamp.keys"
    chmod 0644 "$work/stamp.keys"
}

# stampd_up NAME HOST [OPTION...]: stampd -Z on a free UDP port of HOST
# (127.0.0.1 or ::1), its log in $work/NAME.log; sets $st_pid and $st_port.
stampd_up() {
    st_name=$1 st_host=$2
    shift 2
    st_tries=0
    while [ $st_tries -lt 5 ]; do
        st_port=$(e2e_free_port "$st_host")
        case $st_host in *:*) st_addr="[$st_host]:$st_port" ;; *) st_addr="$st_host:$st_port" ;; esac
        "$STAMPD" -Z -i 0 -S "$st_addr" "$@" >"$work/$st_name.log" 2>&1 &
        st_pid=$!
        e2e_track "$st_pid"
        e2e_poll 50 0.1 grep -qs "listening on" "$work/$st_name.log" && return 0
        e2e_stop "$st_pid" KILL 2>/dev/null
        st_tries=$((st_tries + 1))
    done
    echo "FAIL: stampd $st_name did not start on $st_host; its log:"
    cat "$work/$st_name.log"
    exit 1
}

# peer_json FILE EXPR: the Python expression EXPR holds over the peer's
# output FILE: rows (each answer, a dict), summary (the closing object) and
# log (a reflector's --log lines) are defined.
peer_json() {
    python3 - "$1" "$2" "${3:-}" <<'PY'
import json, sys
rows, summary, log = [], {}, []
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{"):
        obj = json.loads(line)
        (summary.update(obj) if obj.get("summary") else rows.append(obj))
if sys.argv[3]:
    log = [json.loads(x) for x in open(sys.argv[3]) if x.strip()]
ok = eval(sys.argv[2])
if not ok:
    print("    expression false: " + sys.argv[2])
    for r in (rows or log)[:3]:
        print("    " + json.dumps(r)[:400])
sys.exit(0 if ok else 1)
PY
}

# peer_send NAME ARGS...: the peer as a sender, its output in $work/NAME.json.
peer_send() {
    peer_name=$1
    shift
    python3 "$PEER" sender "$@" >"$work/$peer_name.json" 2>"$work/$peer_name.err" ||
        { echo "    peer $peer_name failed:"; show "$work/$peer_name.err"; }
}

# peer_reflector NAME HOST PORT ARGS...: the peer as a reflector in the
# background, its log of requests in $work/NAME.log; sets $pr_pid.
peer_reflector() {
    pr_name=$1 pr_host=$2 pr_port=$3
    shift 3
    python3 "$PEER" reflector --listen "$pr_host:$pr_port" --log "$work/$pr_name.log" "$@" \
        >"$work/$pr_name.out" 2>&1 &
    pr_pid=$!
    e2e_track "$pr_pid"
    e2e_poll 50 0.1 grep -qs ready "$work/$pr_name.out" ||
        { echo "FAIL: the peer reflector did not start"; cat "$work/$pr_name.out"; exit 1; }
}

# counter NAME LOGFILE: the last logged value of one of stampd's counters.
counter() {
    sed -n "s/.*counters.*[ ;:]$1 \([0-9]*\).*/\1/p" "$2" | tail -1
}
