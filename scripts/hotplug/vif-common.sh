# vif-common.sh - sourced by Keel's vif hotplug scripts (vif-bridge, vif-route): Xen's calling
# convention for a vif and the helpers both need. liblight runs
#   <script> online|offline type_if=vif
# with XENBUS_PATH=backend/vif/<domid>/<devid> (relative to Domain-0's home), XENBUS_TYPE=vif,
# XENBUS_BASE_PATH=backend, script, vif=<tap name>, netdev=<gatewaydev or empty>, KEEL_RUNDIR and
# XENSTORED_PATH (so the stock xenstore-read/-write reach Keel's store).
# Arguments k=v set the variables type_if, vif, netdev, bridge (env < args < store key, as Xen);
# the first argument without '=' is the command. With type_if=vif only online/offline act;
# add/remove (and any type_if other than vif: an emulated NIC's tap) exit 0 doing nothing.
# fatal: hotplug-error=<message>, hotplug-status=error, exit 1. Logged to $KEEL_RUNDIR/hotplug.log.
set -u

script_name=${script_name:-vif}
rundir=${KEEL_RUNDIR:-/run/keel}
XENSTORED_PATH=${XENSTORED_PATH:-$rundir/xenstored/socket}
export XENSTORED_PATH
logfile="$rundir/hotplug.log"
xbpath=${XENBUS_PATH:-}
command=""
type_if=${type_if:-vif}
vif=${vif:-}
netdev=${netdev:-}
bridge=${bridge:-}
for a in "$@"; do
    case $a in
    type_if=*) type_if=${a#*=} ;;
    vif=*) vif=${a#*=} ;;
    netdev=*) netdev=${a#*=} ;;
    bridge=*) bridge=${a#*=} ;;
    *=*) ;;                        # other k=v: not used by Keel's scripts
    *) [ -n "$command" ] || command=$a ;;
    esac
done

log() {
    printf '%s %s %s %s: %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$script_name" "${command:-?}" \
        "${xbpath:-?}" "$*" >>"$logfile" 2>/dev/null
}

fatal() {
    log "error: $*"
    echo "$script_name: $*" >&2
    [ -n "$xbpath" ] && xenstore-write "$xbpath/hotplug-error" "$*" "$xbpath/hotplug-status" error \
        2>/dev/null
    exit 1
}

xread() { xenstore-read "$xbpath/$1" 2>/dev/null; }

# An interface name as Linux takes it (1..15 of [A-Za-z0-9_.-]).
ifname_ok() {
    case $1 in
    "" | . | .. | *[!A-Za-z0-9_.-]*) return 1 ;;
    esac
    [ ${#1} -le 15 ]
}

case $command in
online | offline | add | remove) ;;
*) fatal "unknown command '$command' (online, offline, add or remove)" ;;
esac
if [ "$type_if" != vif ] || [ "$command" = add ] || [ "$command" = remove ]; then
    log "type_if=$type_if: nothing to do for $command (only online/offline of a vif act)"
    exit 0
fi
case $xbpath in
backend/vif/*/*) ;;
*) xbpath=""; fatal "XENBUS_PATH '${XENBUS_PATH:-}' is not backend/vif/<domid>/<devid>" ;;
esac
domid=$(echo "$xbpath" | cut -d/ -f3)
devid=$(echo "$xbpath" | cut -d/ -f4)
case $domid$devid in
*[!0-9]*) xbpath=""; fatal "XENBUS_PATH '$XENBUS_PATH': domain and device must be numbers" ;;
esac
command -v xenstore-read >/dev/null 2>&1 || fatal "xenstore-read not found (install xenstore-utils)"
command -v ip >/dev/null 2>&1 || fatal "ip not found (install iproute2)"
[ -n "$vif" ] || vif="vif$domid.$devid"
ifname_ok "$vif" || fatal "vif '$vif' is not an interface name"
if [ -n "$netdev" ] && ! ifname_ok "$netdev"; then
    fatal "netdev '$netdev' is not an interface name"
fi
fe_path="/local/domain/$domid/device/vif/$devid"

# Interface facts through ip(8) (not /sys/class/net, which shows the namespace sysfs was
# mounted in, not necessarily the caller's).
if_exists() { ip link show dev "$1" >/dev/null 2>&1; }
if_mtu() { ip -o link show dev "$1" 2>/dev/null | sed -n 's/.* mtu \([0-9][0-9]*\).*/\1/p'; }

# The tap the backend created must be there before a script can plumb it.
require_vif() {
    if_exists "$vif" ||
        fatal "interface $vif does not exist (keel-netback creates it before the backend's InitWait)"
}

# offline: out of its bridge, down, and deleted if a dead backend left it behind.
# Errors are ignored, as libxl ignores remove errors.
vif_release() {
    if_exists "$vif" || { log "$vif is already gone"; return 0; }
    ip link set dev "$vif" nomaster 2>/dev/null
    ip link set dev "$vif" down 2>/dev/null
    ip tuntap del dev "$vif" mode tap 2>/dev/null || ip link delete dev "$vif" 2>/dev/null
    if if_exists "$vif"; then
        log "$vif left down and out of its bridge (its backend still holds it)"
    else
        log "$vif deleted"
    fi
    return 0
}
