/* keel/io/tpmif.h - the vTPM protocol (Xen's tpmif v2): one shared page the frontend grants,
 * holding a command or a response after a small header, and the states that hand the page back
 * and forth. Keys and sequence in docs/device-vtpm.md. The page is hostile to both sides: read
 * length and nr_extra_pages once and check them against what is mapped. */
#ifndef KEEL_IO_TPMIF_H
#define KEEL_IO_TPMIF_H

#include <stdint.h>

#define KEEL_TPMIF_STATE_IDLE 0      /* set by the backend: nothing in progress */
#define KEEL_TPMIF_STATE_SUBMIT 1    /* set by the frontend: a command is in the page */
#define KEEL_TPMIF_STATE_FINISH 2    /* set by the backend: the response is in the page */
#define KEEL_TPMIF_STATE_CANCEL 3    /* set by the frontend: abandon the command */

struct keel_tpmif_shared_page {
    uint32_t length;                 /* bytes of the command or response */
    uint8_t state;                   /* KEEL_TPMIF_STATE_* */
    uint8_t locality;                /* of the command */
    uint8_t pad;
    uint8_t nr_extra_pages;          /* grants in extra_pages[] */
    uint32_t extra_pages[];          /* mapped as if they followed this page */
};

/* Offset of the data in the (virtually contiguous) pages. */
static inline uint32_t keel_tpmif_data_offset(uint8_t nr_extra_pages)
{
    return 8u + 4u * nr_extra_pages;
}

_Static_assert(sizeof(struct keel_tpmif_shared_page) == 8, "tpmif shared page layout");

#endif
