#!/bin/sh
# check-liblight-only.sh PROGRAM... - fail when a program links libkeelctrl or libkeelguest
# symbols itself: liblight is the toolstack's only way in (docs/architecture.md). Run by the
# build (all-local of each checked program's Makefile.am: daemons/keeld for keeld, cli for xl)
# on the linked binary: libtool's real binary in .libs/ when there is one, else the program.
# Reads the dynamic symbols the program needs (nm -D --undefined-only) and prints every
# kc_* / kg_* among them.
NM=${NM:-nm}
status=0
for prog in "$@"; do
    bin=$prog
    dir=$(dirname "$prog")
    base=$(basename "$prog")
    [ -f "$dir/.libs/$base" ] && bin=$dir/.libs/$base
    if ! syms=$($NM -D --undefined-only "$bin" 2>/dev/null); then
        echo "check-liblight-only: cannot read the dynamic symbols of $bin" >&2
        status=1
        continue
    fi
    bad=$(printf '%s\n' "$syms" | awk '{ print $NF }' | grep -E '^(kc|kg)_' | sort -u | tr '\n' ' ')
    if [ -n "$bad" ]; then
        echo "check-liblight-only: $prog calls libkeelctrl/libkeelguest directly: $bad" >&2
        echo "check-liblight-only: add what it needs to liblight and call that instead" >&2
        status=1
    fi
done
exit $status
