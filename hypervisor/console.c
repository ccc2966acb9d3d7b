/* console.c - the hypervisor console ring (xl dmesg) and each domain's console_io output. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"
#include "keel-flask-av.h"
#include "klog.h"

void hv_console_init(void)
{
    hv.console = calloc(1, HV_CONSOLE_RING_SIZE);
    if (!hv.console)
        abort();
}

/* Append to the ring; the oldest bytes are overwritten. Lock held or single-threaded. */
void hv_console_put(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        hv.console[(hv.console_end + i) % HV_CONSOLE_RING_SIZE] = buf[i];
    hv.console_end += len;
    if (hv.console_end - hv.console_start > HV_CONSOLE_RING_SIZE)
        hv.console_start = hv.console_end - HV_CONSOLE_RING_SIZE;
}

void hv_printk(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;

    n = snprintf(line, sizeof(line), "(XEN) ");
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    hv_console_put(line, (size_t)n);
    klog(KLOG_INFO, "console", "%.*s", n - 7, line + 6);
}

/* Guest output: kept per domain and echoed to the hypervisor ring as "(dN) line". */
void hv_dom_console_put(struct hv_domain *d, const char *buf, size_t len)
{
    static char partial_hdr[32];

    for (size_t i = 0; i < len; i++)
        d->con[(d->con_end + i) % HV_DOM_CONSOLE_SIZE] = buf[i];
    d->con_end += len;
    snprintf(partial_hdr, sizeof(partial_hdr), "(d%u) ", d->domid);
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && buf[j] != '\n')
            j++;
        hv_console_put(partial_hdr, strlen(partial_hdr));
        hv_console_put(buf + i, j - i);
        hv_console_put("\n", 1);
        i = j + 1;
    }
}

long hv_do_console_io(struct hv_caller *c, uint64_t cmd, uint64_t arg)
{
    struct keel_console_io io;
    char buf[KEEL_CONSOLE_MAX_WRITE];
    int rc;

    if (cmd != KEEL_CONSOLEIO_WRITE)
        return -ENOSYS;
    if ((rc = hv_xsm_check_xen(c, SECCLASS_XEN, XEN__WRITECONSOLE)) < 0)
        return rc;
    if ((rc = hv_arg_read(c, arg, &io, sizeof(io))) < 0)
        return rc;
    if (io.len > sizeof(buf))
        return -E2BIG;
    if ((rc = hv_buf_read(c, io.buf, buf, io.len)) < 0)
        return rc;
    hv_dom_console_put(c->d, buf, io.len);
    if (!hv_is_priv(c))
        hv_send_global_virq(KEEL_VIRQ_CON_RING);
    return io.len;
}

static size_t ring_copy(const char *ring, size_t ring_size, uint64_t from, uint64_t to,
                        uint8_t *dst)
{
    for (uint64_t i = from; i < to; i++)
        dst[i - from] = (uint8_t)ring[i % ring_size];
    return (size_t)(to - from);
}

long hv_sysctl_readconsole(struct hv_caller *c, struct keel_sysctl_readconsole *rc)
{
    uint64_t from = rc->incremental ? rc->index : hv.console_start;
    uint64_t to;
    uint8_t *tmp;
    long r;

    if (from < hv.console_start)
        from = hv.console_start;
    if (from > hv.console_end)
        return -EINVAL;
    to = hv.console_end;
    if (to - from > rc->count)
        to = from + rc->count;
    tmp = malloc(to - from + 1);
    if (!tmp)
        return -ENOMEM;
    rc->count = (uint32_t)ring_copy(hv.console, HV_CONSOLE_RING_SIZE, from, to, tmp);
    r = hv_buf_write(c, rc->buf, tmp, rc->count);
    free(tmp);
    rc->index = to;
    if (rc->clear)
        hv.console_start = hv.console_end;
    return r < 0 ? r : 0;
}

long hv_domctl_console_read(struct hv_caller *c, struct hv_domain *d,
                            struct keel_domctl_console_read *cr)
{
    uint64_t start = d->con_end > HV_DOM_CONSOLE_SIZE ? d->con_end - HV_DOM_CONSOLE_SIZE : 0;
    uint64_t from = cr->offset < start ? start : cr->offset, to = d->con_end;
    uint8_t *tmp;
    long r;

    if (from > to)
        from = to;
    if (to - from > cr->len)
        to = from + cr->len;
    tmp = malloc(to - from + 1);
    if (!tmp)
        return -ENOMEM;
    cr->len = (uint32_t)ring_copy(d->con, HV_DOM_CONSOLE_SIZE, from, to, tmp);
    r = hv_buf_write(c, cr->buf, tmp, cr->len);
    free(tmp);
    cr->offset = from;
    cr->end = d->con_end;
    return r < 0 ? r : 0;
}
