/* fuzz-xlhdr.c - libFuzzer target for the xl save-file preamble parser. Any preamble it
 * accepts must re-encode (from its config) to bytes that parse to the same header. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kg_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kg_xl_header h, h2;
    size_t used, used2, len;
    uint8_t *enc;
    char why[200];
    int rc = kg_xlhdr_parse(data, size, &h, &used, why, sizeof why);

    if (rc == -EAGAIN && used <= size)
        abort();  /* asked for no more than it had */
    if (rc)
        return 0;
    if (used > size)
        abort();
    if (kg_xlhdr_encode(h.config, &enc, &len))
        return 0;
    if (kg_xlhdr_parse(enc, len, &h2, &used2, why, sizeof why) || used2 != len ||
        h2.mandatory_flags != h.mandatory_flags || h2.config_len != h.config_len ||
        (h.config && strcmp(h.config, h2.config)))
        abort();
    free(enc);
    return 0;
}
