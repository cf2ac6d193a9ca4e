#!/bin/sh
# owampd_limits.sh - owampd as a server for third parties, end to end: the
# real owampd with an owampd.limits file and the real owping as clients from
# several loopback addresses (owping -S 127.0.x.y, each one a distinct
# client to the policy). Shows that
#   - an open-mode client from a class with allow_open_mode=off is refused,
#     and the same address succeeds when authenticated;
#   - the most specific "assign net" wins (/8 < /24 < /32);
#   - a request over its class's bandwidth is refused with the reason logged,
#     and two concurrent clients whose sum exceeds the limit get one refusal;
#   - the disk limit refuses a too-large receive session, counts what stays
#     stored (also across a restart), delete_on_fetch removes a fetched file;
#   - a bad owampd.conf / owampd.limits line, or an "assign user" without a
#     pass-phrase, stops start-up naming FILE:LINE;
#   - files left by an earlier run do not stop it; malformed messages and
#     idle connections close only that connection.
# Loopback (127.0.0.0/8) only. Environment: top_builddir, top_srcdir.
set -u

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need "$OWAMPD" "$OWPING" python3
e2e_init

port=$(e2e_free_port)
server=127.0.0.1:$port

conf=$work/conf
data=$work/data
mkdir -p "$conf" "$data" "$work/var"
# The manual's file names (owampd.*); owamp-server.* is covered elsewhere.
cp "$LAB_PFS" "$conf/owampd.pfs"
printf '# owampd_limits.sh\ncontroltimeout 3\ndiskfudge 1.0\n' >"$conf/owampd.conf"
cat >"$conf/owampd.limits" <<'EOF'
# every loopback client is "wide" (no open mode) unless a longer prefix says otherwise
limit root with allow_open_mode=on
limit wide with parent=root, allow_open_mode=off
limit mid with parent=root
limit closed with parent=mid, allow_open_mode=off
limit slow with parent=root, bandwidth=30k
limit tiny with parent=root, disk=1k
limit dof with parent=root, delete_on_fetch=on
assign default root
assign net 127.0.0.0/8 wide
assign net 127.0.1.0/24 mid
assign net 127.0.1.7/32 closed
assign net 127.0.1.3 slow
assign net 127.0.1.4 tiny
assign net 127.0.1.5 dof
assign user alice mid
EOF

start_daemon() { # log file
    e2e_owampd_start "$server" "$1" "$work/var" -c "$conf" -d "$data"
}

stop_daemon() {
    e2e_stop "$owampd_pid"
}

# owping NAME SRC [options...]: one run from loopback address SRC; output in $work/NAME.out.
ping_from() {
    name=$1
    src=$2
    shift 2
    "$OWPING" -S "$src" -c 10 -i 0.01 -L 1 "$@" "$server" >"$work/$name.out" 2>&1
}

# Number of stored session files under a directory.
nfiles() {
    find "$1" -name '*.owp' 2>/dev/null | wc -l | tr -d ' '
}

# ---------------------------------------------------------------- start-up errors name FILE:LINE
bad=$work/bad
mkdir -p "$bad"
cp "$LAB_PFS" "$bad/owampd.pfs"
printf 'authmode AEO\n\nbogus_directive 1\n' >"$bad/owampd.conf"
# start_bad N: owampd on the bad configuration, output in $work/badN.out; its status.
start_bad() {
    "$OWAMPD" -Z $rootflag -c "$bad" -d "$data" -R "$bad" -S "$server" >"$work/bad$1.out" 2>&1
}
start_bad 1
check "an unknown owampd.conf directive stops start-up" [ $? -ne 0 ]
check "... naming owampd.conf:3" grep -q 'owampd.conf:3' "$work/bad1.out"
check "... and closing with the reference's line" \
    grep -q 'owampd.conf:3 Problem parsing conffile' "$work/bad1.out"

printf 'authmode AEO\n' >"$bad/owampd.conf"
printf 'limit root with bandwidth=1M\nlimit x with parent=root, bandwidth=fast\n' >"$bad/owampd.limits"
start_bad 2
check "a malformed owampd.limits value stops start-up" [ $? -ne 0 ]
check "... naming owampd.limits:2 and the key" grep -q 'owampd.limits:2.*bandwidth' "$work/bad2.out"

