#!/bin/sh
# replay-cfg.sh - replays the committed seed corpus through the xl.cfg fuzz target.
exec "$KEEL_BUILDDIR/liblight/fuzz/fuzz-cfg" "$KEEL_SRCDIR/liblight/fuzz/corpus-cfg"
