/* guestmem.c - reading and writing buffers a caller names: guest addresses (bounds-checked
 * against the domain's memory, read once through the memfd) or the control socket's buffers. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "hv.h"

static int guest_range(struct hv_domain *d, uint64_t va, size_t len, uint64_t *off)
{
    uint64_t gpa;

    if (va < KEEL_GUEST_BASE)
        return -EFAULT;
    gpa = va - KEEL_GUEST_BASE;
    if (gpa >= d->mem_size || len > d->mem_size - gpa)
        return -EFAULT;
    *off = gpa;
    return 0;
}

int hv_copy_from_guest(struct hv_domain *d, uint64_t va, void *dst, size_t len)
{
    uint64_t off;
    ssize_t n;

    if (!len)
        return 0;
    if (guest_range(d, va, len, &off) < 0 || hv_lazy_need_bytes(d, off, len) < 0)
        return -EFAULT;
    n = pread(d->mem_fd, dst, len, (off_t)off);
    return n == (ssize_t)len ? 0 : -EFAULT;
}

int hv_copy_to_guest(struct hv_domain *d, uint64_t va, const void *src, size_t len)
{
    uint64_t off;
    ssize_t n;

    if (!len)
        return 0;
    if (guest_range(d, va, len, &off) < 0 || hv_lazy_need_bytes(d, off, len) < 0)
        return -EFAULT;
    n = pwrite(d->mem_fd, src, len, (off_t)off);
    hv_logdirty_mark(d, off, len);
    return n == (ssize_t)len ? 0 : -EFAULT;
}

/* The argument structure: at a guest address, or inline in the control socket message (which
 * must carry exactly the structure's size). */
int hv_arg_read(struct hv_caller *c, uint64_t addr, void *dst, size_t len)
{
    if (!hv_is_priv(c))
        return hv_copy_from_guest(c->d, addr, dst, len);
    if (c->arg_len != len)
        return -EINVAL;
    memcpy(dst, c->arg, len);
    return 0;
}

int hv_arg_write(struct hv_caller *c, uint64_t addr, const void *src, size_t len)
{
    if (!hv_is_priv(c))
        return hv_copy_to_guest(c->d, addr, src, len);
    if (c->arg_len != len)
        return -EINVAL;
    memcpy(c->arg, src, len);
    return 0;
}

/* For the control socket the argument structure arrives inline: addr is ignored and the input
 * buffer follows the structure; outputs go to the reply buffer (bounded by out_max). */
int hv_buf_read(struct hv_caller *c, uint64_t addr, void *dst, size_t len)
{
    if (!hv_is_priv(c))
        return hv_copy_from_guest(c->d, addr, dst, len);
    if (len > c->in_len)
        return -EINVAL;
    memcpy(dst, c->in, len);
    return 0;
}

int hv_buf_write(struct hv_caller *c, uint64_t addr, const void *src, size_t len)
{
    if (!hv_is_priv(c))
        return hv_copy_to_guest(c->d, addr, src, len);
    if (len > c->out_max)
        return -ENOBUFS;
    memcpy(c->out, src, len);
    if (len > c->out_len)
        c->out_len = len;
    return 0;
}
