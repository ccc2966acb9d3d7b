#!/bin/sh
# test-keeld-remus.sh - Remus protection through keeld: two private Keel hosts (A, the primary,
# and B, the backup; two runtime directories on this machine, each with its core, store,
# console daemon and keeld), then test_keeld_remus.py (TAP) drives domain.protect,
# domain.protection, domain.unprotect and domain.protect_receive; stops everything at the end.
B=${KEEL_BUILDDIR:-../..}
B=$(cd "$B" && pwd)
S=${KEEL_SRCDIR:-$B/..}
S=$(cd "$S" && pwd)
PY=${PYTHON:-/usr/bin/python3}
KEEL_RUNDIR=$(mktemp -d /tmp/keel-kdremus-A-XXXXXX) || exit 1
RUNDIR_B=$(mktemp -d /tmp/keel-kdremus-B-XXXXXX) || exit 1
export KEEL_RUNDIR RUNDIR_B
export KEEL_HV="$B/hypervisor/keel-hv" KEEL_STORED="$B/daemons/store/keel-stored"
export KEEL_CONSOLED="$B/daemons/console/keel-consoled" KEEL_GUESTDIR="$B/guests"
export XL="$B/cli/xl" KEELD="$B/daemons/keeld/keeld"
# the backup takes over 300 ms after the primary's stream went silent (default 1000)
export KEEL_REMUS_TIMEOUT_MS=300
# the port B's keeld receives on
export RECV_PORT=$((40000 + $$ % 20000))
stop_host() { # RUNDIR
    [ -s "$1/keeld/keeld.pid" ] && kill "$(cat "$1/keeld/keeld.pid")" 2>/dev/null
    sleep 0.3
    KEEL_RUNDIR=$1 sh "$S/scripts/keel-host" stop >/dev/null 2>&1
    rm -rf "$1"
}
cleanup() { stop_host "$KEEL_RUNDIR"; stop_host "$RUNDIR_B"; }
trap cleanup EXIT
trap "exit 1" INT TERM
# TLS for the destination form: a throwaway CA, B's server and A's client certificates (EC keys:
# fast to make); without openssl that part is skipped
CERTS="$KEEL_RUNDIR/certs"
export CERTS
mkdir -p "$CERTS"
(
    cd "$CERTS" || exit 1
    K="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    openssl req -x509 $K -keyout ca.key -out ca.pem -days 2 -subj /CN=keel-remus-test-ca &&
    for c in server client; do
        openssl req $K -keyout $c.key -out $c.csr -subj /CN=$c &&
        printf 'subjectAltName=IP:127.0.0.1\n' > $c.ext &&
        openssl x509 -req -in $c.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $c.pem \
            -days 2 -extfile $c.ext || exit 1
    done
) >/dev/null 2>&1 || rm -rf "$CERTS"
for r in "$KEEL_RUNDIR" "$RUNDIR_B"; do
    KEEL_RUNDIR=$r sh "$S/scripts/keel-host" start >/dev/null 2>&1 || { echo "Bail out! host $r did not start"; exit 1; }
done
chmod 0711 "$KEEL_RUNDIR"
"$KEELD" -r "$KEEL_RUNDIR" --readonly-group 4242 || { echo "Bail out! keeld (A) did not start"; exit 1; }
# B's xl.conf: vCPUs on the last CPU only (a replica must get it, as from xl migrate-receive -r)
export B_CPUMASK=$(($(nproc) - 1))
echo "vm.cpumask=\"$B_CPUMASK\"" >"$RUNDIR_B/xl.conf"
"$KEELD" -r "$RUNDIR_B" --xl-conf "$RUNDIR_B/xl.conf" || { echo "Bail out! keeld (B) did not start"; exit 1; }
"$PY" "$S/daemons/keeld/tests/test_keeld_remus.py"
