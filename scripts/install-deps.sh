#!/bin/sh
# Installs, from Debian 12's packages, everything Keel needs to build, test and run.
set -eu
PKGS="build-essential autoconf automake libtool pkg-config m4 clang llvm lld
 libxml2-dev libyajl-dev uuid-dev libevent-dev libssl-dev zlib1g-dev libfdt-dev
 libtpms-dev libseccomp-dev python3 python3-dev python3-pytest
 xenstore-utils checkpolicy setools iproute2 procps"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing
fi
