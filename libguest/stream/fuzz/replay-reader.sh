#!/bin/sh
# replay-reader.sh - replays the committed seed corpus through the stream-reader fuzz target.
exec "$KEEL_BUILDDIR/libguest/stream/fuzz/fuzz-reader" "$KEEL_SRCDIR/libguest/stream/fuzz/corpus-reader"
