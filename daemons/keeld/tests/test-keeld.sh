#!/bin/sh
# test-keeld.sh - starts a private Keel host (keel-hv, keel-stored, keel-consoled via keel-host)
# and keeld on it (Unix socket; TCP+TLS with client certificates; TCP+TLS with a token; a
# throwaway CA made with openssl), then runs test_keeld.py (TAP); stops everything at the end.
B=${KEEL_BUILDDIR:-../..}
B=$(cd "$B" && pwd)
S=${KEEL_SRCDIR:-$B/..}
S=$(cd "$S" && pwd)
PY=${PYTHON:-/usr/bin/python3}
KEEL_RUNDIR=$(mktemp -d /tmp/keel-keeld-XXXXXX) || exit 1
export KEEL_RUNDIR
export KEEL_HV="$B/hypervisor/keel-hv" KEEL_STORED="$B/daemons/store/keel-stored"
export KEEL_CONSOLED="$B/daemons/console/keel-consoled" KEEL_GUESTDIR="$B/guests"
export XL="$B/cli/xl" KEELD="$B/daemons/keeld/keeld" SRC="$S"
# block devices: the hotplug scripts of the source tree, a short wait for a backend
export KEEL_SCRIPTDIR="$S/scripts/hotplug" KEEL_DEVICE_TIMEOUT=2
CERTS="$KEEL_RUNDIR/certs"
export CERTS
cleanup() {
    [ -s "$KEEL_RUNDIR/keeld/keeld.pid" ] && kill "$(cat "$KEEL_RUNDIR/keeld/keeld.pid")" 2>/dev/null
    sleep 0.3
    sh "$S/scripts/keel-host" stop >/dev/null 2>&1
    rm -rf "$KEEL_RUNDIR"
}
trap cleanup EXIT
trap "exit 1" INT TERM
mkdir -p "$CERTS"
(
    cd "$CERTS" || exit 1
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=keel-test-ca
    for n in server client client-ro stranger; do
        openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj /CN=$n
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > $n.ext
        openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $n.pem -days 2 -extfile $n.ext
    done
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > token
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > token-ro
    # the access file: certificates by CN (stranger has none), a read-only token
    printf '# keeld access (test)\nfull cert client\nreadonly cert client-ro\n' > access
    printf 'readonly token %s   # a monitoring client\n' "$(cat token-ro)" >> access
) >/dev/null 2>&1 || { echo "1..0 # SKIP openssl could not make test certificates"; exit 0; }
# a free port pair
KEELD_PORT=$((20000 + $$ % 20000))
export KEELD_PORT
sh "$S/scripts/keel-host" start >/dev/null 2>&1 || { echo "Bail out! the host did not start"; exit 1; }
chmod 0711 "$KEEL_RUNDIR"
export KEELD_ARGS="--readonly-group 4242 --listen 127.0.0.1:$KEELD_PORT --tls-cert $CERTS/server.pem --tls-key $CERTS/server.key --tls-ca $CERTS/ca.pem --access $CERTS/access"
"$KEELD" $KEELD_ARGS || { echo "Bail out! keeld did not start"; exit 1; }
# The token listener is a second keeld (one keeld per runtime directory): its runtime
# directory holds links to this host's core and store sockets.
T="$KEEL_RUNDIR/tokenhost"
mkdir -p "$T/xenstored"
ln -s "$KEEL_RUNDIR/hv.sock" "$T/hv.sock"
ln -s "$KEEL_RUNDIR/xenstored/socket" "$T/xenstored/socket"
"$KEELD" -r "$T" --listen 127.0.0.1:$((KEELD_PORT + 1)) --tls-cert "$CERTS/server.pem" \
    --tls-key "$CERTS/server.key" --token-file "$CERTS/token" --access "$CERTS/access" --list-cache-ms 0 || { echo "Bail out! keeld (token) did not start"; exit 1; }
"$PY" "$S/daemons/keeld/tests/test_keeld.py"
rc=$?
[ -s "$T/keeld/keeld.pid" ] && kill "$(cat "$T/keeld/keeld.pid")" 2>/dev/null
exit $rc
