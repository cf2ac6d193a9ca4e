#!/bin/sh
# owmesh_cli.sh - the owmesh CLI and owmesh-coordinator as built:
#  - `owmesh check` on every mesh-configs file (exit 0, output = the golden
#    stream list, one line per stream, its columns aligned) and on every
#    broken vector (exit 1, the exact message with the file and JSON path);
#  - `owmesh --help`, `--version` and every subcommand's --help/-h (usage on
#    stdout, exit 0);
#  - `owmesh keygen` writes certificates the coordinator and the CLI use;
#  - the coordinator alone on 127.0.0.1 with a 3-node mesh: `owmesh status`
#    (table and --json) lists every node as missing and every stream by name,
#    nodes sorted, exit 2 (Nagios CRITICAL; 1 WARNING and 0 OK under other
#    thresholds; --nagios prints the plugin line; 3 UNKNOWN when the
#    coordinator is absent); an untrusted key gets no answer and is logged; a node's key is
#    trusted; a file edit and SIGHUP reload the mesh; a broken edit is logged
#    with its JSON path and the old mesh keeps running.
# The full mesh with real owmesh-node processes is tested elsewhere.
#
# Environment: top_builddir, top_srcdir (set by the harness). Prints
# "N passed, M failed"; exit 0 when nothing failed, 1 otherwise.
set -u

. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need --fail "$OWMESH" "$OWMESH_COORD"
e2e_init
# Started as root, the coordinator runs unprivileged and re-reads its mesh as that user.
e2e_unprivileged

# ---------------------------------------------------------------- owmesh check

