#!/bin/sh
# test-xl-tcpmig.sh - xl migrate --tcp over TLS between two Keel hosts, each in its own network
# namespace joined by a veth pair: a dirtier migrates from A to B and keeps ticking there with
# verified memory; a wrong certificate (either side), a killed receiver and a cut link each
# leave the source running under its name, with exit 1 and no NAME--migratedaway. Certificates
# come from a throwaway CA made with the openssl command; the link is slowed with tc so that
# the receiver can be killed and the link cut while the stream flows.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
if ! command -v openssl >/dev/null || ! command -v ip >/dev/null; then
    echo "1..0 # SKIP openssl or ip missing (scripts/install-deps.sh)"
    exit 0
fi
B2=$(mktemp -d /tmp/keel-xltest-B-XXXXXX)
T=$(mktemp -d /tmp/keel-tcpmig-XXXXXX)
NA=kltma$$ NB=kltmb$$ VA=kltA$$ VB=kltB$$
IPA=10.250.9.1 IPB=10.250.9.2
RPID= MPID=
teardown() {
    for p in $RPID $MPID; do kill -9 "$p" 2>/dev/null; done
    KEEL_RUNDIR=$B2 host stop >/dev/null 2>&1
    ip netns del $NA 2>/dev/null
    ip netns del $NB 2>/dev/null
    rm -rf "$B2" "$T"
    cleanup
}
trap teardown EXIT
XLB() { KEEL_RUNDIR=$B2 $XL "$@"; }
inA() { ip netns exec $NA "$@"; }
inB() { ip netns exec $NB env KEEL_RUNDIR=$B2 "$@"; }

# --- two namespaces, a veth pair
ip netns add $NA && ip netns add $NB && ip link add $VA type veth peer name $VB &&
    ip link set $VA netns $NA && ip link set $VB netns $NB &&
    ip -n $NA addr add $IPA/30 dev $VA && ip -n $NB addr add $IPB/30 dev $VB &&
    ip -n $NA link set $VA up && ip -n $NB link set $VB up &&
    ip -n $NA link set lo up && ip -n $NB link set lo up
ok $? "two network namespaces joined by a veth pair"

# --- a throwaway CA, certificates for B (server, by address) and A (client); a rogue CA
mkcert() { # NAME CA SUBJECT-ALT-NAME
    openssl req -new -newkey rsa:2048 -nodes -keyout "$T/$1.key" -subj "/CN=$1" \
        -out "$T/$1.csr" 2>/dev/null &&
    printf 'subjectAltName=%s\n' "$3" >"$T/$1.ext" &&
    openssl x509 -req -in "$T/$1.csr" -CA "$T/$2.pem" -CAkey "$T/$2.key" -CAcreateserial \
        -days 2 -extfile "$T/$1.ext" -out "$T/$1.pem" 2>/dev/null
}
for ca in ca rogue; do
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/$ca.key" -out "$T/$ca.pem" -days 2 \
        -subj "/CN=keel test $ca" 2>/dev/null || break
done
mkcert hostB ca "IP:$IPB" && mkcert hostA ca "DNS:hostA" && mkcert fakeB rogue "IP:$IPB" &&
    mkcert fakeA rogue "DNS:hostA"
ok $? "openssl makes a CA and certificates"

inA env KEEL_RUNDIR=$KEEL_RUNDIR sh "$S/scripts/keel-host" start >/dev/null 2>&1; ok $? "host A starts in its namespace"
inB sh "$S/scripts/keel-host" start >/dev/null 2>&1; ok $? "host B starts in its namespace"

# receive PORT CERT [extra options]: a listening receiver on B, in the background ($RPID)
receive() {
    port=$1 cert=$2; shift 2
    : >"$T/recv.err"
    ip netns exec $NB env KEEL_RUNDIR=$B2 $XL migrate-receive --listen $IPB:$port \
        --tls-cert "$T/$cert.pem" --tls-key "$T/$cert.key" --tls-ca "$T/ca.pem" "$@" 2>"$T/recv.err" &
    RPID=$!
    wait_until 10 grep -q listening "$T/recv.err"
}
migrate() { # PORT CLIENT-CERT DOMAIN
    exec ip netns exec $NA env KEEL_RUNDIR=$KEEL_RUNDIR $XL migrate --tcp --tls-ca "$T/ca.pem" \
        --tls-cert "$T/$2.pem" --tls-key "$T/$2.key" $3 $IPB:$1 2>"$T/send.err"
}
flowing() { # PORT: an established connection to the receiver on B
    ip netns exec $NB ss -Htn state established "( sport = :$1 )" | grep -q .
}
running_here() { # DOMAIN: on A, under its name, running or blocked
    $XL list "$1" 2>/dev/null | awk 'NR==2{print $5}' | grep -q '^-\?[rb]' &&
        not $XL list "$1--migratedaway"
}

