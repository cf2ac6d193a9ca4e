#!/bin/sh
# serve_status.sh - `owmesh serve -c ENDPOINT -k CERT -s KEY` serves the
# coordinator's view: /api/status is `owmesh status --json` (the same code;
# only the coordinator's clock, "time", may tick between the two asks), the
# /status page is served, and without a certificate /api/status is refused
# with the reason. A coordinator on loopback with a 3-node mesh whose nodes
# never start: every node missing. The page through headless Chromium too
# (--dump-dom, --screenshot into $top_builddir/tests/screenshots). About 5 s.
set -u

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/serve_lib.sh"
e2e_need --fail "$OWMESH" "$OWMESH_COORD" "$SYNTH"
e2e_need python3 curl
e2e_init

check "the store" serve_data
cd "$work" || exit 1
"$OWMESH" keygen coord >coord.pub 2>/dev/null && "$OWMESH" keygen analyst >analyst.pub 2>/dev/null
verdict "keys"
# The store's mesh, with the analyst's key: what the coordinator serves.
python3 - "$MESH" "$(cat analyst.pub)" <<'EOP'
import json, sys
m = json.load(open(sys.argv[1]))
m["analysts"] = {"analyst": {"public-key": sys.argv[2]}}
json.dump(m, open(sys.argv[1], "w"), indent=1)
EOP
ep=tcp://127.0.0.1:$(e2e_free_port)
"$OWMESH_COORD" -Z -c "$MESH" -k coord_secret -B "$ep" -t 5 2>coord.log &
cpid=$!
e2e_track "$cpid"
e2e_poll 50 0.1 grep -q "listening on" coord.log
verdict "coordinator listens on $ep"

check "serve with the coordinator" serve_start -c "$ep" -k "$work/analyst_secret" -s "$work/coord"
status_of() { curl -sS -o "$work/body" -w '%{http_code}' "$@"; }
check "/api/status: 200" [ "$(status_of "$SERVE_URL/api/status")" = 200 ]
"$OWMESH" status --json -c "$ep" -k analyst_secret -s coord >cli.json
mask() { sed 's/"time": "[^"]*"/"time": T/' "$1"; }
mask body >api.masked
mask cli.json >cli.masked
if cmp -s api.masked cli.masked; then
    pass "/api/status is owmesh status --json (its clock masked)"
else
    fail "/api/status differs from owmesh status --json"
    diff api.masked cli.masked | head -10 | show
fi
has "/api/status: every node missing" body '"state": "missing"'
check "/status page served" [ "$(status_of "$SERVE_URL/status")" = 200 ]
has "/status page: its script" body "/assets/status.js"
check "/api/config says status is served" [ "$(status_of "$SERVE_URL/api/config")" = 200 ]
has "/api/config: status true" body '"status": true'
# The page in a browser (--dump-dom after its scripts ran, and a screenshot).
if command -v "${CHROMIUM:-chromium}" >/dev/null 2>&1; then
    chrome="${CHROMIUM:-chromium} --headless --disable-gpu --no-sandbox --user-data-dir=$work/profile"
    timeout 60 $chrome --virtual-time-budget=3000 --dump-dom "$SERVE_URL/status" >status.dom 2>/dev/null
    has "/status page: the nodes drawn" status.dom "<td>missing</td>"
    timeout 60 $chrome --virtual-time-budget=3000 --window-size=1280,800 \
        --screenshot="$work/serve-status.png" "$SERVE_URL/status" >/dev/null 2>&1
    mkdir -p "$top_builddir/tests/screenshots"
    cp "$work/serve-status.png" "$top_builddir/tests/screenshots/" 2>/dev/null
    check "/status page: screenshot" [ -s "$work/serve-status.png" ]
fi
e2e_stop "$SERVE_PID"

OWMESH_CERT= serve_start
check "/api/status without a certificate: 400" [ "$(status_of "$SERVE_URL/api/status")" = 400 ]
has "/api/status without a certificate: says how" body "without -k CERT"
e2e_stop "$SERVE_PID"

check "serve with an absent coordinator" serve_start -c "tcp://127.0.0.1:$(e2e_free_port)" \
    -k "$work/analyst_secret" -s "$work/coord" --coordinator-timeout 1
code=$(status_of "$SERVE_URL/api/status")
check "/api/status of an absent coordinator: 502 ($code)" [ "$code" = 502 ]
check "still serving after it" [ "$(status_of "$SERVE_URL/api/config")" = 200 ]
e2e_stop "$SERVE_PID"
check "serve: exit 0" [ "$e2e_status" = 0 ]
e2e_finish
