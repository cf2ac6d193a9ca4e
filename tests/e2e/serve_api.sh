#!/bin/sh
# serve_api.sh - `owmesh serve` as a program and an API, on loopback:
#  - /api/grid, /api/query, /api/query.csv and /api/completeness are byte
#    for byte `owmesh grid|query|completeness --json` (--csv) with the same
#    options, also after new data is imported while it runs;
#  - /metrics parses as Prometheus text exposition (serve_prometheus.py, a
#    strict parser of the format) and agrees with `owmesh query --json`;
#  - read-only (POST 405), unknown pages 404, unknown or repeated
#    parameters 400, over-long values 400, too many parameters 400;
#  - basic auth from a file (401 without, 200 with; a file readable by
#    others refused at start), a non-loopback --listen refused without
#    --allow-remote, TLS with a self-signed certificate (openssl);
#  - -h/--help, --version, SIGINT and SIGTERM exit 0.
set -u

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/serve_lib.sh"
e2e_need --fail "$OWMESH" "$SYNTH"
e2e_need python3 curl
e2e_init

check "the store" serve_data
check "owmesh serve starts" serve_start --metrics-window 2h
OPTS="--store $STORE --mesh $MESH --now $SERVE_NOW"

# same NAME URL-PATH CLI-ARGS...: the body of GET URL-PATH equals owmesh's stdout.
same() {
    e2e_what=$1 e2e_url=$2
    shift 2
    curl -sS -o "$work/api.out" -w '%{http_code}' "$SERVE_URL$e2e_url" >"$work/code" 2>&1
    "$OWMESH" "$@" $OPTS >"$work/cli.out" 2>"$work/cli.err"
    if [ "$(cat "$work/code")" = 200 ] && cmp -s "$work/api.out" "$work/cli.out"; then
        pass "$e2e_what: $e2e_url is owmesh $* byte for byte"
    else
        fail "$e2e_what: $e2e_url differs from owmesh $* (HTTP $(cat "$work/code"))"
        diff "$work/api.out" "$work/cli.out" | head -10 | show
    fi
}
same grid "/api/grid?since=2h" grid --since 2h --json
same "grid median" "/api/grid?since=2h&stat=median" grid --since 2h --stat median --json
same "grid p99 with thresholds" "/api/grid?since=2h&stat=p99&warn=5&crit=50" grid --since 2h --stat p99 --warn 5 --crit 50 --json
same query "/api/query?src=a&dst=b&since=2h&every=10m&p=50,90,99" query --src a --dst b --since 2h --every 10m -p 50,90,99 --json
same "query per path" "/api/query?node=a&since=2h&per-path=1" query --node a --since 2h --per-path --json
same "query csv" "/api/query.csv?src=b&dst=a&since=2h&every=5m" query --src b --dst a --since 2h --every 5m --csv
same completeness "/api/completeness?since=2h" completeness --since 2h --json
check "import b -> c while serving" eval "serve_import_bc >/dev/null"
same "grid after the import" "/api/grid?since=2h" grid --since 2h --json
same "completeness after the import" "/api/completeness?since=2h&bucket=5m" completeness --since 2h --bucket 5m --json

# ---------------------------------------------------------------- /metrics
code=$(curl -sS -D "$work/metrics.head" -o "$work/metrics.txt" -w '%{http_code}' "$SERVE_URL/metrics")
check "/metrics: 200" [ "$code" = 200 ]
has "/metrics: text/plain version 0.0.4" "$work/metrics.head" "text/plain; version=0.0.4"
mkdir -p "$work/q"
for p in a-b b-a b-c a-c; do
    "$OWMESH" query $OPTS --src "${p%-*}" --dst "${p#*-}" --since 2h -p 50,90,99 --json >"$work/q/$p.json"
done
python3 "$top_srcdir/tests/e2e/serve_prometheus.py" "$work/metrics.txt" "$work/q" >"$work/prom.out" 2>&1
echo "exit $?" >>"$work/prom.out"
while IFS= read -r line; do
    case $line in
    PASS:*) pass "metrics: ${line#PASS: }" ;;
    FAIL:*) fail "metrics: ${line#FAIL: }" ;;
    esac
done <"$work/prom.out"
has "metrics: the parser ran to its end" "$work/prom.out" "exit 0"

