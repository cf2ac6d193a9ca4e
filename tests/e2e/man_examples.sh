#!/bin/sh
# man_examples.sh - every EXAMPLE section of every man page, run on loopback
# as written (tests/e2e/man_examples.py says what may be rewritten and how).
#
# Environment: top_builddir, top_srcdir (set by the harness). Exit 0 pass, 1 fail.
set -u

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need --fail "$OWAMPD" "$OWPING" "$OWMESH" python3
e2e_init
e2e_unprivileged   # the daemons the examples start leave root: they reach $work

python3 "$top_srcdir/tests/e2e/man_examples.py" "$top_srcdir" "$top_builddir" "$work"
