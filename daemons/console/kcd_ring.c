/* kcd_ring.c - reading a guest's console output and writing its input on the shared console
 * ring, with the guest's indices validated before any copy. */
#include "config.h"

#include <errno.h>

#include "kcd_ring.h"

int kcd_ring_take_output(volatile struct kcd_cons_iface *r, char *buf, size_t size)
{
    uint32_t cons = r->out_cons, prod = r->out_prod, avail, n = 0;

    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    avail = prod - cons;
    if (avail > KCD_OUT_SIZE)
        return -EPROTO;
    while (n < avail && n < size) {
        buf[n] = r->out[(cons + n) & (KCD_OUT_SIZE - 1)];
        n++;
    }
    __atomic_thread_fence(__ATOMIC_RELEASE);
    r->out_cons = cons + n;
    return (int)n;
}

int kcd_ring_put_input(volatile struct kcd_cons_iface *r, const char *buf, size_t len)
{
    uint32_t cons = r->in_cons, prod = r->in_prod, used, n = 0;

    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    used = prod - cons;
    if (used > KCD_IN_SIZE)
        return -EPROTO;
    while (n < len && used + n < KCD_IN_SIZE) {
        r->in[(prod + n) & (KCD_IN_SIZE - 1)] = buf[n];
        n++;
    }
    __atomic_thread_fence(__ATOMIC_RELEASE);
    r->in_prod = prod + n;
    return (int)n;
}
