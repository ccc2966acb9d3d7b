#!/bin/sh
# test-xl-top.sh - xl top (xentop's batch mode), dump-core (gdb reads the core with the guest's
# image: every vCPU's registers and backtrace), vm-list, trigger, sysrq, debug-keys,
# set-parameters, dmesg --clear and the refusal of Xen's commands that mean nothing here, with
# their error paths, on a private host.
. "${KEEL_SRCDIR:-..}/tests/xl-lib.sh"
cd "$S" || exit 1
T=$KEEL_RUNDIR

# no devices here: the core, the store and the console daemon are enough
export KEEL_BLKBACK=none KEEL_NETBACK=none KEEL_VTPMD=none
host start >/dev/null 2>&1; ok $? "keel-host start"
printf 'name = "dt"\nkernel = "dirtier"\nmemory = 16\nvcpus = 2\nextra = "size=1 rate=100"\n' >"$T/dt.cfg"
$XL create -q "$T/dt.cfg" && $XL create -q examples/counter.cfg
ok $? "a two-vCPU dirtier and a counter created"

# ---- top ----
$XL top -b -i 2 -d 1 >"$T/top" 2>"$T/top.err"; ok $? "xl top -b -i 2 -d 1 exits 0"
[ "$(grep -c '^ *NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID$' "$T/top")" = 2 ]
ok $? "two iterations: xentop's header twice, column for column"
for d in Domain-0 dt counter; do
    [ "$(awk -v d="$d" '$1 == d && NF == 19' "$T/top" | wc -l)" = 2 ]
    ok $? "a row of 19 columns for $d in each iteration"
done
awk '$1 == "dt" { exit !($2 ~ /^[-d][-s][-b][-c][-p][-r]$/ && $5 == 16384 && $9 == 2) }' "$T/top"
ok $? "dt's row: six state letters, MEM(k) 16384, VCPUS 2"
[ "$(awk 'NR > 1 && /^ *NAME/ { exit } NR > 1 { print $1 }' "$T/top" | tr '\n' ' ')" = "counter Domain-0 dt " ]
ok $? "rows sorted by name, case-insensitively (xentop's default)"
$XL top -b -i 1 -z | awk 'NR == 2 { exit $1 != "Domain-0" }'; ok $? "-z puts Domain-0 first"
[ "$($XL top -b -i 1 -r | grep -c '^ *NAME')" = 3 ]; ok $? "-r repeats the header before each domain"
$XL top -b -i 1 -v | grep -A1 '^ *dt ' | grep -Eq '^VCPUs\(sec\): +0: +[0-9]+s +1: +[0-9]+s$'
ok $? "-v prints a VCPUs(sec) line with both of dt's vCPUs"
$XL top -b -i 1 -x | grep -q '^VBD'; [ $? -ne 0 ]; ok $? "-x: no VBD lines for domains without disks"
$XL top -b -i 1 -f -n >/dev/null; ok $? "-f -n accepted"
$XL top -b -q >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "an unknown option is a usage error (2)"
$XL top -b -i 1 extra >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "an argument is a usage error (2)"
$XL top </dev/null >/dev/null 2>"$T/e"; [ $? -eq 1 ] && grep -q 'needs a terminal' "$T/e"
ok $? "the interactive mode without a terminal says so (exit 1)"
if command -v script >/dev/null 2>&1; then
    # interactive, on a pseudo-terminal: v (vCPU lines), s (sort by the next column), d 1 Enter, q
    (sleep 0.5; printf v; sleep 0.3; printf s; sleep 0.3; printf d; sleep 0.3; printf '1\r'; sleep 0.3; printf q) |
        timeout 10 script -qfec "stty rows 30 cols 200; $XL top" /dev/null >"$T/tty" 2>&1
    ok $? "interactive top quits on q (exit 0)"
    grep -q 'xentop - [0-9:]*   Keel ' "$T/tty" && grep -q '3 domains: ' "$T/tty" && grep -q 'CPUs: [0-9]* @ ' "$T/tty"
    ok $? "interactive: the summary lines (time, domain counts, memory and CPUs)"
    grep -q '^.*VCPUs(sec):' "$T/tty" && grep -q "$(printf '\033\\[1m STATE')" "$T/tty" && grep -q 'Delay(sec): ' "$T/tty"
    ok $? "interactive: v shows vCPUs, s makes STATE the sort column, d prompts for the delay"
