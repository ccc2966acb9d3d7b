/* vt_req.h - the checks of a tpmif v2 request (pure functions over the shared pages: the fuzz
 * target's subject). The page is hostile: its header is read once, every field checked against
 * what is mapped and what a TPM takes, and a lie gets a TPM error response, never a crash. */
#ifndef VT_REQ_H
#define VT_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "vt_proto.h"

#define VT_PAGE 4096u
#define VT_MAX_EXTRA 1u                  /* extra pages taken (4 KiB command + header: 1) */
#define VT_MAX_LOCALITY 3u               /* locality 4 is the platform's (H-CRTM) */

#define VT_RC_BAD_TAG 0x01eu             /* TPM_RC_BAD_TAG */
#define VT_RC_FAILURE 0x101u             /* TPM_RC_FAILURE */
#define VT_RC_COMMAND_SIZE 0x142u        /* TPM_RC_COMMAND_SIZE */
#define VT_RC_LOCALITY 0x907u            /* TPM_RC_LOCALITY */
#define VT_RC_RETRY 0x922u               /* TPM_RC_RETRY */

/* The pages as mapped: pg[0] the shared page, then the extra pages in order. */
struct vt_view {
    uint8_t *pg[1 + VT_MAX_EXTRA];
    unsigned n;
};

struct vt_req {
    uint32_t rc;                         /* 0: a command to run; else answer with this code */
    const char *why;                     /* for the log when rc != 0 */
    uint32_t len;                        /* of the command */
    uint32_t off;                        /* data offset: 8 + 4 * nr_extra (always < 1 page) */
    uint8_t locality, nr_extra;
    uint32_t extra[VT_MAX_EXTRA];        /* grant references of the extra pages */
};

/* Read page 0's header once and check it. */
void vt_req_header(const uint8_t *page0, struct vt_req *r);
/* With the extra pages mapped (v->n == 1 + r->nr_extra): copy the command out and check its own
 * header (tag, size = length). */
void vt_req_fetch(const struct vt_view *v, struct vt_req *r, uint8_t cmd[VT_TPM_BUF]);
/* Put a response at off (bytes, then length, then state FINISH). -EMSGSIZE if it does not fit
 * in the pages (nothing written). */
int vt_resp_put(const struct vt_view *v, uint32_t off, const uint8_t *resp, uint32_t len);
/* A 10-byte TPM 2.0 error response with rc. */
void vt_err_resp(uint8_t out[10], uint32_t rc);
/* Whether a response is a plausible TPM response (tag, size = len). */
int vt_resp_ok(const uint8_t *resp, uint32_t len);

#endif
