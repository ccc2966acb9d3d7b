/* test-req.c - keel-vtpmd's checks of a tpmif v2 request (vt_req.c): a well-formed command in
 * one page and across an extra page is taken; lying length fields (short, beyond the pages,
 * over 4096), too many extra pages, a bad locality, a bad tag and a size field that disagrees
 * with length each get the TPM error code the manager answers with; responses land after the
 * header with length and state FINISH, and a response that does not fit is refused. */
#include <errno.h>
#include <string.h>

#include "keel/io/tpmif.h"
#include "tap.h"
#include "vt_req.h"

static uint8_t pg[2][VT_PAGE];
static uint8_t cmd[VT_TPM_BUF];

static void put_hdr(uint32_t len, uint8_t loc, uint8_t nr)
{
    memcpy(pg[0], &len, 4);
    pg[0][4] = KEEL_TPMIF_STATE_SUBMIT;
    pg[0][5] = loc;
    pg[0][7] = nr;
}

static void put_cmd(uint32_t off, uint32_t len, uint32_t sizefield, uint16_t tag)
{
    uint8_t c[VT_TPM_BUF];
    memset(c, 0x5a, sizeof(c));
    c[0] = (uint8_t)(tag >> 8);
    c[1] = (uint8_t)tag;
    c[2] = (uint8_t)(sizefield >> 24);
    c[3] = (uint8_t)(sizefield >> 16);
    c[4] = (uint8_t)(sizefield >> 8);
    c[5] = (uint8_t)sizefield;
    for (uint32_t i = 0; i < len; i++) {
        uint32_t o = off + i;
        pg[o / VT_PAGE][o % VT_PAGE] = c[i];
    }
}

static uint32_t run(struct vt_view *v)
{
    struct vt_req r;
    vt_req_header(pg[0], &r);
    if (!r.rc)
        v->n = 1 + r.nr_extra;
    vt_req_fetch(v, &r, cmd);
    return r.rc;
}

int main(void)
{
    struct vt_view v = { { pg[0], pg[1] }, 1 };
    struct vt_req r;
    uint8_t e[10];

    put_hdr(12, 0, 0);
    put_cmd(8, 12, 12, 0x8001);
    tap_ok(run(&v) == 0 && cmd[9] == 0x5a, "a 12-byte command at offset 8 is taken");
    put_hdr(4000, 2, 1);
    put_cmd(12, 4000, 4000, 0x8002);
    tap_ok(run(&v) == 0, "a 4000-byte command across the shared page and one extra page is taken");
    put_hdr(4096, 0, 1);
    put_cmd(12, 4096, 4096, 0x8001);
    tap_ok(run(&v) == 0, "a 4096-byte command (the TPM's buffer) is taken");
    put_hdr(4097, 0, 1);
    tap_ok(run(&v) == VT_RC_COMMAND_SIZE, "4097 bytes: TPM_RC_COMMAND_SIZE");
    put_hdr(5000, 0, 0);
    tap_ok(run(&v) == VT_RC_COMMAND_SIZE, "length beyond the one page granted: TPM_RC_COMMAND_SIZE");
    put_hdr(0xffffffffu, 0, 0);
    tap_ok(run(&v) == VT_RC_COMMAND_SIZE, "length 0xffffffff: TPM_RC_COMMAND_SIZE");
    put_hdr(9, 0, 0);
    tap_ok(run(&v) == VT_RC_COMMAND_SIZE, "length shorter than a header: TPM_RC_COMMAND_SIZE");
    put_hdr(12, 0, 200);
    tap_ok(run(&v) == VT_RC_COMMAND_SIZE, "200 extra pages: TPM_RC_COMMAND_SIZE");
    vt_req_header(pg[0], &r);
    tap_ok(r.off == 8 + 800 && r.off + 10 <= VT_PAGE,
           "its error response still goes at 8 + 4 * nr_extra_pages, inside the shared page");
    put_hdr(12, 4, 0);
    put_cmd(8, 12, 12, 0x8001);
    tap_ok(run(&v) == VT_RC_LOCALITY, "locality 4: TPM_RC_LOCALITY");
    put_hdr(12, 0, 0);
    put_cmd(8, 12, 13, 0x8001);
    tap_ok(run(&v) == VT_RC_COMMAND_SIZE, "a size field that disagrees with length: TPM_RC_COMMAND_SIZE");
    put_cmd(8, 12, 12, 0x00c1);
    tap_ok(run(&v) == VT_RC_BAD_TAG, "a TPM 1.2 tag: TPM_RC_BAD_TAG");
    put_hdr(12, 0, 1);
    put_cmd(12, 12, 12, 0x8001);
    vt_req_header(pg[0], &r);
    v.n = 1;                             /* the extra page was not mapped */
    vt_req_fetch(&v, &r, cmd);
    tap_ok(r.rc == VT_RC_COMMAND_SIZE, "a command whose extra page is not mapped is refused");
    v.n = 1;
    vt_err_resp(e, VT_RC_COMMAND_SIZE);
    tap_ok(e[0] == 0x80 && e[1] == 1 && e[5] == 10 && e[8] == 0x01 && e[9] == 0x42 &&
           vt_resp_ok(e, 10), "the error response is a 10-byte TPM 2.0 response with the code");
    pg[0][4] = KEEL_TPMIF_STATE_SUBMIT;
    tap_ok(vt_resp_put(&v, 8, e, 10) == 0 && pg[0][4] == KEEL_TPMIF_STATE_FINISH &&
           !memcmp(pg[0] + 8, e, 10) && pg[0][0] == 10, "a response is written with its length and FINISH");
    pg[0][4] = KEEL_TPMIF_STATE_SUBMIT;
    tap_ok(vt_resp_put(&v, 8, cmd, 4095) == -EMSGSIZE && pg[0][4] == KEEL_TPMIF_STATE_SUBMIT,
           "a response that does not fit the pages is not written");
    tap_ok(!vt_resp_ok(e, 11) && !vt_resp_ok(e, 9), "a response whose size field lies is not valid");
    return tap_done();
}
