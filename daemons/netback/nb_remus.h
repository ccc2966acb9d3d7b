/* nb_remus.h - keel-netback's Remus output commit (nb_remus.c, docs/remus.md). */
#ifndef NB_REMUS_H
#define NB_REMUS_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct nb_vif;
struct nb_queue;

/* BE `remus` = 1: connect to the hub and hold tx frames; otherwise send what is held and stop. */
void nb_remus_reconcile(struct nb_vif *v);
int nb_remus_fd(const struct nb_vif *v);
void nb_remus_input(struct nb_vif *v);
/* Instead of writev(tap): keep the frame (vnet header + data) for the open epoch. Returns the
 * bytes taken (as writev would), or -1 when the buffer is full (the frame is dropped). */
ssize_t nb_remus_hold(struct nb_vif *v, struct nb_queue *q, const struct iovec *iov, int cnt);
/* End protection: send everything held (flush) or drop it, and disconnect. */
void nb_remus_close(struct nb_vif *v, int flush);

#endif
