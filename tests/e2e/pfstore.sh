#!/bin/sh
# pfstore.sh - run the built pfstore (programs.md section 4.2) and compare
# what it writes with tests/vectors/pfstore/pfstore.json, which the reference's
# pfstore made from the same identities and pass-phrases given on stdin.
#
# Also: -n on an existing file, -d of a missing identity, missing -f, -h,
# replacing an entry in place, exact identity matching, comments kept,
# refusal of an empty pass-phrase, and the lock file.
#
# Environment: top_builddir, top_srcdir (set by the harness). Prints
# "N passed, M failed"; exit 0 when nothing failed, 1 otherwise.
set -u

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
PFSTORE=$top_builddir/node/pfstore
VECTOR=$top_srcdir/tests/vectors/pfstore/pfstore.json

if [ ! -x "$PFSTORE" ]; then
    echo "pfstore: $PFSTORE not built"
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pfstore_e2e.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

passed=0
failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# check NAME EXPECTED-STATUS COMMAND...: run with stdout+stderr in $tmp/out.
check_status() {
    name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>&1
    got=$?
    if [ "$got" -eq "$want" ]; then ok; else fail "$name: exit $got, want $want"; cat "$tmp/out"; fi
}
expect_output() {
    if grep -F -- "$2" "$tmp/out" >/dev/null; then ok; else fail "$1: no \"$2\" in:"; cat "$tmp/out"; fi
}

# ---------------------------------------------------------------- the reference's file
pfs=$tmp/owamp-server.pfs
printf 'correct horse\n' | check_status "create alice" 0 "$PFSTORE" -f "$pfs" -n alice
expect_output "prompt" "Enter passphrase for identity 'alice': "
printf 'test\n' | check_status "add bob" 0 "$PFSTORE" -f "$pfs" bob
printf 'p@ss w0rd!\n' | check_status "add carol" 0 "$PFSTORE" -f "$pfs" carol
printf 'x\n' | check_status "add dave" 0 "$PFSTORE" -f "$pfs" dave
printf '\303\251t\303\251 caf\303\251\n' | check_status "add eve" 0 "$PFSTORE" -f "$pfs" eve

# file_contents holds only \t and \n escapes, which printf %b decodes.
contents=$(sed -n 's/^ *"file_contents": "\(.*\)"$/\1/p' "$VECTOR")
if [ -z "$contents" ]; then
    fail "no file_contents in $VECTOR"
else
    printf '%b' "$contents" >"$tmp/expected"
    if cmp -s "$tmp/expected" "$pfs"; then ok; else
        fail "file differs from the reference's"
        od -c "$pfs" | head -20
    fi
fi

# A fresh file is private (mode 0600), like the reference's.
mode=$(ls -l "$pfs" | cut -c1-10)
if [ "$mode" = "-rw-------" ]; then ok; else fail "mode $mode, want -rw-------"; fi

# ---------------------------------------------------------------- editing
cp "$pfs" "$tmp/before"
printf 'new one\n' | check_status "replace bob" 0 "$PFSTORE" -f "$pfs" bob
# bob's line is replaced in place (second line); the others are untouched.
sed '2s/.*/bob	6e6577206f6e65/' "$tmp/before" >"$tmp/expected"
if cmp -s "$tmp/expected" "$pfs"; then ok; else fail "replace in place"; cat "$pfs"; fi

check_status "delete dave" 0 "$PFSTORE" -f "$pfs" -d dave
if grep '^dave' "$pfs" >/dev/null; then fail "dave still present"; else ok; fi
if [ "$(wc -l <"$pfs")" -eq 4 ]; then ok; else fail "4 lines expected after -d"; fi

# Identities match exactly: "al" neither deletes nor replaces "alice".
check_status "delete prefix" 1 "$PFSTORE" -f "$pfs" -d al
expect_output "delete prefix" "pfstore: Identity 'al' not found"
printf 'short\n' | check_status "add al" 0 "$PFSTORE" -f "$pfs" al
if grep '^alice	636f727265637420686f727365$' "$pfs" >/dev/null &&
    grep '^al	73686f7274$' "$pfs" >/dev/null; then ok; else fail "al vs alice"; cat "$pfs"; fi

# Comments, blank lines and other entries are copied verbatim.
printf '# operators\n\nzed\tABCD\n  # indented comment\n' >"$tmp/commented.pfs"
cp "$tmp/commented.pfs" "$tmp/commented.orig"
printf 'pw\n' | check_status "append to commented file" 0 "$PFSTORE" -f "$tmp/commented.pfs" yan
{ cat "$tmp/commented.orig"; printf 'yan\t7077\n'; } >"$tmp/expected"
if cmp -s "$tmp/expected" "$tmp/commented.pfs"; then ok; else fail "comments kept"; cat "$tmp/commented.pfs"; fi

# ---------------------------------------------------------------- refusals
cp "$pfs" "$tmp/before"
check_status "-n on existing file" 1 "$PFSTORE" -f "$pfs" -n frank </dev/null
expect_output "-n on existing file" "pfstore: -n option specified: $pfs exists"
expect_output "-n usage" "usage: pfstore [arguments] identity"

check_status "-d of missing identity" 1 "$PFSTORE" -f "$pfs" -d nobody
expect_output "-d of missing identity" "pfstore: Identity 'nobody' not found"

check_status "missing -f" 1 "$PFSTORE" alice
expect_output "missing -f" "pfstore: -f option is required"
expect_output "missing -f usage" "   -f fname       filename to edit [required option]"

check_status "missing file" 1 "$PFSTORE" -f "$tmp/nosuch.pfs" alice </dev/null
expect_output "missing file" "pfstore: Can't open '$tmp/nosuch.pfs': No such file or directory"
expect_output "missing file hint" "See -n option?"
if [ -e "$tmp/nosuch.pfs" ]; then fail "missing file was created"; else ok; fi

check_status "no identity" 1 "$PFSTORE" -f "$pfs"
check_status "two identities" 1 "$PFSTORE" -f "$pfs" a b
check_status "-h" 0 "$PFSTORE" -h
expect_output "-h usage" "   -d             delete given identity from file"
check_status "unknown option" 0 "$PFSTORE" -x

printf '\n' | check_status "empty pass-phrase" 1 "$PFSTORE" -f "$pfs" gina
expect_output "empty pass-phrase" "Empty pass-phrase"
check_status "no input" 1 "$PFSTORE" -f "$pfs" gina </dev/null

# Nothing above changed the file.
if cmp -s "$tmp/before" "$pfs"; then ok; else fail "a refused command changed the file"; fi

# A malformed line for the identity being edited is an error naming the line.
printf 'ok\t6f6b\nbad\t6f6\n' >"$tmp/bad.pfs"
printf 'pw\n' | check_status "malformed line" 1 "$PFSTORE" -f "$tmp/bad.pfs" bad
expect_output "malformed line" "bad.pfs:2:"
printf 'pw\n' | check_status "malformed other line" 0 "$PFSTORE" -f "$tmp/bad.pfs" ok

# ---------------------------------------------------------------- the lock
if command -v python3 >/dev/null 2>&1; then
    # Hold an fcntl lock on the lock file while pfstore runs.
    python3 -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.lockf(fd, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(3)
' "$tmp/.pfstore.lock" "$tmp/locked" &
    holder=$!
    n=0
    while [ ! -e "$tmp/locked" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
    printf 'pw\n' | check_status "locked" 1 "$PFSTORE" -f "$pfs" henry
    expect_output "locked" "pfstore: Unable to lock '$tmp/.pfstore.lock'"
    kill "$holder" 2>/dev/null
    wait "$holder" 2>/dev/null
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
