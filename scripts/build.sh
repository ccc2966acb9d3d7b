#!/bin/sh
# Builds Keel out of tree: scripts/build.sh BUILDDIR [configure options...]
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
bdir=$1; shift
[ -x "$src/configure" ] || (cd "$src" && autoreconf -fi >/dev/null)
mkdir -p "$bdir"
cd "$bdir"
[ -f Makefile ] || "$src/configure" --enable-silent-rules "$@" >configure.out 2>&1 || { cat configure.out; exit 1; }
make -j"$(nproc)" >make.out 2>&1 || { tail -60 make.out; exit 1; }