printf 'limit root with bandwidth=1M\n# bob has no pass-phrase\nassign user bob root\n' >"$bad/owampd.limits"
start_bad 3
check "an assign user without a pfs entry stops start-up" [ $? -ne 0 ]
check "... naming owampd.limits:3 and the user" grep -q 'owampd.limits:3.*"bob"' "$work/bad3.out"

# ---------------------------------------------------------------- files left by an earlier run
mkdir -p "$data/catalog/junkdir" "$data/hierarchy/gone" "$data/hierarchy/root/dof"
ln -s /nonexistent/x.owp "$data/catalog/0123456789abcdef0123456789abcdef.owp"
printf 'junk' >"$data/hierarchy/gone/0123456789abcdef0123456789abcdef.owp"
printf 'half a file' >"$data/hierarchy/root/dof/fedcba9876543210fedcba9876543210.owp.tmp"

if ! start_daemon "$work/owampd.log"; then
    echo "FAIL: owampd did not start; its log:"
    cat "$work/owampd.log"
    exit 1
fi
pass "owampd starts with the limits file and stale files in its data directory"
check "a file of an unknown class is ignored with a warning" \
    grep -q 'Ignoring ".*hierarchy/gone/0123456789abcdef0123456789abcdef.owp": No associated user class' "$work/owampd.log"
check "the stale catalog entry is gone" [ ! -L "$data/catalog/0123456789abcdef0123456789abcdef.owp" ]

# An idle connection (greeting read, nothing sent) is closed after controltimeout (3 s);
# it runs in the background while the other cases go on.
python3 - "$port" >"$work/idle.out" 2>&1 <<'EOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)
s.settimeout(15)
greeting = s.recv(64)
t0 = time.monotonic()
try:
    rest = s.recv(64)
except socket.timeout:
    rest = None
print("closed" if rest == b"" else "open", round(time.monotonic() - t0, 1))
EOF
idle_pid=$!
e2e_track "$idle_pid"

# ---------------------------------------------------------------- allow_open_mode and netmasks
ping_from open_closed 127.0.1.7
check "open mode from a /32 class with allow_open_mode=off is refused" [ $? -ne 0 ]
check "... because the greeting does not offer open mode" grep -q 'offers AE' "$work/open_closed.out"
ping_from auth_closed 127.0.1.7 -A A -u alice -k "$conf/owampd.pfs"
check "the same address succeeds when authenticated" [ $? -eq 0 ]
check "... with a report" grep -q '^SID:' "$work/auth_closed.out"
ping_from open_mid 127.0.1.9 -t
check "open mode from the /24 (allow_open_mode on) inside the /8 (off) succeeds" [ $? -eq 0 ]
ping_from open_wide 127.0.2.9 -t
check "open mode from the /8 only (allow_open_mode off) is refused" [ $? -ne 0 ]
check "the access log names the class of the /24 client" \
    grep -q 'accepted from userid(nil):(\[127.0.1.9\]:[0-9]*) mode open class root/mid' "$work/owampd.log"
check "the access log names identity and mode of the authenticated client" \
    grep -q 'accepted from userid(alice):(\[127.0.1.7\]:[0-9]*) mode authenticated class root/mid' "$work/owampd.log"

# ---------------------------------------------------------------- bandwidth
# -i 0.01: 100 packets/s x (20 + 8 + 14) bytes x 8 = 33600 bit/s > 30k.
ping_from bw_over 127.0.1.3 -t
check "a session over the class bandwidth is refused" [ $? -ne 0 ]
check "... owping names the refusal" grep -q 'refused the "to" session (Accept 1' "$work/bw_over.out"
check "... the log gives the reason" \
    grep -q 'ResReq DENIED: slow:request:bandwidth = 33600 (result = 0, limit = 30000)' "$work/owampd.log"
