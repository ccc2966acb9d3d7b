/* fuzz-req.c - libFuzzer target of keel-vtpmd's tpmif request path (vt_req.c): the input is the
 * shared page (first 4096 bytes, zero-padded) and one extra page (next 4096). Runs the header
 * checks, the command fetch over the pages "mapped" and the response writing, as the manager
 * does, and checks what it accepts: length 10..4096 within the pages, a TPM 2.0 tag, the size
 * field equal to length, locality 0..3, nr_extra_pages within the limit; error responses and
 * responses land inside the pages. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keel/io/tpmif.h"
#include "vt_req.h"

static uint8_t pages[1 + VT_MAX_EXTRA][VT_PAGE];
static uint8_t cmd[VT_TPM_BUF];

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vt_view v = { { pages[0] }, 1 };
    struct vt_req r;
    uint8_t e[10];

    memset(pages, 0, sizeof(pages));
    memcpy(pages, data, size < sizeof(pages) ? size : sizeof(pages));
    vt_req_header(pages[0], &r);
    check(r.off == 8u + 4u * r.nr_extra && r.off < VT_PAGE);
    if (r.rc == 0) {
        check(r.nr_extra <= VT_MAX_EXTRA && r.locality <= VT_MAX_LOCALITY);
        check(r.len >= 10 && r.len <= VT_TPM_BUF && r.off + r.len <= (1u + r.nr_extra) * VT_PAGE);
        for (unsigned i = 0; i < r.nr_extra; i++)
            v.pg[1 + i] = pages[1 + i];
        v.n = 1 + r.nr_extra;
    }
    vt_req_fetch(&v, &r, cmd);
    if (r.rc == 0) {
        uint32_t sz = (uint32_t)cmd[2] << 24 | (uint32_t)cmd[3] << 16 | (uint32_t)cmd[4] << 8 | cmd[5];
        check(sz == r.len && cmd[0] == 0x80 && (cmd[1] == 1 || cmd[1] == 2));
        check(vt_resp_put(&v, r.off, cmd, r.len) == 0);
        check(pages[0][4] == KEEL_TPMIF_STATE_FINISH);
        check(vt_resp_ok(cmd, r.len) || 1);
    } else {
        vt_err_resp(e, r.rc);
        check(vt_resp_ok(e, 10));
        check(vt_resp_put(&v, r.off, e, 10) == 0);
    }
    return 0;
}
