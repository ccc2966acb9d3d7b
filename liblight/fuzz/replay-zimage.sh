#!/bin/sh
# replay-zimage.sh - replays the committed seed corpus through the compressed-image fuzz target.
exec "$KEEL_BUILDDIR/liblight/fuzz/fuzz-zimage" "$KEEL_SRCDIR/liblight/fuzz/corpus-zimage"
