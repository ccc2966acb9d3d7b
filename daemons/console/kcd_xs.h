/* kcd_xs.h - keel-consoled as a store client, the way xenconsoled finds consoles: a watch on
 * /local/domain; for each domain whose console/ring-ref and console/port appear, the console
 * is served as if "add DOMID RING-REF PORT" had been sent. The wire is the common store
 * client's (common/kxs.h); kcd_xs_console_domid is the pure watch-path parser (fuzzed). */
#ifndef KCD_XS_H
#define KCD_XS_H

#include <stddef.h>
#include <stdint.h>

#include "kxs.h"

struct kcd;

/* The domain id in a watch path that names a console key ("/local/domain/N/console/ring-ref"
 * or ".../console/port" or "/local/domain/N/console"); -1 otherwise. */
long kcd_xs_console_domid(const char *path, size_t len);

/* Connect to the store at path (and again after it goes away); 0 or negative errno. */
int kcd_xs_start(struct kcd *k, const char *path);
void kcd_xs_stop(struct kcd *k);
/* The store connection now, or NULL (none, or reconnecting); for a write outside a watch
 * event (kcd_chan.c closing a channel whose ring the guest broke). */
kxs *kcd_xs_handle(struct kcd *k);

#endif
