/* fuzz-ring.c - fuzz target for the ring transport: the input becomes the contents of a
 * guest's xenstore ring page (indices, connection state, request and response bytes) when
 * the domain is introduced, and optionally a second set of indices and a kick afterwards.
 * Whatever the guest puts there, the store must neither crash nor loop. Layout: 20 bytes
 * (req_cons, req_prod, rsp_cons, rsp_prod, connection), up to 2048 ring bytes, then
 * optionally 20 more bytes of the same header for the second round. */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "klog.h"
#include "ks_ring.h"
#include "ks_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static _Alignas(4096) struct ks_ring_iface page;
static int rx = -1, tx = -1;

static void *f_map(void *opaque, uint32_t domid, uint64_t gfn) { return &page; }

static int f_bind(void *opaque, uint32_t domid, uint32_t port, uint32_t *local, int *fd)
{
    *local = 1;
    *fd = rx;
    return 0;
}

static void f_notify(void *opaque, uint32_t domid, uint32_t local)
{
    uint64_t one = 1;

    if (write(tx, &one, sizeof(one)) != sizeof(one))
        return;
}

static void f_header(const uint8_t *d)
{
    uint32_t v[5];

    memcpy(v, d, sizeof(v));
    page.req_cons = v[0];
    page.req_prod = v[1];
    page.rsp_cons = v[2];
    page.rsp_prod = v[3];
    page.connection = v[4] & 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct event_base *base;
    const struct ks_domain_ops ops = { f_map, NULL, f_bind, f_notify, NULL, NULL, NULL };
    struct ks_config cfg;
    struct ks_store *s;
    size_t ring;
    uint64_t v;

    if (size < 20)
        return 0;
    if (!base) {
        klog_init("fuzz-ring", KLOG_ERROR, NULL);
        base = event_base_new();
        rx = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        tx = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    }
    memset(&page, 0, sizeof(page));
    f_header(data);
    ring = size - 20 < 2 * KS_RING_SIZE ? size - 20 : 2 * KS_RING_SIZE;
    memcpy(page.req, data + 20, ring);
    ks_config_defaults(&cfg);
    cfg.quota.nodes = 64;
    if (ks_store_new(base, &cfg, &s) < 0)
        return 0;
    ks_store_set_domain_ops(s, &ops);
    ks_domain_introduce(s, 5, 1, 1);    /* connects the ring and serves it once */
    if (size >= 20 + 2 * KS_RING_SIZE + 20) {
        f_header(data + 20 + 2 * KS_RING_SIZE);
        v = 1;
        if (write(rx, &v, sizeof(v)) == sizeof(v))
            event_base_loop(base, EVLOOP_NONBLOCK);
    }
    ks_store_free(s);
    while (read(tx, &v, sizeof(v)) == sizeof(v) || read(rx, &v, sizeof(v)) == sizeof(v))
        ;
    return 0;
}