# --- a dirtier over TLS from A to B
$XL create -q examples/dirtier.cfg name=mig 2>/dev/null; ok $? "a dirtier runs on host A"
wait_until 10 sh -c "timeout 1 $XL console mig 2>/dev/null | grep -q 'tick 2 '"; ok $? "it ticks on A"
receive 8101 hostB; ok $? "xl migrate-receive --listen waits on B"
(migrate 8101 hostA mig); ok $? "xl migrate --tcp over TLS exits 0"
grep -q "Migration successful" "$T/send.err"; ok $? "the sender reports success"
wait "$RPID"; ok $? "the receiver exits 0"; RPID=
grep -q "Domain started" "$T/recv.err"; ok $? "the receiver reports the domain started"
not $XL list mig; ok $? "the domain is gone from host A"
XLB list mig >/dev/null 2>&1; ok $? "host B runs it under its name"
not XLB list mig--incoming; ok $? "no NAME--incoming is left on B"
wait_until 10 sh -c "KEEL_RUNDIR=$B2 timeout 1 $XL console mig 2>/dev/null | grep -q 'tick'"; ok $? "it ticks on B"
sleep 1.5
KEEL_RUNDIR=$B2 timeout 1 $XL console mig >"$T/con" 2>/dev/null
grep -q tick "$T/con" && ! grep -q 'errors [1-9]' "$T/con"; ok $? "its memory verifies on B"
XLB destroy mig

# --- plain TCP (asked for explicitly) with -C: the target uses the given config
sed 's/^name = .*/name = "cmig2"/; s/^on_crash = .*/on_crash = "restart"/' examples/dirtier.cfg >"$T/c.cfg"
$XL create -q examples/dirtier.cfg name=cmig 2>/dev/null; ok $? "a third dirtier runs on A"
ip netns exec $NB env KEEL_RUNDIR=$B2 $XL migrate-receive --listen $IPB:8107 --plain 2>"$T/recv.err" &
RPID=$!
wait_until 10 grep -q "listening.*plain" "$T/recv.err"; ok $? "migrate-receive --listen --plain waits on B"
ip netns exec $NA env KEEL_RUNDIR=$KEEL_RUNDIR $XL migrate --tcp --plain -C "$T/c.cfg" cmig $IPB:8107 2>"$T/send.err"
ok $? "xl migrate --tcp --plain -C CONFIG exits 0"
wait "$RPID"; ok $? "the receiver exits 0"; RPID=
XLB list cmig2 >/dev/null 2>&1; ok $? "B runs it under the name of the -C config"
XLB list -l cmig2 2>/dev/null | grep -q '"on_crash": "restart"'; ok $? "with the -C config's settings"
not $XL list cmig; ok $? "the source is gone from A"
not $XL migrate --plain cmig x 2>/dev/null; ok $? "--plain without --tcp is a usage error"
XLB destroy cmig2

# --- failures: the source stays
$XL create -q examples/dirtier.cfg name=stay 2>/dev/null; ok $? "another dirtier runs on A"
receive 8102 fakeB
(migrate 8102 hostA stay); [ $? -eq 1 ]; ok $? "a receiver with a certificate of another CA: exit 1"
grep -qi "certificate" "$T/send.err"; ok $? "the sender says the certificate failed"
running_here stay; ok $? "the source runs on under its name"
kill "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null; RPID=

receive 8103 hostB
(migrate 8103 fakeA stay); [ $? -eq 1 ]; ok $? "a sender with a certificate of another CA: exit 1"
wait "$RPID"; [ $? -eq 1 ]; ok $? "the receiver refuses it with exit 1"; RPID=
running_here stay; ok $? "the source runs on under its name"
not XLB list stay--incoming; ok $? "nothing is left on B"

(migrate 8104 hostA stay); [ $? -eq 1 ]; ok $? "no receiver listening: exit 1"
running_here stay; ok $? "the source runs on under its name"

# slow the link (about 3 s for the dirtier's stream) so the stream can be broken mid-way
tc -n $NA qdisc add dev $VA root tbf rate 40mbit burst 32kb latency 400ms 2>/dev/null
ok $? "the link is slowed with tc"
receive 8105 hostB
migrate 8105 hostA stay &
MPID=$!
wait_until 10 flowing 8105; ok $? "the stream flows (a connection is established on B)"
sleep 1
kill -9 "$RPID"; RPID=
wait "$MPID"; [ $? -eq 1 ]; ok $? "the receiver killed mid-stream: exit 1"; MPID=
cat "$T/send.err" >&2
running_here stay; ok $? "the source runs on under its name"
XLB destroy stay--incoming 2>/dev/null

receive 8108 hostB
migrate 8108 hostA stay &
MPID=$!
wait_until 10 flowing 8108; ok $? "the stream flows (to be cancelled)"
sleep 1
kill -INT "$MPID"
wait "$MPID"; [ $? -eq 1 ]; ok $? "Ctrl-C (SIGINT) cancels xl migrate: exit 1"; MPID=
grep -q "cancel" "$T/send.err"; ok $? "it says the migration was cancelled"
running_here stay; ok $? "the source runs on under its name"
wait "$RPID"; [ $? -eq 1 ]; ok $? "the receiver gives up with exit 1"; RPID=
not XLB list stay--incoming; ok $? "and leaves nothing on B"

receive 8106 hostB
migrate 8106 hostA stay &
MPID=$!
wait_until 10 flowing 8106; ok $? "the stream flows again"
sleep 1
ip -n $NA link set $VA down
t0=$(date +%s)
wait "$MPID"; [ $? -eq 1 ]; ok $? "the link cut mid-stream: exit 1 ($(($(date +%s) - t0)) s after the cut)"; MPID=
cat "$T/send.err" >&2
running_here stay; ok $? "the source runs on under its name"
timeout 1 $XL console stay 2>/dev/null | grep -q tick; ok $? "and keeps ticking"
kill -9 "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null; RPID=
$XL destroy stay
done_tap