else
    skip "interactive top" "no script(1)"; skip "interactive summary" "no script(1)"; skip "interactive keys" "no script(1)"
fi

# ---- vm-list ----
$XL vm-list >"$T/vm"; ok $? "xl vm-list exits 0"
head -1 "$T/vm" | grep -qx 'UUID                                  ID    name'; ok $? "vm-list: Xen's header"
id=$($XL domid dt)
grep -Eq "^[0-9a-f-]{36}  $id    dt +\$" "$T/vm" && [ "$(wc -l <"$T/vm")" = 3 ] && ! grep -q Domain-0 "$T/vm"
ok $? "vm-list: one row per guest (uuid, id, name), no Domain-0"

# ---- dump-core ----
$XL dump-core dt "$T/core"; ok $? "xl dump-core dt exits 0"
readelf -h "$T/core" 2>/dev/null | grep -q 'CORE (Core file)'; ok $? "the file is an ELF core"
[ "$(readelf -n "$T/core" | grep -c NT_PRSTATUS)" = 2 ] && [ "$(readelf -n "$T/core" | grep -c NT_FPREGSET)" = 2 ]
ok $? "one NT_PRSTATUS and one NT_FPREGSET note per vCPU"
$XL list dt | awk 'NR == 2 { exit $5 ~ /p/ }'; ok $? "the domain runs on after the dump"
if command -v gdb >/dev/null 2>&1; then
    gdb -batch -ex 'info threads' -ex 'thread apply all bt' -ex 'thread apply all info registers rip rsp' \
        "$B/guests/dirtier" "$T/core" >"$T/gdb" 2>&1
    ok $? "gdb -batch reads the core with the guest's image"
    grep -Eq '^Thread 1 ' "$T/gdb" && grep -Eq '^Thread 2 ' "$T/gdb"; ok $? "gdb: one thread per vCPU"
    [ "$(grep -Ec '^rip +0x1000001[0-9a-f]{5} +0x[0-9a-f]+ <[a-z_]+' "$T/gdb")" = 2 ]
    ok $? "gdb: each vCPU's rip is in the guest image, at a named function"
    grep -Eq '^#[0-9]+ .* in main \(\) at .*dirtier\.c' "$T/gdb" && grep -Eq '^#[0-9]+ .* in secondary \(' "$T/gdb"
    ok $? "gdb: the backtraces reach main (vCPU 0) and secondary (vCPU 1)"
    [ $? -eq 0 ] || sed 's/^/# /' "$T/gdb"
else
    for t in reads threads registers backtraces; do skip "gdb $t" "gdb not installed"; done
fi
$XL pause dt && $XL dump-core dt "$T/core2" && $XL list dt | awk 'NR == 2 { exit $5 !~ /p/ }'
ok $? "a paused domain is dumped and stays paused"
$XL unpause dt
$XL dump-core nosuch "$T/c3" 2>/dev/null; [ $? -eq 1 ] && [ ! -e "$T/c3" ]; ok $? "dump-core of an unknown domain: exit 1, no file"
$XL dump-core 0 "$T/c4" 2>"$T/e"; [ $? -eq 1 ] && grep -q 'core dump failed' "$T/e" && [ ! -e "$T/c4" ]
ok $? "dump-core of Domain-0 is refused (exit 1, no file)"
$XL dump-core dt "$T/nodir/c5" 2>"$T/e"; [ $? -eq 1 ] && grep -q 'nodir/c5' "$T/e"
ok $? "an unwritable path fails (exit 1) naming the file"
$XL list dt | awk 'NR == 2 { exit $5 ~ /p/ }'; ok $? "the domain runs on after the failed dump"
$XL dump-core dt >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "dump-core without a file is a usage error (2)"

# ---- sysrq, trigger ----
$XL sysrq dt s; ok $? "xl sysrq dt s exits 0"
if have_xs; then
    [ "$(xenstore-read "/local/domain/$id/control/sysrq")" = s ]; ok $? "sysrq wrote control/sysrq = s"
