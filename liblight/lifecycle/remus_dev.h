/* remus_dev.h - Remus device replication in liblight (remus_dev.c, docs/remus.md): the
 * primary's hub (disk writes and output commit with the backends' workers, acknowledgements
 * from the backup) and the backup's disk applier and acknowledger. */
#ifndef KL_REMUS_DEV_H
#define KL_REMUS_DEV_H

#include <stdint.h>

#include "keel/guest.h"
#include "lc_int.h"

struct kl__remus_hub;
/* Primary: listen on <rundir>/remus/<domid>.sock, set BE remus=1 on the domain's disks
 * (unless no_disk) and vifs (unless no_net) and wait for their workers. ack_fd: the backup's
 * reverse channel (-1: none, output released at once). */
int kl__remus_hub_start(kl_ctx *ctx, uint32_t domid, int no_disk, int no_net, int ack_fd,
                        int timeout_ms, int debug, struct kl__remus_hub **out);
/* kg_save's checkpoint callback (arg: the hub). */
int kl__remus_hub_checkpoint(void *arg, enum kg_cp_phase phase, uint32_t n,
                             struct kg_stream_writer *w);
/* Report each completed checkpoint (acknowledged, or sent without a backup channel) to fn. */
void kl__remus_hub_on_checkpoint(struct kl__remus_hub *h, void (*fn)(uint32_t n, void *arg),
                                 void *arg);
/* End protection: release (send what the vifs hold) or not (the domain is fenced), clear the
 * BE keys, close. */
void kl__remus_hub_stop(struct kl__remus_hub *h, int release);

/* Backup: applies the disk records of each checkpoint to the domain's disks (paths of dc) when
 * it commits, then acknowledges it on ack_fd. */
struct kl__remus_backup;
int kl__remus_backup_new(kl_ctx *ctx, const kl_domain_config *dc, int ack_fd,
                         struct kl__remus_backup **out);
const struct kg_restore_hooks *kl__remus_backup_hooks(struct kl__remus_backup *b);
void kl__remus_backup_free(struct kl__remus_backup *b);

/* The failure timeout (ms): $KEEL_REMUS_TIMEOUT_MS, else 1000. */
int kl__remus_timeout(void);

#endif
