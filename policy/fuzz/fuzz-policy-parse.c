/* fuzz-policy-parse.c - fuzz target: keel-policyc's parser, neverallow check, renumbering and
 * writer on arbitrary source text. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kp_db db;
    FILE *out;

    kp_db_init(&db);
    db.quiet = 1;
    if (kp_parse(&db, (const char *)data, size, "fuzz.conf") == 0 &&
        kp_check_neverallow(&db) == 0 && kp_renumber(&db) == 0) {
        out = fopen("/dev/null", "wb");
        if (out) {
            kp_write(&db, 30, out);
            fclose(out);
        }
    }
    kp_db_free(&db);
    return 0;
}