# -i 0.02: 16800 bit/s fits alone, two at once do not.
ping_from bw_ok 127.0.1.3 -t -i 0.02
check "a session within the class bandwidth succeeds" [ $? -eq 0 ]
ping_from bw_a 127.0.1.3 -t -i 0.02 -c 150 &
pa=$!
ping_from bw_b 127.0.1.3 -t -i 0.02 -c 150 &
pb=$!
e2e_track "$pa"
e2e_track "$pb"
e2e_wait "$pa"
ra=$?
e2e_wait "$pb"
rb=$?
check "two concurrent clients over the class bandwidth: exactly one is refused" \
    [ $((ra == 0)) -ne $((rb == 0)) ]
check "... the refusal is logged with the usage of the other" \
    grep -q 'ResReq DENIED: slow:request:bandwidth = 16800 (result = 16800, limit = 30000)' "$work/owampd.log"

# ---------------------------------------------------------------- disk
# Estimate 184 + 16 x slots + 25 x packets: 40 packets = 1200 > 1k.
ping_from disk_over 127.0.1.4 -t -c 40
check "a receive session over the disk limit is refused" [ $? -ne 0 ]
check "... the log gives the reason" \
    grep -q 'ResReq DENIED: tiny:request:disk = 1200 (result = 0, limit = 1000)' "$work/owampd.log"
ping_from disk_send 127.0.1.4 -f -c 40
check "a send session of the same class needs no disk and succeeds" [ $? -eq 0 ]
ping_from disk_ok 127.0.1.4 -t
check "a receive session within the disk limit succeeds" [ $? -eq 0 ]
check "... its data stays stored (delete_on_fetch off)" [ "$(nfiles "$data/hierarchy/root/tiny")" = 1 ]
ping_from disk_full 127.0.1.4 -t -c 20
check "the stored file counts: the next session over the limit is refused" [ $? -ne 0 ]
check "... the log says so" grep -q 'ResReq DENIED: tiny:request:disk = 700 (result = [1-9][0-9]*, limit = 1000)' "$work/owampd.log"

# ---------------------------------------------------------------- delete_on_fetch
ping_from dof 127.0.1.5 -t
check "a session of a delete_on_fetch class succeeds" [ $? -eq 0 ]
check "... and its fetched file is deleted" [ "$(nfiles "$data/hierarchy/root/dof")" = 0 ]
dof_sid=$(sed -n 's/^SID:[[:space:]]*//p' "$work/dof.out" | head -n 1)
no_catalog_entry() { [ -n "$1" ] && [ ! -e "$data/catalog/$1.owp" ] && [ ! -L "$data/catalog/$1.owp" ]; }
check "... as is its catalog entry" no_catalog_entry "$dof_sid"
check "... a file of another name there is left alone" [ -f "$data/hierarchy/root/dof/fedcba9876543210fedcba9876543210.owp.tmp" ]

# ---------------------------------------------------------------- hostile and idle connections
python3 - "$port" >"$work/garbage.out" 2>&1 <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)
s.settimeout(5)
s.recv(64)
s.sendall(b"\xff" * 164)
print("closed" if s.recv(64) == b"" else "open")
EOF
check "a malformed Set-Up-Response closes that connection" grep -q '^closed' "$work/garbage.out"
ping_from after_garbage 127.0.1.9 -t
check "... and the daemon still serves others" [ $? -eq 0 ]
e2e_wait "$idle_pid"
check "an idle control connection is closed after controltimeout" \
    python3 -c "import sys; w = open('$work/idle.out').read().split(); sys.exit(not (w[0] == 'closed' and 2.5 <= float(w[1]) <= 8))"

# ---------------------------------------------------------------- stored data survives a restart
stop_daemon
check "SIGTERM removes the pid file" [ ! -e "$work/var/owamp-server.pid" ]
if start_daemon "$work/owampd2.log"; then
    ping_from disk_restart 127.0.1.4 -t -c 20
    rc=$?
    check "after a restart the stored file still counts against the disk limit" [ $rc -ne 0 ]
    check "... (the catalog was rebuilt and serves it)" [ "$(nfiles "$data/catalog")" -ge 1 ]
    stop_daemon
else
    fail "owampd restarts on the same data directory"
fi

if [ "$failed" -ne 0 ]; then
    echo "--- owampd log"
    cat "$work/owampd.log"
fi
e2e_finish
