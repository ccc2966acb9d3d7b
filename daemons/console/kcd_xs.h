/* kcd_xs.h - keel-consoled as a store client, the way xenconsoled finds consoles: a watch on
 * /local/domain; for each domain whose console/ring-ref and console/port appear, the console
 * is served as if "add DOMID RING-REF PORT" had been sent. kcd_xs_parse is the pure message
 * parser (fuzzed). */
#ifndef KCD_XS_H
#define KCD_XS_H

#include <stddef.h>
#include <stdint.h>

struct kcd;

#define KCD_XS_WATCH_EVENT 15u
#define KCD_XS_ERROR 16u

/* One xenstore message: header fields and its body (not NUL-terminated, len bytes). */
struct kcd_xs_msg {
    uint32_t type, req_id, tx_id, len;
    const char *body;
};

/* Take one message from buf[0..avail): 0 = incomplete (need more), >0 = bytes used and *m
 * filled, -EPROTO = a length over 4096 (the connection is broken). */
int kcd_xs_parse(const char *buf, size_t avail, struct kcd_xs_msg *m);
/* The domain id in a watch path that names a console key ("/local/domain/N/console/ring-ref"
 * or ".../console/port" or "/local/domain/N/console"); -1 otherwise. */
long kcd_xs_console_domid(const char *path, size_t len);

/* Connect to the store at path (and again after it goes away); 0 or negative errno. */
int kcd_xs_start(struct kcd *k, const char *path);
void kcd_xs_stop(struct kcd *k);

#endif
