#!/bin/sh
# test-units.sh - the systemd units of etc/systemd: made with the build tree's programs (links
# in a scratch sbin) and its man pages installed in a scratch mandir, `systemd-analyze verify`
# accepts every unit with no message (keys, commands, documentation, dependencies, ordering
# cycles); a broken unit is refused (the check can fail); and the order is the one the host
# needs: the store after the core, every daemon after both, keeld after the console daemon,
# keel-domains after all of them (so at shutdown it saves the domains first).
B=${KEEL_BUILDDIR:-..}
S=${KEEL_SRCDIR:-$B/..}
if "$B/config.status" --config 2>/dev/null | grep -q enable-sanitizers; then
    echo "1..0 # SKIP in the sanitizer build: it checks unit files, no C code of its own; the plain build runs it"
    exit 0
fi
n=0
failed=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "1..0 # SKIP systemd-analyze not installed (scripts/install-deps.sh installs systemd)"; exit 0
fi
tmp=$(mktemp -d /tmp/keel-units-XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/sbin" "$tmp/units" "$tmp/etc"
B=$(cd "$B" && pwd)
for p in hypervisor/keel-hv daemons/store/keel-stored daemons/console/keel-consoled \
    daemons/keeld/keeld daemons/blkback/keel-blkback daemons/netback/keel-netback \
    daemons/vtpm/keel-vtpmd etc/keel-domains; do
    ln -s "$B/$p" "$tmp/sbin/"
done
for f in "$S"/etc/systemd/*.service.in; do
    sed -e "s|@sbindir@|$tmp/sbin|g" -e "s|@sysconfdir@|$tmp/etc|g" "$f" >"$tmp/units/$(basename "$f" .in)"
done
make -s -C "$B/docs/man" install mandir="$tmp/man" >/dev/null 2>&1
export MANPATH="$tmp/man"
units=$(cd "$tmp/units" && ls)
[ "$(echo "$units" | wc -l)" -eq 8 ]; ok $? "eight units: $(echo $units)"
(cd "$tmp/units" && systemd-analyze verify $units) >"$tmp/out" 2>&1; rc=$?
[ $rc -eq 0 ] && [ ! -s "$tmp/out" ]; ok $? "systemd-analyze verify accepts them all, silently"
sed 's/^/# /' "$tmp/out"
sed -e 's/^Type=forking/Typ=forking/' -e 's/^\(Requires=.*\)$/\1 keel-nonexistent.service/' \
    "$tmp/units/keeld.service" >"$tmp/broken.service"
(cd "$tmp/units" && systemd-analyze verify "$tmp/broken.service" keel-hv.service keel-stored.service \
    keel-consoled.service) >"$tmp/out" 2>&1
[ $? -ne 0 ] && grep -q "Typ" "$tmp/out"; ok $? "a unit with an unknown key and a missing dependency is refused"

after() { sed -n 's/^After=//p' "$tmp/units/$1.service" | tr ' ' '\n'; }
requires() { sed -n 's/^Requires=//p' "$tmp/units/$1.service" | tr ' ' '\n'; }
has() { grep -qx "$2" <<X
$($1)
X
}
has "after keel-stored" keel-hv.service && has "requires keel-stored" keel-hv.service
ok $? "keel-stored requires and follows keel-hv"
r=0
for u in keel-consoled keel-blkback keel-netback keel-vtpmd keeld; do
    has "after $u" keel-hv.service && has "after $u" keel-stored.service || { echo "# $u"; r=1; }
    has "requires $u" keel-hv.service || { echo "# $u does not require keel-hv"; r=1; }
done
ok $r "the console daemon, the backends and keeld follow the core and the store"
has "after keeld" keel-consoled.service; ok $? "keeld follows the console daemon"
r=0
for u in keel-hv keel-stored keel-consoled keel-blkback keel-netback keel-vtpmd keeld; do
    has "after keel-domains" $u.service || { echo "# keel-domains is not after $u"; r=1; }
done
ok $r "keel-domains follows every daemon (stopped first at shutdown)"
grep -q "^ExecStop=$tmp/sbin/keel-domains stop" "$tmp/units/keel-domains.service" &&
    grep -q "^RemainAfterExit=yes" "$tmp/units/keel-domains.service"
ok $? "keel-domains.service runs keel-domains stop when it is stopped"
grep -q "^ExecReload=/bin/kill -HUP" "$tmp/units/keel-consoled.service"; ok $? "reloading keel-consoled sends SIGHUP (its logs are reopened)"
echo "1..$n"
[ "$failed" -eq 0 ]
