#!/bin/sh
# test-xl-claims.sh - memory claims through xl on a private host: xl claims (Xen's columns, the
# Claimed column and Mem counting the claim), xl info's outstanding_claims, xl.conf's
# claim_mode (a create the host cannot hold fails at once, says why and leaves nothing; a
# normal create leaves no claim; restore and migrate-receive claim too: a restore or an
# incoming domain the host cannot hold fails at once, says why and leaves nothing), refusals.
# Claims on a running domain are staked with test-hv-claims' claim tool (libkeelctrl): xl
# itself claims only while it creates, restores or receives a domain.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
T=$KEEL_RUNDIR
CLAIM="$B/tests/test-hv-claims claim"
export KEEL_XL_CONF="$T/xl.conf"
export KEEL_BLKBACK=none KEEL_NETBACK=none KEEL_VTPMD=none
claims_of() { $XL claims 2>/dev/null | awk -v d="$1" '$1 == d { print $NF }'; }
outstanding() { $XL info | awk -F': ' '$1 ~ /^outstanding_claims/ { print $2 }'; }

host start >/dev/null 2>&1; ok $? "keel-host start"
printf 'claim_mode=1\n' >"$KEEL_XL_CONF"
$XL create -q examples/counter.cfg name=c1 memory=16 maxmem=32; ok $? "claim_mode=1: a domain that fits is created"
[ "$(outstanding)" = 0 ] && [ "$(claims_of c1)" = 0 ]; ok $? "no claim is left after the build"
$XL claims >"$T/out" 2>"$T/err"; ok $? "xl claims exits 0"
head -1 "$T/out" | grep -q "^Name                                        ID   Mem VCPUs	State	Time(s)  Claimed$"
ok $? "xl claims: Xen's header with the Claimed column"
grep -Eq '^Domain-0 +0 +[0-9]+ +[0-9]+ +r----- +[0-9]+\.[0-9] +0$' "$T/out"; ok $? "Domain-0's row claims nothing"
[ ! -s "$T/err" ]; ok $? "no note while claim_mode is on"

# a claim staked on c1 (32 MiB in all: 16 beyond its 16)
id=$($XL domid c1)
$CLAIM "$id" 8192 >/dev/null; ok $? "a claim of 32 MiB in all is staked on c1"
[ "$(claims_of c1)" = 16 ]; ok $? "xl claims shows 16 MiB claimed"
$XL claims | awk '$1 == "c1" { exit !($3 == 32) }'; ok $? "Mem counts the claim (16 + 16)"
[ "$(outstanding)" = 16 ]; ok $? "xl info: outstanding_claims 16"
[ "$($CLAIM "$id" 8192)" = EINVAL ]; ok $? "a second claim is refused (EINVAL)"
$CLAIM "$id" 0 && [ "$(claims_of c1)" = 0 ] && [ "$(outstanding)" = 0 ]; ok $? "a claim of 0 cancels it"
[ "$($CLAIM "$id" 4096)" = EINVAL ] && [ "$($CLAIM "$id" 8193)" = EINVAL ] &&
    [ "$($CLAIM "$id" 0xffffffffffffffff)" = EINVAL ]
ok $? "claims not above the domain's pages or above its maximum are refused (EINVAL)"
[ "$($CLAIM 4000 8192)" = ESRCH ] && [ "$($CLAIM 0 8192)" = ESRCH ]; ok $? "unknown domain and Domain-0: ESRCH"
$CLAIM "$id" 8192 && [ "$(outstanding)" = 16 ] && $XL destroy c1 && [ "$(outstanding)" = 0 ]
ok $? "destroying a domain drops its claim"

