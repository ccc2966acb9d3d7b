#!/bin/sh
# replay-xlhdr.sh - replays the committed seed corpus through the xl-preamble fuzz target.
exec "$KEEL_BUILDDIR/libguest/stream/fuzz/fuzz-xlhdr" "$KEEL_SRCDIR/libguest/stream/fuzz/corpus-xlhdr"
