/* fuzz-txparse.c - libFuzzer target of keel-netback's tx parser: the input is 4 bytes of limits
 * (available slots, ring room, flags) then the slot snapshot (12 bytes a slot). Checks that the
 * parser never reads past the snapshot and that what it says holds: the slot count is within
 * the snapshot, an accepted packet's fragments stay within their page and add up to its size,
 * the slot count of a packet is at most 18 data slots plus its extras. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nb_txparse.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    union keel_netif_tx_slot_req *slots;
    struct nb_tx_limits lim;
    struct nb_tx_pkt p;
    uint32_t avail, room, sum = 0;
    char err[160];
    int rc;

    if (size < 4)
        return 0;
    avail = (size - 4) / sizeof(*slots);
    if (data[0] < avail)
        avail = data[0];
    room = data[1] & 0x80 ? 0 : data[1];
    lim.max_frame = 1518u + (uint32_t)(data[2] & 0x7f) * 512u;
    lim.gso_v4 = data[3] & 1;
    lim.gso_v6 = (data[3] >> 1) & 1;
    /* exactly avail slots, so ASan sees any read beyond them */
    slots = malloc(avail ? avail * sizeof(*slots) : 1);
    if (!slots)
        return 0;
    memcpy(slots, data + 4, avail * sizeof(*slots));
    rc = nb_tx_parse(slots, avail, room, &lim, &p, err, sizeof(err));
    check(memchr(err, 0, sizeof(err)) != NULL);
    if (rc == NB_TX_INCOMPLETE) {
        check(room > 0 || avail == 0);
    } else if (rc < 0) {
        check(err[0] != 0 && p.nslots >= 1 && p.nslots <= avail);
    } else {
        check((uint32_t)rc == p.nslots && p.nslots <= avail);
        check(p.nslots <= NB_TX_MAX_SLOTS && p.nfrags >= 1 && p.nfrags <= NB_TX_MAX_FRAGS);
        for (uint32_t i = 0; i < p.nfrags; i++) {
            check((uint32_t)p.frag[i].offset + p.frag[i].len <= 4096);
            sum += p.frag[i].len;
        }
        check(sum == p.size && p.size >= NB_ETH_HLEN && p.size <= 65535);
        check(p.gso_type != 0 || p.size <= lim.max_frame);
        check(p.gso_type == 0 || (p.gso_type == 1 && lim.gso_v4) || (p.gso_type == 2 && lim.gso_v6));
    }
    free(slots);
    return 0;
}
