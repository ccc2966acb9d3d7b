/* vt_req.c - checks of a tpmif v2 request and the writing of its response (see vt_req.h). */
#include <errno.h>
#include <string.h>

#include "keel/io/tpmif.h"
#include "vt_req.h"

static uint32_t vt_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void vt_req_header(const uint8_t *page0, struct vt_req *r)
{
    volatile const uint8_t *vp = page0;
    struct keel_tpmif_shared_page h;
    uint8_t raw[8];
    uint32_t cap;

    memset(r, 0, sizeof(*r));
    for (int i = 0; i < 8; i++)
        raw[i] = vp[i];                  /* once: the guest may change it under us */
    memcpy(&h, raw, sizeof(h));
    r->len = h.length;
    r->locality = h.locality;
    r->nr_extra = h.nr_extra_pages;
    r->off = keel_tpmif_data_offset(h.nr_extra_pages);
    if (h.nr_extra_pages > VT_MAX_EXTRA) {
        r->rc = VT_RC_COMMAND_SIZE;
        r->why = "nr_extra_pages over the limit";
        return;
    }
    for (unsigned i = 0; i < h.nr_extra_pages; i++) {
        uint8_t b[4];
        for (int k = 0; k < 4; k++)
            b[k] = vp[8 + 4 * i + (unsigned)k];
        memcpy(&r->extra[i], b, 4);
    }
    cap = (1u + h.nr_extra_pages) * VT_PAGE - r->off;
    if (h.length < 10) {
        r->rc = VT_RC_COMMAND_SIZE;
        r->why = "length shorter than a TPM command header";
    } else if (h.length > cap) {
        r->rc = VT_RC_COMMAND_SIZE;
        r->why = "length beyond the pages granted";
    } else if (h.length > VT_TPM_BUF) {
        r->rc = VT_RC_COMMAND_SIZE;
        r->why = "length over the TPM's 4096-byte buffer";
    } else if (h.locality > VT_MAX_LOCALITY) {
        r->rc = VT_RC_LOCALITY;
        r->why = "locality not 0..3";
    }
}

/* Copy n bytes at byte offset off of the virtually contiguous pages (to or from buf). */
static int vt_view_copy(const struct vt_view *v, uint32_t off, uint8_t *buf, uint32_t n, int put)
{
    if ((uint64_t)off + n > (uint64_t)v->n * VT_PAGE)
        return -EMSGSIZE;
    while (n) {
        uint32_t pi = off / VT_PAGE, po = off % VT_PAGE, k = VT_PAGE - po;
        if (k > n)
            k = n;
        if (put)
            memcpy(v->pg[pi] + po, buf, k);
        else
            memcpy(buf, v->pg[pi] + po, k);
        off += k;
        buf += k;
        n -= k;
    }
    return 0;
}

void vt_req_fetch(const struct vt_view *v, struct vt_req *r, uint8_t cmd[VT_TPM_BUF])
{
    uint32_t tag;

    if (r->rc)
        return;
    if (v->n != 1u + r->nr_extra || r->len > VT_TPM_BUF ||
        vt_view_copy(v, r->off, cmd, r->len, 0) < 0) {
        r->rc = VT_RC_COMMAND_SIZE;
        r->why = "command beyond the pages mapped";
        return;
    }
    tag = (uint32_t)cmd[0] << 8 | cmd[1];
    if (tag != 0x8001 && tag != 0x8002) {
        r->rc = VT_RC_BAD_TAG;
        r->why = "not a TPM 2.0 command tag";
    } else if (vt_be32(cmd + 2) != r->len) {
        r->rc = VT_RC_COMMAND_SIZE;
        r->why = "the command's size field does not match length";
    }
}

int vt_resp_put(const struct vt_view *v, uint32_t off, const uint8_t *resp, uint32_t len)
{
    volatile uint8_t *state;

    if (v->n == 0 || vt_view_copy(v, off, (uint8_t *)resp, len, 1) < 0)
        return -EMSGSIZE;
    memcpy(v->pg[0], &len, 4);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    state = v->pg[0] + 4;
    *state = KEEL_TPMIF_STATE_FINISH;
    return 0;
}

void vt_err_resp(uint8_t out[10], uint32_t rc)
{
    out[0] = 0x80;
    out[1] = 0x01;
    out[2] = out[3] = out[4] = 0;
    out[5] = 10;
    out[6] = (uint8_t)(rc >> 24);
    out[7] = (uint8_t)(rc >> 16);
    out[8] = (uint8_t)(rc >> 8);
    out[9] = (uint8_t)rc;
}

int vt_resp_ok(const uint8_t *resp, uint32_t len)
{
    uint32_t tag;

    if (len < 10 || len > VT_TPM_BUF)
        return 0;
    tag = (uint32_t)resp[0] << 8 | resp[1];
    return (tag == 0x8001 || tag == 0x8002 || tag == 0x00c4) && vt_be32(resp + 2) == len;
}