for mesh in "$top_srcdir"/mesh-configs/*.json; do
    name=$(basename "$mesh" .json)
    golden=$top_srcdir/tests/vectors/mesh/examples/$name.out
    run 0 "check $name" "$OWMESH" check "$mesh"
    lines=$(wc -l <"$work/out")
    streams=$(wc -l <"$golden")
    check "check $name: $lines lines = $streams streams" [ "$lines" -eq "$streams" ]
    # the golden list has single blanks; the output aligns its columns
    tr -s ' ' <"$work/out" >"$work/out.squeezed"
    tr -s ' ' <"$golden" >"$work/golden.squeezed"
    check "check $name: output = golden (blanks squeezed)" cmp -s "$work/out.squeezed" "$work/golden.squeezed"
    check "check $name: columns aligned (interval=, dscp=, task= at one column each)" \
        awk '{ for (k = 1; k <= 3; k++) { key = k == 1 ? "interval=" : k == 2 ? "dscp=" : "task=";
                   c = index($0, key); if (NR == 1) at[k] = c; else if (c != at[k]) exit 1 } }' "$work/out"
done

bad_ok=0 bad_total=0
for mesh in "$top_srcdir"/tests/vectors/mesh/broken/*.json; do
    bad_total=$((bad_total + 1))
    want="owmesh: $(sed "s|FILE|$mesh|" "${mesh%.json}.err")"
    "$OWMESH" check "$mesh" >"$work/out" 2>"$work/err"
    if [ $? -eq 1 ] && [ ! -s "$work/out" ] && [ "$(cat "$work/err")" = "$want" ]; then
        bad_ok=$((bad_ok + 1))
    else
        fail "check $(basename "$mesh"): want \"$want\", got:"
        show "$work/err"
    fi
done
check "check: all $bad_total broken meshes refused with their JSON path" [ "$bad_ok" -eq "$bad_total" ]
run 1 "check a missing file" "$OWMESH" check "$work/none.json"
has "check a missing file: names it" "$work/err" "$work/none.json"
run 1 "check without a file" "$OWMESH" check
run 1 "unknown command" "$OWMESH" frobnicate

# ---------------------------------------------------------------- --help, --version

run 0 "owmesh --help" "$OWMESH" --help
has "owmesh --help: usage on stdout" "$work/out" "usage: owmesh COMMAND"
run 0 "owmesh --version" "$OWMESH" --version
check "owmesh --version: the package version" grep -Eq '^owmesh [0-9]+\.[0-9]+' "$work/out"
for cmd in check keygen status query grid plot completeness export import; do
    for opt in --help -h; do
        run 0 "$cmd $opt" "$OWMESH" "$cmd" "$opt"
        check "$cmd $opt: its usage on stdout" grep -q "^usage: owmesh $cmd" "$work/out"
        check "$cmd $opt: nothing on stderr" [ ! -s "$work/err" ]
    done
done

# ---------------------------------------------------------------- owmesh keygen

cd "$work" || exit 1
for who in coord alpha bravo stranger analyst; do
    run 0 "keygen $who" "$OWMESH" keygen -m "e2e $who" "$who"
    key=$(cat "$work/out")
    eval "key_$who=\$key"
    check "keygen $who: public file holds the printed key" grep -F -q "public-key = \"$key\"" "$who"
    check "keygen $who: secret file holds it too" grep -F -q "public-key = \"$key\"" "${who}_secret"
    check "keygen $who: secret file has a secret key" grep -q 'secret-key = "' "${who}_secret"
    check "keygen $who: public file has no secret key" sh -c "! grep -q secret-key $who"
done
perm=$(ls -l coord_secret | cut -c1-10)
check "keygen: secret file mode 0600 ($perm)" [ "$perm" = "-rw-------" ]
run 1 "keygen refuses to overwrite" "$OWMESH" keygen coord
has "keygen refuses to overwrite: says so" "$work/err" "exists"
run 0 "keygen -f overwrites" "$OWMESH" keygen -f stranger
check "keygen -f: a new key" [ "$(cat "$work/out")" != "$key_stranger" ]

# ---------------------------------------------------------------- coordinator + status

write_mesh() { # write_mesh FILE NODES...
    f=$1
    shift
    {
        printf '{"nodes": {'
        sep=
        for n in "$@"; do
            case $n in
            alpha) printf '%s"alpha": {"address": "127.0.0.2:8610", "public-key": "%s"}' "$sep" "$key_alpha" ;;
            bravo) printf '%s"bravo": {"address": "127.0.0.3:8610", "public-key": "%s"}' "$sep" "$key_bravo" ;;
            charlie) printf '%s"charlie": {"address": "127.0.0.4:8610"}' "$sep" ;;
            esac
            sep=", "
        done
        printf '},\n "analysts": {"analyst": {"public-key": "%s"}},' "$key_analyst"
        printf '\n "groups": {"g": {"type": "mesh", "nodes": ['
        sep=
        for n in "$@"; do printf '%s"%s"' "$sep" "$n"; sep=", "; done
        printf ']}},\n "tests": {"t": {"type": "latencybg", "packet-count": 600}},\n'
        printf ' "tasks": {"k": {"group": "g", "test": "t"}}}\n'
    } >"$f.tmp" && mv "$f.tmp" "$f"
}
write_mesh mesh.json alpha bravo charlie
port=$(e2e_free_port)
ep=tcp://127.0.0.1:$port
"$OWMESH_COORD" -Z -c mesh.json -k coord_secret -B "$ep" -t 5 2>coord.log &
cpid=$!
e2e_track "$cpid"
e2e_poll 50 0.1 grep -q "listening on" coord.log
verdict "coordinator listens on $ep"
has "coordinator logs the mesh" coord.log "mesh.json: 3 nodes, 6 streams"
has "coordinator warns about a node without a key" coord.log 'node "charlie" has no public-key'

run 2 "status: nothing runs" "$OWMESH" status -c "$ep" -k analyst_secret -s coord
for n in alpha bravo charlie; do
    check "status: node $n missing" grep -Eq "^$n +missing +never" "$work/out"
done
for pair in "alpha -> bravo" "alpha -> charlie" "bravo -> alpha" "bravo -> charlie" \
    "charlie -> alpha" "charlie -> bravo"; do
    check "status: stream $pair listed missing" grep -Eq "^$pair +[0-9a-f]{32} +missing " "$work/out"
done
has "status: summary" "$work/out" "3 nodes: 0 connected, 3 missing; 6 streams: 0 ok, 6 missing"
check "status: the stream table's columns aligned (STATE at one column)" \
    awk '/^STREAM / { at = index($0, "STATE"); next } at && / -> / { if (substr($0, at, 7) != "missing") exit 1; n++ } END { exit !(n == 6) }' "$work/out"
check "status: times for people (no epoch numbers)" sh -c "! grep -Eq '(^| )[0-9]{9,}( |/|$)' '$work/out'"
run 2 "status of two nodes" "$OWMESH" status -c "$ep" -k analyst_secret -s coord charlie alpha
check "status: nodes sorted by name" awk '$2 == "missing" { n[++k] = $1 } END { exit !(k == 2 && n[1] == "alpha" && n[2] == "charlie") }' "$work/out"
run 2 "status --nagios: CRITICAL" "$OWMESH" status --nagios -c "$ep" -k analyst_secret -s coord
has "status --nagios: the plugin line" "$work/out" \
    "OWMESH STATUS CRITICAL - 0 of 3 nodes up, 0 of 6 streams without problems (6 missing) | nodes_up=0;;;0;3 nodes_missing=3;0;0;0;3 streams_problem=6;0;1;0;6"
check "status --nagios: one line" [ "$(wc -l <"$work/out")" = 1 ]
run 1 "status: WARNING under higher critical thresholds" "$OWMESH" status --nagios -c "$ep" -k analyst_secret -s coord \
    --crit-nodes 4 --crit-streams 7
has "status --nagios: WARNING" "$work/out" "OWMESH STATUS WARNING - 0 of 3 nodes up"
run 0 "status: OK under higher thresholds" "$OWMESH" status -c "$ep" -k analyst_secret -s coord \
    --warn-nodes 4 --crit-nodes 5 --warn-streams 7 --crit-streams 8
run 3 "status: a bad threshold is UNKNOWN" "$OWMESH" status -c "$ep" -k analyst_secret -s coord --warn-nodes 0
has "status: a bad threshold explained" "$work/err" 'bad threshold "0"'
absent=tcp://127.0.0.1:$(e2e_free_port)
run 3 "status: no coordinator is UNKNOWN" "$OWMESH" status --nagios -c "$absent" -k analyst_secret -s coord -t 0.5
has "status --nagios: UNKNOWN names the coordinator" "$work/out" "OWMESH STATUS UNKNOWN - coordinator $absent: "

run 2 "status --json" "$OWMESH" status --json -c "$ep" -k analyst_secret -s coord
n_missing=$(grep -c '"state": "missing"' "$work/out")
check "status --json: 3 nodes + 6 streams missing ($n_missing)" [ "$n_missing" -eq 9 ]
if command -v python3 >/dev/null; then
    check "status --json: valid JSON" python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$work/out"
fi

run 2 "status of one node" "$OWMESH" status -c "$ep" -k analyst_secret -s coord alpha
lines=$(grep -Ec '^[a-z]+ -> alpha ' "$work/out")
check "status of one node: its 2 streams ($lines)" [ "$lines" -eq 2 ]
check "status of one node: no other node" sh -c "! grep -Eq '^bravo +(missing|connected)' '$work/out'"
run 3 "status of an unknown node" "$OWMESH" status -c "$ep" -k analyst_secret -s coord nobody
has "status of an unknown node: named" "$work/err" '"nobody"'

# Every program has its own key (issue 11): a node's key reads no status,
# and the coordinator says why, naming the key.
run 3 "status with a node's key: refused" "$OWMESH" status -c "$ep" -k alpha_secret -s coord
has "status with a node's key: the coordinator's reason" "$work/err" "a node sends only Hello"
e2e_poll 20 0.1 grep -qF "refused: CURVE key $key_alpha is a node's" coord.log
verdict "coordinator logs the node key used for status"
run 3 "status with an untrusted key" "$OWMESH" status -c "$ep" -k stranger_secret -s coord -t 1
has "status with an untrusted key: no answer" "$work/err" "no answer within"
e2e_poll 20 0.1 grep -q "refused connection from 127.0.0.1" coord.log
verdict "coordinator logs the refused key"
run 3 "status without a certificate" sh -c 'unset OWMESH_CERT; exec "$0" status -c "$1"' "$OWMESH" "$ep"
has "status without a certificate: says so" "$work/err" "no certificate"

# reload on a file change: charlie leaves
write_mesh mesh.json alpha bravo
e2e_poll 50 0.1 grep -q "reloaded mesh.json (file changed): 2 nodes, 2 streams" coord.log
verdict "coordinator reloads a changed file"
run 2 "status after reload" "$OWMESH" status -c "$ep" -k analyst_secret -s coord
has "status after reload: 2 nodes" "$work/out" "2 nodes: 0 connected, 2 missing; 2 streams"
check "status after reload: charlie gone" sh -c "! grep -q charlie '$work/out'"

# a broken edit is logged with its JSON path; the old mesh keeps running
sed 's/"packet-count": 600/"packet-count": "ten"/' mesh.json >mesh.json.tmp && mv mesh.json.tmp mesh.json
e2e_poll 50 0.1 grep -q 'reload (file changed) failed: mesh.json: $.tests.t.packet-count' coord.log
verdict "coordinator logs a broken reload with its JSON path"
run 2 "status after a broken reload" "$OWMESH" status -c "$ep" -k analyst_secret -s coord
has "status after a broken reload: old mesh" "$work/out" "2 nodes: 0 connected, 2 missing; 2 streams"

# SIGHUP
write_mesh mesh.json alpha bravo charlie
e2e_poll 50 0.1 grep -q "reloaded mesh.json (file changed): 3 nodes, 6 streams" coord.log
verdict "coordinator reloads the fixed file"
kill -HUP "$cpid"
e2e_poll 50 0.1 grep -q "reloaded mesh.json (SIGHUP): 3 nodes, 6 streams, computed in [0-9.]* s; 0 node schedules changed" coord.log
verdict "SIGHUP reloads; nothing changed, nothing pushed"

e2e_stop "$cpid"
verdict "coordinator stops on TERM with status 0"
has "coordinator logs its stop" coord.log "stopping (generation"
e2e_finish
