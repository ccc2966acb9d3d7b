#!/bin/sh
# Quick start, first command: installs what is needed (Debian 12, as root), builds and installs
# Keel, starts a host in a private runtime directory and runs guests with their console on the
# screen, then stops the host.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
sh scripts/install-deps.sh
[ -x configure ] || autoreconf -fi >/dev/null 2>&1
prefix=${PREFIX:-/usr/local}
sh scripts/build.sh "$src/build/demo" --prefix="$prefix"
make -C "$src/build/demo" install >/dev/null
ldconfig
export KEEL_RUNDIR=${KEEL_RUNDIR:-/run/keel-demo}
guests="$prefix/lib/keel/guests"

echo "== starting the hypervisor core in $KEEL_RUNDIR"
"$prefix/sbin/keel-hv" -d
for i in $(seq 100); do [ -S "$KEEL_RUNDIR/hv.sock" ] && break; sleep 0.05; done
trap 'kill "$(cat "$KEEL_RUNDIR/keel-hv.pid")" 2>/dev/null || true' EXIT

echo "== a guest says hello"
"$prefix/bin/keel-boot" "$guests/hello" "console=hvc0 greeting=demo"
echo "== a guest with 8 vCPUs: every vCPU reports in"
"$prefix/bin/keel-boot" -c 8 "$guests/smp" | tail -4
echo "== a guest counting on a timer for 3 seconds"
"$prefix/bin/keel-boot" -t 3 "$guests/counter" interval=250 || true
echo "== a guest trying to escape: it crashes, alone"
"$prefix/bin/keel-boot" "$guests/evil" attempt=syscall || true
echo "== the end of the hypervisor console ring"
tail -8 "$KEEL_RUNDIR"/keel-hv.log 2>/dev/null || true
