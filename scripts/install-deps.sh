#!/bin/sh
# Installs, from Debian 12's packages, everything Keel needs to build, test and run.
set -eu
PKGS="build-essential autoconf automake libtool pkg-config m4 clang llvm lld
 libxml2-dev libyajl-dev uuid-dev libevent-dev libssl-dev zlib1g-dev libfdt-dev
 libtpms-dev tpm2-tools swtpm swtpm-tools libseccomp-dev python3 python3-dev python3-pytest
 xenstore-utils checkpolicy setools iproute2 procps openssl gdb
 liburing-dev libnbd-dev qemu-utils libvirt-clients libvirt-daemon libxen-dev
 perl man-db systemd logrotate resource-agents libxml2-utils
 pacemaker pacemaker-cli-utils corosync"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # corosync and pacemaker are for tests/test-pcmk-remus.sh, which runs its own instances in
    # namespaces: the packages' system-wide services must not start (a policy-rc.d that says
    # no for the install, where the machine has none)
    prc=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        prc=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod +x "$prc"
    fi
    apt-get install -y -qq --no-install-recommends $missing || { [ -z "$prc" ] || rm -f "$prc"; exit 1; }
    [ -z "$prc" ] || rm -f "$prc"
fi
# where systemd runs the machine, keep the system-wide cluster stack stopped and off at boot
if [ -d /run/systemd/system ]; then
    systemctl disable --now pacemaker.service corosync.service >/dev/null 2>&1 || true
fi
# Xen's migration-stream verifier (pure Python) for the stream tests: unpacked from Debian's
# xen-utils package into /opt/keel-xen, not installed (that package would also bring Xen's xl).
ver=/opt/keel-xen/usr/lib/xen-4.17/bin/verify-stream-v2
if [ ! -f "$ver" ]; then
    tmp=$(mktemp -d)
    if (cd "$tmp" && apt-get download -qq xen-utils-4.17 >/dev/null 2>&1 &&
        dpkg-deb -x xen-utils-4.17_*.deb /opt/keel-xen); then :; else
        echo "install-deps: xen-utils-4.17 could not be fetched; the verifier tests will be skipped" >&2
    fi
    rm -rf "$tmp"
fi
