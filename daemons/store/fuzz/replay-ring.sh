#!/bin/sh
# replay-ring.sh - replays the committed seed corpus through fuzz-ring (TAP).
exec "${KEEL_BUILDDIR:?}/daemons/store/fuzz/fuzz-ring" "${KEEL_SRCDIR:?}/daemons/store/fuzz/corpus-ring"
