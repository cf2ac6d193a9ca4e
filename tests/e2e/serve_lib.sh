# serve_lib.sh - what the serve_*.sh tests share (sourced after lib.sh):
# a 3-node mesh (a, b, c; one session a minute) and a store where, over
# 2025-12-06 00:00-02:00 UTC, a -> b (with loss, duplicates, reordering)
# and b -> a are measured, a -> c was unmeasured (peer down) all along, and
# c -> a, b -> c, c -> b have no data; serve_import_bc stores b -> c.
# serve_start starts `owmesh serve` with --now at 02:00 ($SERVE_URL).
SYNTH=$top_builddir/bench/owp_synth
SERVE_NOW=2025-12-06T02:00:00Z
SERVE_DAY0=1764979200 # 2025-12-06T00:00:00Z

serve_data() {
    MESH=$work/mesh.json
    STORE=$work/store
    mkdir -p "$STORE" "$work/ab" "$work/ba" "$work/bc"
    cat >"$MESH" <<'EOM'
{
  "nodes": {"a": {"address": "127.0.0.2"}, "b": {"address": "127.0.0.3"},
            "c": {"address": "127.0.0.4"}},
  "groups": {"core": {"type": "mesh", "nodes": ["a", "b", "c"]}},
  "tests": {"owd": {"type": "latencybg", "packet-interval": 0.1, "packet-count": 600,
                    "loss-timeout": 10}},
  "tasks": {"core-owd": {"group": "core", "test": "owd"}}
}
EOM
    "$SYNTH" "$work/ab" 6 600 0.1 $((SERVE_DAY0 + 3600)) 7 faults &&
        "$SYNTH" "$work/ba" 6 600 0.1 $((SERVE_DAY0 + 3600)) 8 &&
        "$SYNTH" "$work/bc" 6 600 0.1 $((SERVE_DAY0 + 4000)) 9 || return 1
    ntp0=$((SERVE_DAY0 + 2208988800))
    printf 'owmesh-unmeasured 1\nstream a-c\nstart %s\nend %s\nreason peer-down\nsender 127.0.0.2:861\ndetail serve test\n' \
        "$(python3 -c "print($ntp0 << 32)")" "$(python3 -c "print(($ntp0 + 7200) << 32)")" \
        >"$work/ac.unm"
    S="--store $STORE --mesh $MESH"
    "$OWMESH" import $S --src a --dst b "$work"/ab/*.owp >/dev/null &&
        "$OWMESH" import $S --src b --dst a "$work"/ba/*.owp >/dev/null &&
        "$OWMESH" import $S --src a --dst c "$work/ac.unm" >/dev/null
}

serve_import_bc() {
    "$OWMESH" import --store "$STORE" --mesh "$MESH" --src b --dst c "$work"/bc/*.owp
}

# serve_start [OPTIONS...]: owmesh serve on a free loopback port, $SERVE_PID,
# $SERVE_URL; its stderr in $work/serve.log. Waits until it answers.
serve_start() {
    SERVE_PORT=$(e2e_free_port)
    "$OWMESH" serve --store "$STORE" --mesh "$MESH" --now "$SERVE_NOW" \
        --listen "127.0.0.1:$SERVE_PORT" "$@" 2>"$work/serve.log" &
    SERVE_PID=$!
    e2e_track "$SERVE_PID"
    SERVE_URL=${SERVE_SCHEME:-http}://127.0.0.1:$SERVE_PORT
    for _ in $(seq 1 50); do
        grep -q "serving" "$work/serve.log" 2>/dev/null && return 0
        kill -0 "$SERVE_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
