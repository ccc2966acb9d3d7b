#!/bin/sh
# replay-json.sh - replays the committed seed corpus through the JSON fuzz target.
exec "$KEEL_BUILDDIR/liblight/fuzz/fuzz-json" "$KEEL_SRCDIR/liblight/fuzz/corpus-json"
