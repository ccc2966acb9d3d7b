/* kcd_chan.h - keel-consoled's PV channels: secondary consoles with a name (Xen's
 * docs/misc/console.txt), found in the store under /local/domain/0/backend/console/<domid>/<n>,
 * their ring set up by the guest's frontend (a granted page and an unbound event channel in
 * device/console/<n>: ring-ref, port), relayed to a Unix socket (connection=socket, path=) or a
 * pty (connection=pty; its path written to the frontend's tty key). */
#ifndef KCD_CHAN_H
#define KCD_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "kxs.h"

struct kcd;

/* The (domid, console number) a store path names: "/local/domain/0/backend/console/D/N[/...]"
 * or "/local/domain/D/device/console/N[/...]" (decimal, no leading zeros, D 1..0x7fef, N
 * 1..65536); 0, or -1 for any other path. Pure (fuzzed with the other store parsers). */
int kcd_chan_path(const char *path, size_t len, uint32_t *domid, uint32_t *cons);

/* A watch event under /local/domain: the channel it names is looked at again. */
void kcd_chan_event(struct kcd *k, kxs *x, const char *path);
/* Every channel backend in the store (after (re)connecting to it). */
void kcd_chan_scan(struct kcd *k, kxs *x);
/* Drop the channels of domains that no longer exist (VIRQ_DOM_EXC). */
void kcd_chan_reap(struct kcd *k);
void kcd_chan_free_all(struct kcd *k);

#endif
