/* kremus.h - the Remus device channel (issue 15, docs/remus.md): messages between the toolstack
 * replicating a domain (liblight's remus_dev.c, "the hub") and the backend workers of that
 * domain's devices (keel-blkback's bb_remus.c, keel-netback's nb_remus.c), over the Unix socket
 * <rundir>/remus/<domid>.sock that the hub listens on while BE key `remus` is 1. Header-only.
 *
 * Each message is a header (type, body length, little-endian host order: same host) and a body.
 * worker -> hub: HELLO {kind, devid}, WRITE {sector, nsect, flags, data}, MARKED {epoch}.
 * hub -> worker: MARK {epoch}, RESUME {epoch}, RELEASE {epoch}.
 * A closed socket ends protection: a disk stops mirroring, a vif sends what it holds. */
#ifndef KEEL_KREMUS_H
#define KEEL_KREMUS_H

#include <stdint.h>

#define KREMUS_SOCK_FMT "%s/remus/%u.sock"   /* rundir, domid */

enum kremus_type {
    KREMUS_HELLO = 1,     /* worker: struct kremus_hello */
    KREMUS_WRITE = 2,     /* disk worker: struct kremus_write + nsect * 512 bytes (none: discard) */
    KREMUS_MARKED = 3,    /* worker: struct kremus_epoch: everything of the epoch sent/held */
    KREMUS_MARK = 16,     /* hub: the guest is paused, epoch ends (disk: hold responses) */
    KREMUS_RESUME = 17,   /* hub: checkpoint read; disk: publish the held responses */
    KREMUS_RELEASE = 18,  /* hub: the backup acknowledged epoch: vif sends what it held for it */
};

enum kremus_kind { KREMUS_DISK = 1, KREMUS_NET = 2 };

#define KREMUS_WRITE_DISCARD 1u
#define KREMUS_MAX_BODY (24u + (4u << 20))   /* a 4 MiB write at most (blkback: 1 MiB) */

struct kremus_hdr { uint32_t type, len; };
struct kremus_hello { uint32_t kind, devid; };
struct kremus_write { uint64_t sector; uint32_t nsect, flags; };
struct kremus_epoch { uint32_t epoch, pad; };

/* The optional stream record of a disk write (kg_stream_write_optional): struct
 * kremus_disk_rec then the data; the backup applies it at the checkpoint that follows. */
#define KREMUS_REC_DISK 0x80004b01u
struct kremus_disk_rec { uint32_t devid, flags; uint64_t sector; uint32_t nsect, pad; };

/* The backup's acknowledgement of checkpoint n, on the reverse channel. */
#define KREMUS_ACK_MAGIC 0x4b41434bu         /* "KCAK" */
struct kremus_ack { uint32_t magic, n; };

#endif
