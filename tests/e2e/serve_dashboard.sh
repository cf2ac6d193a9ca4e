#!/bin/sh
# serve_dashboard.sh - `owmesh serve` in a real browser (Debian's headless
# Chromium, driven over the DevTools pipe by serve_browser.py): the grid has
# a cell per path of the mesh, each a link to its pair page; the unmeasured
# path is hatched grey with its reason, the path without data grey
# "missing"; new data shows up without a reload; the pair page plots both
# directions with a hover readout; the completeness page lists every path.
# Screenshots: the work directory and $top_builddir/tests/screenshots/.
# Loopback only; about 10 s.
set -u

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/serve_lib.sh"
CHROMIUM=${CHROMIUM:-chromium}
e2e_need --fail "$OWMESH" "$SYNTH"
e2e_need python3 "$CHROMIUM"
e2e_init

check "the store" serve_data
check "owmesh serve starts" serve_start --refresh 1 -v
cat >"$work/import.sh" <<EOS
. "$top_srcdir/tests/e2e/serve_lib.sh"
work=$work STORE=$work/store MESH=$work/mesh.json OWMESH=$OWMESH serve_import_bc >/dev/null
EOS
mkdir -p "$work/shots"
timeout 120 python3 "$top_srcdir/tests/e2e/serve_browser.py" "$CHROMIUM" "$SERVE_URL" \
    "$work/shots" "$work/import.sh" >"$work/browser.out" 2>&1
echo "browser driver exit $?" >>"$work/browser.out"
while IFS= read -r line; do
    case $line in
    PASS:*) pass "${line#PASS: }" ;;
    FAIL:*) fail "${line#FAIL: }" ;;
    *) echo "    $line" ;;
    esac
done <"$work/browser.out"
check "the browser driver ran to its end" grep -q "completeness: every expected path" "$work/browser.out"
mkdir -p "$top_builddir/tests/screenshots"
cp "$work"/shots/*.png "$top_builddir/tests/screenshots/" 2>/dev/null
[ -s "$work/shots/serve-grid.png" ] && [ -s "$work/shots/serve-pair.png" ]
verdict "screenshots written"
grep -q "GET /api/grid 200" "$work/serve.log" || show "$work/serve.log"
check "the grid refreshed itself (several /api/grid requests)" \
    [ "$(grep -c 'GET /api/grid 200' "$work/serve.log")" -ge 2 ]
e2e_stop "$SERVE_PID"
check "SIGTERM: exit 0" [ "$e2e_status" = 0 ]
e2e_finish
