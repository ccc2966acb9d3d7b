#!/bin/sh
# replay-proto.sh - replays the committed seed corpus through fuzz-proto (TAP).
exec "${KEEL_BUILDDIR:?}/daemons/store/fuzz/fuzz-proto" "${KEEL_SRCDIR:?}/daemons/store/fuzz/corpus-proto"
