/* kcd_pres_int.h - the privileged part's held resources, shared by kcd_pres.c (consoles, the
 * dispatch, store reads) and kcd_pchan.c (channels). */
#ifndef KCD_PRES_INT_H
#define KCD_PRES_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "keel/ctrl.h"
#include "kcd_privd.h"
#include "kxs.h"

struct kcd_pcons {                      /* a served console: its ring and bound port */
    uint32_t domid, port, local;
    uint64_t gfn;
    struct kcd_pcons *next;
};

struct kcd_pchan {                      /* a channel: host end, ring, port */
    uint32_t domid, cons;
    int is_socket;
    char path[108], tty[64];
    dev_t dev;                          /* the socket file made (removed only if still it) */
    ino_t ino;
    int lfd, master, slave;
    void *page;                         /* grant-mapped ring, NULL when not connected */
    uint64_t gfn;
    uint32_t ref, port, local;
    struct kcd_pchan *next;
};

struct kcd_pres {
    const struct kcd_priv_cfg *cfg;
    kc_handle *h;
    struct kcd_pcons *cons;
    struct kcd_pchan *chans;
    unsigned nchans;
};

/* A connection to the store for one check (closed by the caller), or NULL (-n, or not there). */
kxs *kcd_pres_store(struct kcd_pres *r);
/* A string key (NUL-terminated, shorter than len) or a number key (<= max). 0 or -errno. */
int kcd_pres_read(kxs *x, const char *path, char *out, size_t len);
int kcd_pres_read_u64(kxs *x, const char *path, uint64_t max, uint64_t *v);
/* The domain exists (0) or not (-ESRCH), with a message. */
int kcd_pres_exists(struct kcd_pres *r, uint32_t domid, struct kcd_priv_rsp *a);
/* The domain's memory descriptor (the caller closes it), if frame gfn is inside it. */
int kcd_pres_memfd(struct kcd_pres *r, uint32_t domid, uint64_t gfn, int *fd,
                   struct kcd_priv_rsp *a);
/* Bind the guest's port as Domain-0 and give a duplicate of its eventfd. */
int kcd_pres_bind(struct kcd_pres *r, uint32_t domid, uint32_t port, uint32_t *local, int *evfd,
                  struct kcd_priv_rsp *a);

int kcd_pchan_open(struct kcd_pres *r, const struct kcd_priv_req *q, struct kcd_priv_rsp *a,
                   int *fd);
int kcd_pchan_map(struct kcd_pres *r, const struct kcd_priv_req *q, struct kcd_priv_rsp *a,
                  int fds[2]);
struct kcd_pchan *kcd_pchan_find(struct kcd_pres *r, uint32_t domid, uint32_t cons);
void kcd_pchan_unmap(struct kcd_pres *r, struct kcd_pchan *c);
void kcd_pchan_free(struct kcd_pres *r, struct kcd_pchan *c);

#endif
