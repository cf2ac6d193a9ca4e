# twamp_lib.sh - what the TWAMP end-to-end scripts share (sourced after
# lib.sh and e2e_init, with TWAMPD and VEC set): a test port range, the lab's
# twampd configuration, a twampd on a free loopback port, and comparing two
# reports through a filter.

# A test port range nobody else uses: 40 ports above a free TCP port.
tbase=$(e2e_free_port 127.0.0.1)
[ "$tbase" -gt 60000 ] && tbase=$((tbase - 20000))
tports="$tbase-$((tbase + 39))"

# twampd_conf DIR AUTHMODE [EXTRA LINE]: twamp-server.conf/.limits/.pfs.
twampd_conf() {
    mkdir -p "$1"
    printf 'authmode %s\ntestports %s\n%s\n' "$2" "$tports" "${3:-}" >"$1/twamp-server.conf"
    cp "$VEC/lab/twamp-server.limits" "$VEC/lab/twamp-server.pfs" "$1/"
}

# twampd_up NAME ADDR CONFDIR: twampd -Z on a free port of ADDR; sets
# $tw_pid and $tw_port, its vardir $work/NAME.var, its log $work/NAME.log.
twampd_up() {
    name=$1 host=$2 conf=$3
    bare=${host#\[}
    bare=${bare%\]}
    mkdir -p "$work/$name.var"
    tries=0
    while [ $tries -lt 5 ]; do
        tw_port=$(e2e_free_port "$bare")
        # shellcheck disable=SC2086 # rootflag is empty or one word
        "$TWAMPD" -Z $rootflag -c "$conf" -R "$work/$name.var" -d "$work/$name.var" \
            -S "$host:$tw_port" >>"$work/$name.log" 2>&1 &
        tw_pid=$!
        e2e_track "$tw_pid"
        i=0
        while [ $i -lt 100 ]; do
            [ "$(cat "$work/$name.var/twamp-server.pid" 2>/dev/null)" = "$tw_pid" ] && return 0
            kill -0 "$tw_pid" 2>/dev/null || break
            sleep 0.1
            i=$((i + 1))
        done
        e2e_stop "$tw_pid" KILL 2>/dev/null
        tries=$((tries + 1))
    done
    echo "FAIL: twampd did not start on $host; its log:"
    cat "$work/$name.log"
    exit 1
}

# same_through FILTER WHAT A B: pass WHAT when FILTER A and FILTER B print
# the same, else fail showing how B differs from A.
same_through() {
    "$1" "$3" >"$work/through.a"
    "$1" "$4" >"$work/through.b"
    if cmp -s "$work/through.a" "$work/through.b"; then
        pass "$2"
    else
        fail "$2 (against $3)"
        diff "$work/through.a" "$work/through.b" | head -20 | show
    fi
}
