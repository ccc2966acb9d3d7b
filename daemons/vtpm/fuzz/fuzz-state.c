/* fuzz-state.c - libFuzzer target of keel-vtpmd's state loaders: the input is a sealed state
 * file image (vt_state_unseal under a fixed test key and uuid) and, the same bytes, an exported
 * state blob (kvtpm_blob_check). A file must be refused unless it authenticates (the fuzzer
 * cannot forge a tag: an accepted input must be one of the seeds' images, and its plaintext
 * length must match its header); a blob accepted must have lengths that add up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kvtpm.h"
#include "vt_state.h"

static const uint8_t key[VT_KEY_LEN] = "keel-vtpm-fuzz-key-0123456789ab";
static const char uuid[37] = "0b6f2e0c-4a43-4c5e-9a1e-5c1f6c1f3a11";

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *pt = NULL;
    size_t n = 0;
    char err[300], u[37];

    if (vt_state_unseal(key, uuid, data, size, &pt, &n, err, sizeof(err)) == 0) {
        check(n + VT_STATE_HDR + VT_STATE_TAG == size);
        free(pt);
    } else {
        check(pt == NULL && err[0]);
    }
    if (kvtpm_blob_check(data, size, u, err, sizeof(err)) == 0) {
        struct kvtpm_blob_hdr h;
        memcpy(&h, data, sizeof(h));
        check(h.perm_len > 0 && (uint64_t)h.perm_len + h.vol_len + sizeof(h) == size);
        check(strlen(u) == 36);
    }
    return 0;
}
