#!/bin/sh
# pfstore.sh - run the built pfstore (programs.md section 4.2) and compare
# what it writes with tests/vectors/pfstore/pfstore.json, which the reference's
# pfstore made from the same identities and pass-phrases given on stdin.
#
# Also: -n on an existing file, -d of a missing identity, missing -f, -h,
# replacing an entry in place, exact identity matching, comments kept,
# refusal of an empty pass-phrase, and the lock file: held for the edit
# (a second pfstore is refused while the first waits for its pass-phrase)
# and removed afterwards.
#
# Environment: top_builddir, top_srcdir (set by the harness). Prints
# "N passed, M failed"; exit 0 when nothing failed, 1 otherwise.
set -u

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
VECTOR=$top_srcdir/tests/vectors/pfstore/pfstore.json
e2e_need --fail "$PFSTORE"
e2e_init

# check NAME EXPECTED-STATUS COMMAND...: run with stdout+stderr in $work/out.
check_status() {
    name=$1 want=$2
    shift 2
    "$@" >"$work/out" 2>&1
    got=$?
    if [ "$got" -eq "$want" ]; then pass "$name: exit $want"; else fail "$name: exit $got, want $want"; cat "$work/out"; fi
}
# typed INPUT NAME EXPECTED-STATUS COMMAND...: check_status with INPUT (a
# printf format) on stdin; a redirection, not a pipe, so that the counts are
# kept (the last command of a pipe runs in a subshell).
typed() {
    # shellcheck disable=SC2059 # the input is the format
    printf "$1" >"$work/stdin"
    shift
    check_status "$@" <"$work/stdin"
}
expect_output() {
    if grep -F -- "$2" "$work/out" >/dev/null; then pass "$1: \"$2\""; else fail "$1: no \"$2\" in:"; cat "$work/out"; fi
}

# ---------------------------------------------------------------- the reference's file
pfs=$work/owamp-server.pfs
typed 'correct horse\n' "create alice" 0 "$PFSTORE" -f "$pfs" -n alice
expect_output "prompt" "Enter passphrase for identity 'alice': "
typed 'test\n' "add bob" 0 "$PFSTORE" -f "$pfs" bob
typed 'p@ss w0rd!\n' "add carol" 0 "$PFSTORE" -f "$pfs" carol
typed 'x\n' "add dave" 0 "$PFSTORE" -f "$pfs" dave
typed '\303\251t\303\251 caf\303\251\n' "add eve" 0 "$PFSTORE" -f "$pfs" eve

# file_contents holds only \t and \n escapes, which printf %b decodes.
contents=$(sed -n 's/^ *"file_contents": "\(.*\)"$/\1/p' "$VECTOR")
if [ -z "$contents" ]; then
    fail "no file_contents in $VECTOR"
else
    printf '%b' "$contents" >"$work/expected"
    if cmp -s "$work/expected" "$pfs"; then pass "the file is the reference's"; else
        fail "file differs from the reference's"
        od -c "$pfs" | head -20
    fi
fi

# A fresh file is private (mode 0600), like the reference's.
mode=$(ls -l "$pfs" | cut -c1-10)
if [ "$mode" = "-rw-------" ]; then pass "mode -rw-------"; else fail "mode $mode, want -rw-------"; fi

# ---------------------------------------------------------------- editing
cp "$pfs" "$work/before"
typed 'new one\n' "replace bob" 0 "$PFSTORE" -f "$pfs" bob
# bob's line is replaced in place (second line); the others are untouched.
sed '2s/.*/bob	6e6577206f6e65/' "$work/before" >"$work/expected"
if cmp -s "$work/expected" "$pfs"; then pass "replace in place"; else fail "replace in place"; cat "$pfs"; fi

check_status "delete dave" 0 "$PFSTORE" -f "$pfs" -d dave
if grep '^dave' "$pfs" >/dev/null; then fail "dave still present"; else pass "dave deleted"; fi
if [ "$(wc -l <"$pfs")" -eq 4 ]; then pass "4 lines after -d"; else fail "4 lines expected after -d"; fi

# Identities match exactly: "al" neither deletes nor replaces "alice".
check_status "delete prefix" 1 "$PFSTORE" -f "$pfs" -d al
expect_output "delete prefix" "pfstore: Identity 'al' not found"
typed 'short\n' "add al" 0 "$PFSTORE" -f "$pfs" al
if grep '^alice	636f727265637420686f727365$' "$pfs" >/dev/null &&
    grep '^al	73686f7274$' "$pfs" >/dev/null; then pass "al vs alice"; else fail "al vs alice"; cat "$pfs"; fi

