#!/bin/sh
# replay-xml.sh - replays the committed seed corpus through the domain XML fuzz target.
exec "$KEEL_BUILDDIR/liblight/fuzz/fuzz-xml" "$KEEL_SRCDIR/liblight/fuzz/corpus-xml"
