#!/bin/sh
# tools_conventions.sh - what every program of node/tools answers at once,
# without a server (no test runs, each call bounded by `timeout`):
#  - -h and --help: the usage on stdout, nothing on stderr (no clock warning),
#    exit 0; an unknown option: the usage on stderr, exit 0 (the reference's);
#  - --version: PACKAGE_VERSION and the owamp release replaced (5.2.3), exit 0;
#  - owping -c 0: refused locally with the reference's -c message, exit 1,
#    before any connection (the server operand is a closed port: had owping
#    tried it, it would say it could not connect);
#  - owstats names the operand it cannot open, not the first one.
#
# Environment (set by the harness): top_builddir, top_srcdir.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need --fail "$OWPING" "$OWSTATS" "$OWFETCH" "$OWUP" "$PFSTORE" "$POWSTREAM" timeout
e2e_init

version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")
[ -n "$version" ] && pass "PACKAGE_VERSION is $version" || fail "no PACKAGE_VERSION in config.h"

# call NAME WANT_STATUS PROGRAM ARGS...: stdout and stderr in $work/NAME.out/.err.
call() {
    c_name=$1 c_want=$2
    shift 2
    e2e_run "$c_name" "$c_want" timeout 10 "$@"
}
empty() { [ ! -s "$work/$1" ]; }
has_line() { grep -Eq -- "$2" "$work/$1"; }

for prog in "$OWPING" "$OWSTATS" "$OWFETCH" "$OWUP" "$PFSTORE" "$POWSTREAM"; do
    p=$(basename "$prog")
    for opt in -h --help; do
        n=$p$opt
        call "$n" 0 "$prog" "$opt" && has_line "$n.out" "^usage: $p " && empty "$n.err"
        verdict "$p $opt: usage on stdout, nothing on stderr, exit 0"
    done
    n=$p-version
    call "$n" 0 "$prog" --version &&
        has_line "$n.out" "^$p \\(owmesh\\) $version\$" && has_line "$n.out" "owamp 5\\.2\\.3\$" &&
        empty "$n.err"
    verdict "$p --version: $version, owamp 5.2.3, exit 0"
    n=$p-unknown
    call "$n" 0 "$prog" -Y && has_line "$n.err" "^usage: $p " && empty "$n.out"
    verdict "$p -Y (unknown): usage on stderr, exit 0 (as the reference)"
done

# Options before -h are parsed, -h still wins (owping -c 5 -h).
call owping-c-h 0 "$OWPING" -c 5 -h && has_line owping-c-h.out '^usage: owping ' && empty owping-c-h.err
verdict "owping -c 5 -h: usage on stdout"

# owping -c 0: refused at once, never sent to a server.
closed=127.0.0.1:$(e2e_free_port)
call count0 1 "$OWPING" -c 0 "$closed" &&
    has_line count0.err '^owping: Invalid value\. Positive integer expected$' &&
    ! has_line count0.err 'Unable to open control connection'
verdict "owping -c 0: 'Invalid value. Positive integer expected', exit 1, no connection"
call count00 1 "$OWPING" -c 00 -f "$closed" && has_line count00.err '^owping: Invalid value\.'
verdict "owping -c 00 -f: refused too"

# owstats: the operand that cannot be opened is named.
good=$top_srcdir/tests/vectors/owp/open-to.owp
call missing 1 "$OWSTATS" "$good" "$work/no-such.owp" &&
    has_line missing.err "^owstats: fopen\\($work/no-such\\.owp\\): No such file or directory\$" &&
    has_line missing.out '^--- owping statistics from '
verdict "owstats GOOD MISSING: the report of GOOD, then fopen(MISSING) named, exit 1"

e2e_finish