# Comments, blank lines and other entries are copied verbatim.
printf '# operators\n\nzed\tABCD\n  # indented comment\n' >"$work/commented.pfs"
cp "$work/commented.pfs" "$work/commented.orig"
typed 'pw\n' "append to commented file" 0 "$PFSTORE" -f "$work/commented.pfs" yan
{ cat "$work/commented.orig"; printf 'yan\t7077\n'; } >"$work/expected"
if cmp -s "$work/expected" "$work/commented.pfs"; then pass "comments kept"; else fail "comments kept"; cat "$work/commented.pfs"; fi

# ---------------------------------------------------------------- refusals
cp "$pfs" "$work/before"
check_status "-n on existing file" 1 "$PFSTORE" -f "$pfs" -n frank </dev/null
expect_output "-n on existing file" "pfstore: -n option specified: $pfs exists"
expect_output "-n usage" "usage: pfstore [arguments] identity"

check_status "-d of missing identity" 1 "$PFSTORE" -f "$pfs" -d nobody
expect_output "-d of missing identity" "pfstore: Identity 'nobody' not found"

check_status "missing -f" 1 "$PFSTORE" alice
expect_output "missing -f" "pfstore: -f option is required"
expect_output "missing -f usage" "   -f fname       filename to edit [required option]"

check_status "missing file" 1 "$PFSTORE" -f "$work/nosuch.pfs" alice </dev/null
expect_output "missing file" "pfstore: Can't open '$work/nosuch.pfs': No such file or directory"
expect_output "missing file hint" "See -n option?"
if [ -e "$work/nosuch.pfs" ]; then fail "missing file was created"; else pass "missing file not created"; fi

check_status "no identity" 1 "$PFSTORE" -f "$pfs"
check_status "two identities" 1 "$PFSTORE" -f "$pfs" a b
check_status "-h" 0 "$PFSTORE" -h
expect_output "-h usage" "   -d             delete given identity from file"
check_status "unknown option" 0 "$PFSTORE" -x

typed '\n' "empty pass-phrase" 1 "$PFSTORE" -f "$pfs" gina
expect_output "empty pass-phrase" "Empty pass-phrase"
check_status "no input" 1 "$PFSTORE" -f "$pfs" gina </dev/null

# Nothing above changed the file.
if cmp -s "$work/before" "$pfs"; then pass "refused commands leave the file alone"; else fail "a refused command changed the file"; fi

# A malformed line for the identity being edited is an error naming the line.
printf 'ok\t6f6b\nbad\t6f6\n' >"$work/bad.pfs"
typed 'pw\n' "malformed line" 1 "$PFSTORE" -f "$work/bad.pfs" bad
expect_output "malformed line" "bad.pfs:2:"
typed 'pw\n' "malformed other line" 0 "$PFSTORE" -f "$work/bad.pfs" ok

# ---------------------------------------------------------------- the lock
no_lock_left() {
    if [ -e "$work/.pfstore.lock" ]; then fail "$1: .pfstore.lock left behind"; else pass "$1: no .pfstore.lock left"; fi
}
no_lock_left "after the edits"
typed '' "delete a missing identity" 1 "$PFSTORE" -f "$pfs" -d nobody
no_lock_left "after a failed edit"

# A pfstore waiting for its pass-phrase holds the lock: a second one is
# refused at once; once the first is done the lock file is gone and the next
# edit works.
mkfifo "$work/pass.fifo"
"$PFSTORE" -f "$pfs" ivan <"$work/pass.fifo" >"$work/first.out" 2>&1 &
first=$!
e2e_track "$first"
exec 7>"$work/pass.fifo" # opens once pfstore opened the other end: it is running
e2e_poll 50 0.1 grep -q "identity 'ivan'" "$work/first.out"
typed 'pw\n' "second pfstore while the first edits" 1 timeout 10 "$PFSTORE" -f "$pfs" judy
expect_output "second pfstore while the first edits" "pfstore: Unable to lock '$work/.pfstore.lock'"
printf 'ivan pass\n' >&7
exec 7>&-
e2e_wait "$first"
verdict "first pfstore: exit 0 after its pass-phrase"
no_lock_left "after the concurrent edit"
typed 'pw\n' "the next edit" 0 "$PFSTORE" -f "$pfs" judy
grep -q '^ivan	' "$pfs" && grep -q '^judy	' "$pfs"
verdict "both identities stored"
no_lock_left "after the next edit"

if command -v python3 >/dev/null 2>&1; then
    # Hold an fcntl lock on the lock file while pfstore runs.
    python3 -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.lockf(fd, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(3)
' "$work/.pfstore.lock" "$work/locked" &
    holder=$!
    e2e_track "$holder"
    e2e_poll 50 0.1 test -e "$work/locked"
    typed 'pw\n' "locked" 1 "$PFSTORE" -f "$pfs" henry
    expect_output "locked" "pfstore: Unable to lock '$work/.pfstore.lock'"
    e2e_stop "$holder" 2>/dev/null
fi

e2e_finish
