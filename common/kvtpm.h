/* kvtpm.h - the client of keel-vtpmd's control socket (daemons/vtpm), used by the toolstack for
 * save, restore and migration of a domain's vTPM (docs/device-vtpm.md "Manager <-> toolstack"),
 * and the wire format both ends share.
 *
 * Socket: <rundir>/vtpm/control (rundir NULL or "": $KEEL_RUNDIR, else /run/keel), AF_UNIX
 * SOCK_SEQPACKET, root only (directory 0700; the daemon also checks SO_PEERCRED uid 0).
 * One request per connection. Every message starts with struct kvtpm_msg_hdr (host byte order:
 * the socket never leaves the host); a payload longer than KVTPM_CHUNK_MAX travels as several
 * messages of the same op with KVTPM_F_MORE set on all but the last. Both ends check magic,
 * version, op, the ids and the lengths (a whole payload is at most KVTPM_PAYLOAD_MAX).
 * A reply carries op | KVTPM_OP_REPLY and a payload of int32 status (0 or a negative errno)
 * followed by the data (export) or by an error message (NUL-terminated text) when status < 0.
 *
 * All functions return 0 or a negative errno; on failure err (if not NULL) holds a message with
 * context (the daemon's own reason when it gave one). They block for at most about 30 s. */
#ifndef KEEL_KVTPM_H
#define KEEL_KVTPM_H

#include <stddef.h>
#include <stdint.h>

#define KVTPM_MAGIC 0x4d50544bu           /* "KTPM" */
#define KVTPM_VERSION 1u
#define KVTPM_CHUNK_MAX 32768u             /* payload bytes in one message */
#define KVTPM_PAYLOAD_MAX (4u << 20)       /* a whole request or reply payload */

enum kvtpm_op {
    KVTPM_OP_EXPORT = 1,                   /* request: no payload; reply: the blob */
    KVTPM_OP_IMPORT = 2,                   /* request: 36-char uuid text + the blob */
    KVTPM_OP_RELEASE = 3,                  /* request: no payload */
    KVTPM_OP_RESUME = 4,                   /* request: no payload */
    KVTPM_OP_REPLY = 0x100,                /* or-ed into the request's op */
};

#define KVTPM_F_MORE 1u                    /* another message of this payload follows */

struct kvtpm_msg_hdr {
    uint32_t magic;                        /* KVTPM_MAGIC */
    uint16_t version;                      /* KVTPM_VERSION */
    uint16_t op;                           /* enum kvtpm_op */
    uint32_t domid, devid;
    uint32_t length;                       /* payload bytes in this message */
    uint32_t flags;                        /* KVTPM_F_* */
};

/* The exported state ("blob"): struct kvtpm_blob_hdr, then perm_len bytes of libtpms's
 * permanent state and vol_len bytes of its volatile state (TPMLIB_GetState). Little-endian on
 * the wire (it crosses hosts in the migration stream). */
#define KVTPM_BLOB_MAGIC "KEELVTPM"
#define KVTPM_BLOB_VERSION 1u
struct kvtpm_blob_hdr {
    char magic[8];                         /* KVTPM_BLOB_MAGIC, no NUL */
    uint32_t version;                      /* KVTPM_BLOB_VERSION */
    uint32_t flags;                        /* 0 */
    char uuid[36];                         /* the vTPM's uuid, text, lower case, no NUL */
    uint32_t perm_len, vol_len;
};
_Static_assert(sizeof(struct kvtpm_blob_hdr) == 60, "kvtpm blob header layout");

/* Export the state of domain domid's vtpm devid: the instance finishes the command in flight,
 * stops taking new ones (frozen: the guest must be paused) and its whole state comes back in
 * *blob (malloc'd, caller frees) of *len bytes. The instance stays frozen until
 * kvtpm_release (it goes; its state is not written again) or kvtpm_resume (it runs on). */
int kvtpm_export(const char *rundir, uint32_t domid, uint32_t devid, uint8_t **blob, size_t *len,
                 char *err, size_t errlen);

/* Give the manager the starting state of domain domid's vtpm devid before the toolstack writes
 * its backend nodes (with resume=True): the blob is checked (magic, version, uuid = the given
 * uuid, lengths) and sealed to disk at once; the instance started for that device then begins
 * with it (permanent and volatile state) instead of the sealed file. */
int kvtpm_import(const char *rundir, uint32_t domid, uint32_t devid, const char *uuid,
                 const uint8_t *blob, size_t len, char *err, size_t errlen);

/* After a migration succeeded: the source's frozen instance is stopped without saving. */
int kvtpm_release(const char *rundir, uint32_t domid, uint32_t devid, char *err, size_t errlen);

/* After a save or migration failed: the frozen instance takes commands again. */
int kvtpm_resume(const char *rundir, uint32_t domid, uint32_t devid, char *err, size_t errlen);

/* Check a blob's header and lengths without a daemon; uuid (37 bytes) gets its uuid text.
 * 0, or -EINVAL with the reason in err. */
int kvtpm_blob_check(const uint8_t *blob, size_t len, char uuid[37], char *err, size_t errlen);

/* The wire, for the daemon and the tests: send one payload (split into chunks), receive one
 * (reassembled into *payload, malloc'd, at most KVTPM_PAYLOAD_MAX; *hdr gets the first message's
 * header with length = the whole payload). Receive checks magic, version and that every chunk
 * carries the same op and ids. 0 or a negative errno (-EPROTO: a malformed message). */
int kvtpm_send(int fd, uint16_t op, uint32_t domid, uint32_t devid, const void *payload,
               size_t len);
int kvtpm_recv(int fd, struct kvtpm_msg_hdr *hdr, uint8_t **payload, size_t *len);
/* A reply: status, then data (status 0) or the message text (status < 0). */
int kvtpm_send_reply(int fd, uint16_t op, uint32_t domid, uint32_t devid, int32_t status,
                     const void *data, size_t len);

#endif
