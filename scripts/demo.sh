#!/bin/sh
# Quick start, first command: installs what is needed (Debian 12, as root), builds and installs
# Keel, starts a host (hypervisor core + store daemon) in its own runtime directory and runs
# guests with xl, their consoles on the screen; then stops the host.
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
export PATH="$prefix/sbin:$prefix/bin:$PATH"
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

run keel-host start
trap 'keel-host stop >/dev/null 2>&1 || true' EXIT
say "xl info | grep memory"; xl info | grep -E '^(total|free)_memory'
run xl create -c examples/hello.cfg
run xl create examples/counter.cfg name=demo1
run xl list
say "timeout 3 xl console demo1"; timeout 3 xl console demo1 || true
say "xl create -c examples/smp.cfg   (128 vCPUs)"; xl create -c examples/smp.cfg 2>&1 | tail -3
run xl sched-credit -d demo1 -w 512
run xl save demo1 /tmp/keel-demo1.save
run xl restore /tmp/keel-demo1.save
say "xl console demo1   (it continues where it was saved)"; timeout 2 xl console demo1 || true
say "a guest with a PV disk: it writes 64 MiB, flushes, reads back and verifies"
rm -f /tmp/keel-disk.img; truncate -s 64M /tmp/keel-disk.img
run xl create -c examples/diskcheck.cfg
say "cmp: the image holds what the guest wrote"
python3 tests/diskpattern.py 64 1 /tmp/keel-disk.ref && cmp /tmp/keel-disk.ref /tmp/keel-disk.img &&
    echo "the image matches the guest's pattern"
rm -f /tmp/keel-disk.img /tmp/keel-disk.ref
run xl getenforce
run xl list -Z
say "keel-boot evil attempt=syscall   (a guest trying to escape crashes alone)"
keel-boot "$prefix/lib/keel/guests/evil" attempt=syscall || true
say "xl dmesg | tail -6"; xl dmesg | tail -6
say "the Python module, installed where Debian's python3 looks (no PYTHONPATH)"
/usr/bin/python3 -c 'import keel; print([(d.domid, d.name, d.state) for d in keel.Context().list()])'
run xl destroy demo1
rm -f /tmp/keel-demo1.save
run keel-host stop
