#!/bin/sh
# install.sh - `make install DESTDIR=...` from the build tree: the systemd
# units (paths substituted, Type=simple, Restart=on-failure, ExecReload where
# the daemon reloads), the commented configuration under sysconfdir/owmesh
# (its example mesh parses), the state directory, the man pages, libowamp's
# headers under include/owamp, nothing world-writable; and a consumer built
# with `pkg-config --cflags --libs libowamp` against the DESTDIR that includes
# both <owamp/owamp.h> and <error.h> (the C library's, not ours).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib.sh"
e2e_need make pkg-config cc "$OWMESH"
e2e_init

root=$work/root
# The build's own directories (configure's values), as the programs have them.
mkvar() { sed -n "s|^$1 = ||p" "$top_builddir/Makefile" | head -1; }
prefix=$(mkvar prefix)
[ -n "$prefix" ] || { echo "FAIL: no prefix in $top_builddir/Makefile"; exit 1; }
# The make running this test must not lend its jobs or flags to this one.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$top_builddir" install DESTDIR="$root" \
    >"$work/install.log" 2>&1
verdict "make install DESTDIR=... succeeds" || show "$work/install.log"
expand() { # expand PATH-WITH-${prefix}: the installed path under $root
    echo "$root$(echo "$1" | sed -e "s|\${prefix}|$prefix|g" -e "s|\${exec_prefix}|$prefix|g" \
        -e "s|\${datarootdir}|$prefix/share|g")"
}
sbindir=$(expand "$(mkvar sbindir)")
sysconfdir=$(expand "$(mkvar sysconfdir)")
statedir=$(expand "$(mkvar localstatedir)")/lib/owmesh
unitdir=$(expand "$(mkvar systemdsystemunitdir)")
mandir=$(expand "$(mkvar mandir)")
includedir=$(expand "$(mkvar includedir)")
libdir=$(expand "$(mkvar libdir)")

# ------------------------------------------------------------------ units
for d in owampd owmesh-coordinator owmesh-node owmesh-collector twampd stampd; do
    u=$unitdir/$d.service
    [ -f "$u" ] || { fail "unit $d.service installed in $unitdir"; continue; }
    ! grep -q '@[a-z]*@' "$u" && grep -q '^Type=simple$' "$u" && grep -q '^Restart=on-failure$' "$u" &&
        grep -q "^ExecStart=${sbindir#"$root"}/$d " "$u"
    verdict "$d.service: paths substituted, Type=simple, Restart=on-failure, ExecStart=sbindir/$d"
    [ -x "$sbindir/$d" ] || fail "$d installed in sbindir"
done
for d in owmesh-coordinator owmesh-node owmesh-collector stampd; do
    grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$unitdir/$d.service"
    verdict "$d.service reloads with SIGHUP"
done
grep -q '^ExecReload' "$unitdir/owampd.service" && fail "owampd.service has ExecReload (SIGHUP stops owampd)" ||
    pass "owampd.service: no ExecReload (SIGHUP stops owampd)"

# ------------------------------------------------------------------ configuration, state
for f in owmesh-coordinator.conf owmesh-node.conf owmesh-collector.conf owampd.conf mesh.json.example; do
    [ -f "$sysconfdir/owmesh/$f" ] && grep -q '^#\|_comment' "$sysconfdir/owmesh/$f" &&
        ! grep -q '@[a-z]*@' "$sysconfdir/owmesh/$f"
    verdict "commented $f in sysconfdir/owmesh"
done
"$OWMESH" check "$sysconfdir/owmesh/mesh.json.example" >"$work/check.out" 2>&1
verdict "the example mesh parses (owmesh check)" || show "$work/check.out"
[ "$(stat -c %a "$sysconfdir/owmesh/keys" 2>/dev/null)" = 700 ]
verdict "the keys directory is private (0700)"
[ -d "$statedir" ] && [ "$(stat -c %a "$statedir")" = 755 ]
verdict "state directory localstatedir/lib/owmesh, 0755"
ww=$(find "$root" -perm -0002 ! -type l 2>/dev/null | head -3)
[ -z "$ww" ] && pass "nothing world-writable" || fail "world-writable: $ww"

# ------------------------------------------------------------------ man pages, headers
for m in man8/owmesh-node.8 man8/owmesh-coordinator.8 man8/owmesh-collector.8 man8/owampd.8 \
    man1/owmesh.1 man5/owmesh-mesh.5; do
    [ -f "$mandir/$m" ] || fail "man page $m installed"
done
pass "man pages installed"
[ -f "$includedir/owamp/owamp.h" ] && [ -f "$includedir/owamp/error.h" ] && [ ! -e "$includedir/error.h" ]
verdict "headers under includedir/owamp only"

# ------------------------------------------------------------------ a consumer through pkg-config
PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs libowamp \
    >"$work/pc.out" 2>"$work/pc.err"
verdict "pkg-config --cflags --libs libowamp" || show "$work/pc.err"
grep -q -- "-I$includedir\( \|$\)" "$work/pc.out"
verdict "Cflags points at includedir, not includedir/owamp: $(cat "$work/pc.out")"
cat >"$work/consumer.c" <<'C'
#include <owamp/owamp.h>
#include <owamp/error.h>
#include <error.h> /* glibc's error(3), not libowamp's error.h */
int main(void)
{
    owp_err err;
    owp_err_clear(&err);
    error(0, 0, "consumer: libowamp says code %d", (int)err.code);
    return err.code == OWP_OK ? 0 : 1;
}
C
# The build's own flags: a sanitizer build's libowamp needs its runtime in
# the consumer too.
build_cflags=$(sed -n 's/^CFLAGS = //p' "$top_builddir/Makefile")
build_ldflags=$(sed -n 's/^LDFLAGS = //p' "$top_builddir/Makefile")
# shellcheck disable=SC2046,SC2086 # pkg-config's output and the flags are lists of words
cc $build_cflags -o "$work/consumer" "$work/consumer.c" $(cat "$work/pc.out") $build_ldflags \
    >"$work/cc.err" 2>&1
verdict "a consumer including <owamp/owamp.h> and <error.h> builds" || show "$work/cc.err"
LD_LIBRARY_PATH=$libdir "$work/consumer" 2>"$work/run.err"
verdict "the consumer runs against the installed libowamp" || show "$work/run.err"
grep -q 'consumer: libowamp says code 0' "$work/run.err"
verdict "<error.h> is the C library's (error(3) printed)"

e2e_finish
