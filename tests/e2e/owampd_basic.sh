#!/bin/sh
# owampd_basic.sh - start the built owampd in the foreground on 127.0.0.1 and
# check what an operator sees: the pid/info files, a Server-Greeting on the
# control port, -h, the root-without--f refusal, and a clean SIGTERM
# shutdown that removes the pid file. Loopback only.
#
# Environment: top_builddir (default: the directory above tests/e2e).
set -u

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need "$OWAMPD" python3
e2e_init

port=$(e2e_free_port)

# ---- -h: usage on stdout (ours; the reference's goes to stderr), exit 0
"$OWAMPD" -h >"$work/h.out" 2>"$work/h.err"
check "-h exits 0" [ $? -eq 0 ]
check "-h prints the usage text" grep -q '^Usage: owampd \[options\]' "$work/h.out"

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

# ---- start in the foreground (e2e_owampd_start waits for the pid file, up to 10 s)
mkdir -p "$work/data" "$work/var"
e2e_owampd_start "127.0.0.1:$port" "$work/daemon.log" "$work/var" -d "$work/data"
daemon_pid=$owampd_pid
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
check "second instance on the same vardir exits 1" [ $? -eq 1 ]
check "second instance reports the lock" grep -q 'Unable to lock file' "$work/second.out"

# ---- SIGTERM: clean shutdown, pid file removed
kill -TERM "$daemon_pid"
gone() { ! kill -0 "$1" 2>/dev/null; }
if ! e2e_poll 100 0.1 gone "$daemon_pid"; then
    fail "SIGTERM stops owampd"
else
    e2e_wait "$daemon_pid"
    rc=$?
    check "SIGTERM stops owampd with exit 0" [ $rc -eq 0 ]
fi
check "pid file removed at exit" [ ! -e "$work/var/owamp-server.pid" ]
check "shutdown logged" grep -q 'owampd: exited.' "$work/daemon.log"

e2e_finish
