/* vt_proto.h - the messages between keel-vtpmd and one of its instance processes (a libtpms
 * engine, vt_engine.c), over a SOCK_STREAM socketpair: struct vt_mhdr then len bytes. The
 * manager never trusts the instance's messages beyond their framing (type known, length within
 * VT_MSG_MAX), and the instance takes commands only from the manager. */
#ifndef VT_PROTO_H
#define VT_PROTO_H

#include <stdint.h>

#define VT_MSG_MAX (4u << 20)
#define VT_TPM_BUF 4096u                 /* largest TPM command or response (libtpms's buffer) */

enum vt_msg_type {
    /* manager -> instance */
    VT_M_INIT = 1,                       /* u32 perm_len, u32 vol_len, perm, vol (0, 0: new TPM) */
    VT_M_CMD = 2,                        /* u8 locality, the command */
    VT_M_GETSTATE = 3,                   /* nothing */
    /* instance -> manager */
    VT_M_READY = 0x81,                   /* u32 TPM_RESULT of the start */
    VT_M_NVSTORE = 0x82,                 /* the permanent state after it changed */
    VT_M_RESP = 0x83,                    /* the response */
    VT_M_STATE = 0x84,                   /* u32 perm_len, u32 vol_len, perm, vol */
};

struct vt_mhdr {
    uint32_t type;
    uint32_t len;
};

/* Whole-message I/O on a blocking descriptor: 0 or a negative errno (-ECONNRESET at EOF).
 * vt_msg_recv waits at most timeout_ms for each part (< 0: no limit); *data is malloc'd. */
int vt_msg_send(int fd, uint32_t type, const void *a, uint32_t alen, const void *b, uint32_t blen);
int vt_msg_recv(int fd, uint32_t *type, uint8_t **data, uint32_t *len, int timeout_ms);

/* The instance's main (vt_engine.c): serves the manager on fd until it closes. */
int vt_engine_main(int fd, const char *name);

#endif