else
    skip "sysrq wrote control/sysrq" "no xenstore-read"
fi
$XL sysrq dt ab >/dev/null 2>"$T/e"; [ $? -eq 1 ] && grep -q 'Invalid sysrq' "$T/e"; ok $? "a sysrq of two letters: Invalid sysrq, exit 1"
$XL trigger dt bogus 2>"$T/e"; [ $? -eq 1 ] && grep -qx 'Invalid trigger "bogus"' "$T/e"; ok $? "an unknown trigger: Xen's message, exit 1"
for t in nmi init sleep s3resume; do
    $XL trigger dt $t 2>"$T/e"; [ $? -eq 1 ] && grep -q "Send trigger '$t' failed" "$T/e"
    ok $? "trigger $t is refused with the reason (exit 1)"
done
$XL trigger dt power 5 2>/dev/null; [ $? -eq 1 ]; ok $? "a trigger for a vCPU the domain lacks is refused"
cid=$($XL domid counter)
$XL trigger counter power; ok $? "trigger power exits 0"
if have_xs; then
    [ "$(xenstore-read "/local/domain/$cid/control/shutdown")" = poweroff ]; ok $? "power wrote control/shutdown = poweroff"
else
    skip "power wrote control/shutdown" "no xenstore-read"
fi
$XL trigger dt reset 1; ok $? "trigger reset exits 0"
wait_until 10 sh -c "n=\$($XL domid dt 2>/dev/null) && [ \"\$n\" != $id ]"
ok $? "reset: dt restarted as a new domain (on_reboot=restart)"

# ---- debug-keys, set-parameters (output in the core's console ring) ----
id=$($XL domid dt)
$XL debug-keys q; ok $? "xl debug-keys q exits 0"
$XL dmesg >"$T/dm"; grep -q "'q' pressed -> dumping domain info" "$T/dm" && grep -q "General information for domain $id:" "$T/dm" &&
    [ "$(grep -A5 "General information for domain $id:" "$T/dm" | grep -c '    VCPU[01]: ')" = 2 ]
ok $? "q: each domain and its two vCPUs in xl dmesg"
$XL debug-keys hZ && $XL dmesg >"$T/dm" && grep -q " key 'm' (ascii '6d') => memory info" "$T/dm" &&
    grep -q "'Z' pressed -> not honoured by Keel" "$T/dm"
ok $? "h lists the keys; a key without a handler is reported as not honoured"
$XL set-parameters loglvl=info && $XL dmesg | grep -q 'parameter loglvl set to info'
ok $? "set-parameters loglvl=info"
$XL set-parameters loglvl=warning >/dev/null
$XL set-parameters foo=1 2>"$T/e"; [ $? -eq 1 ] && grep -qx 'cannot set parameters: foo=1' "$T/e" &&
    grep -qx 'Use "xl dmesg" to look for possible reason.' "$T/e" && $XL dmesg | grep -q 'parameter "foo" unknown!'
ok $? "an unknown parameter: Xen's messages, exit 1, the reason in xl dmesg"
$XL set-parameters loglvl=loud 2>/dev/null; [ $? -eq 1 ]; ok $? "a bad loglvl value is refused (exit 1)"
$XL debug-keys >/dev/null 2>&1; [ $? -eq 2 ]; ok $? "debug-keys without keys is a usage error (2)"

# ---- dmesg --clear, not-meaningful commands ----
$XL dmesg --clear >/dev/null; ok $? "xl dmesg --clear exits 0"
[ "$($XL dmesg | wc -c)" -lt 200 ]; ok $? "the ring was cleared"
$XL pci-attach dt 00:01.0 2>"$T/e"; [ $? -eq 1 ] && grep -q 'not meaningful on a Keel host: no PCI' "$T/e"
ok $? "pci-attach is refused with the reason (exit 1)"
for c in usbctrl-attach cd-insert vncviewer qemu-monitor-command psr-hwinfo button-press; do
    $XL $c dt >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "$c refused (exit 1)"
done
$XL help | grep -q '^ pci-assignable-list    no PCI passthrough'; ok $? "xl help lists the commands not meaningful here, with the reason"

$XL destroy dt && $XL destroy counter; ok $? "destroy both"
done_tap