# ---------------------------------------------------------------- refusals
status_of() { curl -sS -o "$work/body" -w '%{http_code}' "$@"; }
check "POST: 405 (read-only)" [ "$(status_of -X POST "$SERVE_URL/api/grid")" = 405 ]
check "DELETE: 405" [ "$(status_of -X DELETE "$SERVE_URL/")" = 405 ]
check "unknown page: 404" [ "$(status_of "$SERVE_URL/etc/passwd")" = 404 ]
check "unknown parameter: 400" [ "$(status_of "$SERVE_URL/api/grid?bogus=1")" = 400 ]
has "unknown parameter: named" "$work/body" 'unknown parameter \"bogus\"'
check "repeated parameter: 400" [ "$(status_of "$SERVE_URL/api/grid?since=1h&since=2h")" = 400 ]
long=$(python3 -c 'print("x" * 300)')
check "over-long value: 400" [ "$(status_of "$SERVE_URL/api/query?src=$long")" = 400 ]
many=$(python3 -c 'print("&".join("k%d=1" % i for i in range(20)))')
check "too many parameters: 400" [ "$(status_of "$SERVE_URL/api/grid?$many")" = 400 ]
huge=$(python3 -c 'print("h" * 40000)')
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "X-Big: $huge" "$SERVE_URL/api/config")
check "request headers over the memory limit refused ($code)" [ "$code" -ge 400 ]
check "bad option value: 400" [ "$(status_of "$SERVE_URL/api/grid?stat=bogus")" = 400 ]
check "no data: 400 with the command's message" [ "$(status_of "$SERVE_URL/api/query?src=c&dst=a&since=2h")" = 400 ]
has "no data: message" "$work/body" "no data stored for"
check "still serving after the refusals" [ "$(status_of "$SERVE_URL/api/config")" = 200 ]
e2e_stop "$SERVE_PID" INT
check "SIGINT: exit 0" [ "$e2e_status" = 0 ]
has "SIGINT: logged" "$work/serve.log" "SIGINT, stopping"

# ---------------------------------------------------------------- auth, TLS, listen
printf '# viewers\nnoc:s3cret pass\n' >"$work/auth"
chmod 644 "$work/auth"
run 1 "auth file readable by others refused" "$OWMESH" serve $OPTS --listen 127.0.0.1:0 --auth "$work/auth"
has "auth: the refusal names the file and the fix" "$work/err" "chmod 600"
chmod 600 "$work/auth"
check "serve with --auth" serve_start --auth "$work/auth"
check "auth: 401 without credentials" [ "$(status_of "$SERVE_URL/api/config")" = 401 ]
check "auth: 401 with a wrong password" [ "$(status_of -u noc:wrong "$SERVE_URL/api/config")" = 401 ]
check "auth: 200 with the right one" [ "$(status_of -u 'noc:s3cret pass' "$SERVE_URL/api/config")" = 200 ]
e2e_stop "$SERVE_PID"
if command -v openssl >/dev/null 2>&1; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
        -days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1
    SERVE_SCHEME=https
    check "serve with TLS" serve_start --tls-cert "$work/cert.pem" --tls-key "$work/key.pem"
    check "TLS: 200 over https" [ "$(status_of --cacert "$work/cert.pem" "$SERVE_URL/api/config")" = 200 ]
    SERVE_SCHEME=http
    check "TLS: plain http refused" [ "$(curl -s -o /dev/null -w '%{http_code}' "$SERVE_URL/api/config")" != 200 ]
    e2e_stop "$SERVE_PID"
fi
run 1 "a non-loopback address needs --allow-remote" "$OWMESH" serve $OPTS --listen 0.0.0.0:0
has "non-loopback: says how" "$work/err" "--allow-remote"
run 1 "a bad --listen" "$OWMESH" serve $OPTS --listen 127.0.0.1:99999
run 1 "a missing mesh" "$OWMESH" serve --store "$STORE" --mesh "$work/none.json"
run 0 "--help" "$OWMESH" serve --help
has "--help: the options" "$work/out" "--allow-remote"
run 0 "--version" "$OWMESH" serve --version
has "--version" "$work/out" "owmesh serve"
e2e_finish
