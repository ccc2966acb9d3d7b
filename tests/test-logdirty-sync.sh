#!/bin/sh
# test-logdirty-sync.sh - the sync log-dirty engine (write-protect faults, forced with
# KEEL_LOGDIRTY=sync) under a representative subset of the suites that use log-dirty mode: live
# save, live migration (100 cuts), Remus, grant copies and writable mappings merged, xl migrate,
# xl remus, and the 128-vCPU dirtier migrated live. Each sub-test's TAP lines are passed on,
# renumbered, prefixed with its name. The rest of the suite runs on the core's own choice (async
# where the kernel has it). Skipped where the kernel has no sync engine.
B=${KEEL_BUILDDIR:-..}
S=${KEEL_SRCDIR:-$B/..}
export KEEL_LOGDIRTY=sync
n=0
failed=0
case $(uname -r) in
[1-4].*|5.[0-9].*|5.1[0-8].*) echo "1..0 # SKIP Linux $(uname -r) has no userfaultfd shmem write-protection"; exit 0 ;;
esac
run() { # NAME COMMAND...
    name=$1; shift
    out=$("$@" 2>/dev/null); rc=$?
    echo "$out" | grep -E '^(not )?ok ' >"$T/$name"
    while IFS= read -r line; do
        n=$((n + 1))
        case $line in
        "not ok"*) failed=$((failed + 1)); echo "not ok $n - $name: ${line#not ok * - }" ;;
        *) echo "ok $n - $name: ${line#ok * - }" ;;
        esac
    done <"$T/$name"
    n=$((n + 1))
    if [ "$rc" -eq 0 ]; then echo "ok $n - $name passes as a whole with the sync engine"
    else failed=$((failed + 1)); echo "not ok $n - $name passes as a whole with the sync engine (exit $rc)"; fi
}
T=$(mktemp -d /tmp/keel-ldsync-XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
for t in test-hv-save test-hv-migrate test-hv-remus test-hv-grant; do
    run "$t" "$B/tests/$t"
done
for t in test-xl-migrate.sh test-xl-remus.sh test-xl-logdirty.sh; do
    run "$t" sh "$S/tests/$t"
done
echo "1..$n"
[ "$failed" -eq 0 ]
