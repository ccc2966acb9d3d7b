#!/bin/sh
# replay-writer.sh - replays the committed seed corpus through the writer-vs-reader fuzz target.
exec "$KEEL_BUILDDIR/libguest/stream/fuzz/fuzz-writer" "$KEEL_SRCDIR/libguest/stream/fuzz/corpus-writer"
