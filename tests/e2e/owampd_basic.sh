#!/bin/sh
# owampd_basic.sh - start the built owampd in the foreground on 127.0.0.1 and
# check what an operator sees: the pid/info files, a Server-Greeting on the
# control port, -h, the root-without--f refusal, and a clean SIGTERM
# shutdown that removes the pid file. Loopback only.
#
# Environment: top_builddir (default: the directory above tests/e2e).
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_builddir=${top_builddir:-$here/../..}
OWAMPD=${OWAMPD:-$top_builddir/node/owampd}

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; }
check() { # description, command...
    desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

if [ ! -x "$OWAMPD" ]; then
    echo "owampd not built: $OWAMPD"
    exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "python3 not found"
    exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/owampd_basic.XXXXXX")
daemon_pid=
cleanup() {
    if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
        kill "$daemon_pid" 2>/dev/null
        sleep 1
        kill -9 "$daemon_pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# A free TCP port on 127.0.0.1.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# Running as root needs -f (the reference's rootfolly); otherwise it is refused.
rootflag=
if [ "$(id -u)" = 0 ]; then
    rootflag=-f
fi

# ---- -h: usage on stderr, exit 0
"$OWAMPD" -h >"$work/h.out" 2>"$work/h.err"
check "-h exits 0" [ $? -eq 0 ]
check "-h prints the usage text" grep -q '^Usage: owampd \[options\]' "$work/h.err"

# ---- an extra operand: usage, exit 1
"$OWAMPD" -Z extra >/dev/null 2>&1
check "an extra operand exits 1" [ $? -eq 1 ]

# ---- root without -f is refused
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$work/root"
    "$OWAMPD" -Z -S "127.0.0.1:$port" -d "$work/root" -R "$work/root" >"$work/root.out" 2>&1
    rc=$?
    check "root without -f exits 1" [ $rc -eq 1 ]
    check "root without -f says why" grep -q 'Running owampd as root is folly!' "$work/root.out"
    check "root without -f suggests -U or -f" grep -q 'Use the -U option! (or allow root with the -f option)' "$work/root.out"
else
    echo "skip - root refusal (not running as root)"
fi

# ---- start in the foreground
mkdir -p "$work/data" "$work/var"
"$OWAMPD" $rootflag -Z -S "127.0.0.1:$port" -d "$work/data" -R "$work/var" \
    >"$work/daemon.log" 2>&1 &
daemon_pid=$!

# Wait for the pid file (up to 5 s).
i=0
while [ $i -lt 50 ] && [ ! -s "$work/var/owamp-server.pid" ]; do
    sleep 0.1
    i=$((i + 1))
done
check "pid file written" [ -s "$work/var/owamp-server.pid" ]
check "pid file holds the daemon's pid" [ "$(cat "$work/var/owamp-server.pid" 2>/dev/null)" = "$daemon_pid" ]
check "info file has START= (20 digits) and PID=" \
    sh -c "grep -Eq '^START=[0-9]{20}\$' '$work/var/owamp-server.info' && grep -q '^PID=$daemon_pid\$' '$work/var/owamp-server.info'"
check "data directory has catalog/" [ -d "$work/data/catalog" ]

# ---- a greeting probe: 64 bytes, Modes = 7 (O|A|E), Count = 2048
python3 - "$port" >"$work/probe.out" 2>&1 <<'EOF'
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
data = b""
while len(data) < 64:
    chunk = s.recv(64 - len(data))
    if not chunk:
        break
    data += chunk
s.close()
if len(data) != 64:
    print("short greeting: %d bytes" % len(data))
    sys.exit(1)
modes, = struct.unpack(">I", data[12:16])
count, = struct.unpack(">I", data[48:52])
print("modes=%d count=%d" % (modes, count))
sys.exit(0 if modes == 7 and count == 2048 and data[:12] == bytes(12) else 1)
EOF
rc=$?
check "greeting offers modes 7 with count 2048 ($(cat "$work/probe.out"))" [ $rc -eq 0 ]

# ---- a second instance on the same vardir is refused (pid file lock)
"$OWAMPD" $rootflag -Z -S "127.0.0.1:$port" -d "$work/data" -R "$work/var" >"$work/second.out" 2>&1
rc=$?
check "second instance on the same vardir exits 1" [ $rc -eq 1 ]
check "second instance reports the lock" grep -q 'Unable to lock file' "$work/second.out"

# ---- SIGTERM: clean shutdown, pid file removed
kill -TERM "$daemon_pid"
i=0
while [ $i -lt 100 ] && kill -0 "$daemon_pid" 2>/dev/null; do
    sleep 0.1
    i=$((i + 1))
done
if kill -0 "$daemon_pid" 2>/dev/null; then
    not_ok "SIGTERM stops owampd"
else
    wait "$daemon_pid"
    rc=$?
    check "SIGTERM stops owampd with exit 0" [ $rc -eq 0 ]
    daemon_pid=
fi
check "pid file removed at exit" [ ! -e "$work/var/owamp-server.pid" ]
check "shutdown logged" grep -q 'owampd: exited.' "$work/daemon.log"

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