# a domain bigger than the host's free memory
free=$($XL info | awk -F': ' '$1 ~ /^free_memory/ { print $2 }')
before=$($XL list | wc -l)
if [ "$free" -lt 59000 ]; then
    printf 'name = "huge"\nkernel = "counter"\nmemory = 61440\n' >"$T/huge.cfg"
    $XL create -q "$T/huge.cfg" 2>"$T/err"; [ $? -ne 0 ]; ok $? "claim_mode=1: a 60 GiB domain fails to be created"
    grep -q "claim_mode: the host cannot hold domain 'huge': it needs 61440 MiB, [0-9]* MiB are free and unclaimed" "$T/err"
    ok $? "the error says why ($(head -c 200 "$T/err" | tr '\n' ' '))"
    not $XL domid huge 2>/dev/null && [ "$($XL list | wc -l)" -eq "$before" ] && [ "$(outstanding)" = 0 ]
    ok $? "no domain and no claim are left behind"
    if have_xs; then
        [ -z "$(store_domains)" ]; ok $? "no store node is left behind"
    else
        skip "no store node is left behind" "xenstore-list is not installed"
    fi
else
    for c in "a 60 GiB domain fails" "the error says why" "nothing left" "no store node left"; do
        skip "$c" "the host has more than 59000 MiB free"
    done
fi

# restores and incoming migrations are claimed for too
$XL create -q examples/counter.cfg name=r1 memory=16 && $XL save r1 "$T/r1.img" >/dev/null 2>&1
ok $? "save a 16 MiB domain"
$XL restore "$T/r1.img" >/dev/null 2>&1 && [ "$(outstanding)" = 0 ] && [ "$(claims_of r1)" = 0 ]
ok $? "claim_mode=1: it is restored, no claim is left after"
if [ "$free" -lt 59000 ]; then
    printf 'name = "huge"\nkernel = "counter"\nmemory = 61440\n' >"$T/huge.cfg"
    before=$($XL list | wc -l)
    $XL restore "$T/huge.cfg" "$T/r1.img" >/dev/null 2>"$T/err"; [ $? -eq 1 ]
    ok $? "claim_mode=1: restoring it as a 60 GiB domain fails (exit 1)"
    grep -q "claim_mode: the host cannot hold domain 'huge': it needs 61440 MiB, [0-9]* MiB are free and unclaimed" "$T/err"
    ok $? "the error says why ($(grep claim_mode "$T/err" | head -c 200))"
    not $XL domid huge 2>/dev/null && [ "$($XL list | wc -l)" -eq "$before" ] && [ "$(outstanding)" = 0 ]
    ok $? "no domain and no claim are left behind"
    $XL migrate -s '' -C "$T/huge.cfg" r1 "$XL migrate-receive" >/dev/null 2>"$T/err"; [ $? -eq 1 ]
    ok $? "migrate-receive claims too: the 60 GiB target fails (exit 1)"
    grep -q "claim_mode: the host cannot hold domain 'huge--incoming': it needs 61440 MiB" "$T/err" &&
        $XL domid r1 >/dev/null && not $XL domid huge--incoming 2>/dev/null && [ "$(outstanding)" = 0 ]
    ok $? "the receiver says why, the source runs on, nothing is left"
else
    for c in "a 60 GiB restore fails" "the error says why" "nothing left" "a 60 GiB migration fails" \
             "the receiver says why"; do
        skip "$c" "the host has more than 59000 MiB free"
    done
fi
$XL destroy r1
printf 'claim_mode=0\n' >"$KEEL_XL_CONF"
$XL claims >/dev/null 2>"$T/err"; grep -qx 'claim_mode not enabled (see man xl.conf).' "$T/err"
ok $? "with claim_mode=0 xl claims says claim_mode is not enabled"
$XL create -q examples/counter.cfg name=c2 && [ "$(claims_of c2)" = 0 ]; ok $? "claim_mode=0: create works without a claim"
$XL claims extra >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "xl claims with an argument: usage error (2)"
$XL claims -Z >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "xl claims with an unknown option: usage error (2)"
$XL destroy c2; ok $? "destroy"
done_tap
