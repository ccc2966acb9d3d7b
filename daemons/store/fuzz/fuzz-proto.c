/* fuzz-proto.c - fuzz target for the store's message parser and dispatcher. Input: one
 * byte choosing the connection's domain (0 = dom0, anything else = that guest), then a raw
 * byte stream of xenstore requests fed to a fresh store through an in-process connection,
 * while a second dom0 connection watches the whole tree. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "klog.h"
#include "ks_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct event_base *base;
    static const char watch[] = { 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, '/', 0, 'w', 0 };
    struct ks_config cfg;
    struct ks_store *s;
    struct ks_conn *c, *w;
    size_t off = 1;

    if (size < 1)
        return 0;
    if (!base) {
        klog_init("fuzz-proto", KLOG_ERROR, NULL);
        base = event_base_new();
    }
    ks_config_defaults(&cfg);
    cfg.quota.nodes = 64;
    if (ks_store_new(base, &cfg, &s) < 0)
        return 0;
    w = ks_conn_new(s, 0, NULL, NULL);
    ks_conn_input(w, watch, sizeof(watch));
    c = ks_conn_new(s, data[0], NULL, NULL);
    /* Feed in uneven pieces so reassembly across reads is exercised too. */
    while (off < size) {
        size_t n = 1 + (data[off] % 64);
        if (n > size - off)
            n = size - off;
        if (ks_conn_input(c, data + off, n) < 0)
            break;
        off += n;
        evbuffer_drain(ks_conn_output(c), evbuffer_get_length(ks_conn_output(c)));
        evbuffer_drain(ks_conn_output(w), evbuffer_get_length(ks_conn_output(w)));
    }
    ks_conn_free(c);
    ks_conn_free(w);
    ks_store_free(s);
    return 0;
}
