#!/bin/sh
# replay-xsreply.sh - replays the committed seed corpus through the store-reply fuzz target.
exec "$KEEL_BUILDDIR/liblight/fuzz/fuzz-xsreply" "$KEEL_SRCDIR/liblight/fuzz/corpus-xsreply"
