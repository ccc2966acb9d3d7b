/* nb_rules.h - keel-netback's backend rules, pure functions (unit tested, no I/O): parsing of
 * the toolstack's BE keys (mac, ip, rate, mtu, vifname), the anti-spoofing check of a tx frame
 * (source MAC, IPv4 source / ARP sender against `ip`), the credit scheduler of `rate`, and the
 * virtio-net header for a tx frame (checksum offload, GSO) plus finishing a partial checksum. */
#ifndef NB_RULES_H
#define NB_RULES_H

#include <stddef.h>
#include <stdint.h>

#define NB_MAX_IPS 16

int nb_parse_mac(const char *s, uint8_t mac[6]);
/* Space-separated IPv4 addresses (an optional /prefix is accepted and ignored); 0 or -EINVAL. */
int nb_parse_ips(const char *s, uint32_t *ips, unsigned *n);   /* network byte order */
/* "<bytes>,<usecs>", both > 0. */
int nb_parse_rate(const char *s, uint64_t *bytes, uint64_t *usecs);
/* Interface name: 1..15 of [A-Za-z0-9_.-]. */
int nb_valid_ifname(const char *s);

/* Anti-spoofing. */
#define NB_SPOOF_OK 0
#define NB_SPOOF_MAC 1
#define NB_SPOOF_IP 2
int nb_spoof_check(const uint8_t *frame, size_t len, const uint8_t mac[6], const uint32_t *ips,
                   unsigned nips);

/* Credit scheduler: `bytes` per `usecs` (Xen netback's rule: refilled once per interval up to
 * max(bytes, 128 KiB), a frame larger than what is left waits for the next refill). */
struct nb_rate {
    uint64_t bytes, usecs;     /* 0 bytes: unlimited */
    uint64_t remaining;
    uint64_t next_us;          /* next refill */
};
void nb_rate_init(struct nb_rate *r, uint64_t bytes, uint64_t usecs, uint64_t now_us);
/* 1: the frame may go (its size was taken from the credit); 0: wait until r->next_us. */
int nb_rate_take(struct nb_rate *r, uint64_t now_us, uint32_t size);

/* The virtio-net header of IFF_VNET_HDR (struct virtio_net_hdr, 10 bytes). */
struct nb_vnet_hdr {
    uint8_t flags;             /* 1 NEEDS_CSUM, 2 DATA_VALID */
    uint8_t gso_type;          /* 0 none, 1 TCPV4, 4 TCPV6 */
    uint16_t hdr_len, gso_size, csum_start, csum_offset;
} __attribute__((packed));
#define NB_VNET_NEEDS_CSUM 1
#define NB_VNET_DATA_VALID 2
#define NB_VNET_GSO_TCPV4 1
#define NB_VNET_GSO_TCPV6 4

/* Fill the header of a tx frame: csum_blank asks for the TCP/UDP checksum to be completed
 * (needs an IPv4/IPv6 TCP or UDP frame), gso_type/gso_size from the GSO extra. 0, or -EINVAL
 * when the frame's headers do not allow it (the frame is then dropped as malformed). */
int nb_vnet_tx(const uint8_t *frame, size_t len, int csum_blank, int data_valid, int gso_type,
               uint16_t gso_size, struct nb_vnet_hdr *h);
/* Finish the checksum a NEEDS_CSUM header asks for, in place (for a frontend that turned
 * checksum offload off). 0, or -EINVAL when the offsets are outside the frame. */
int nb_csum_finish(uint8_t *frame, size_t len, uint16_t start, uint16_t offset);

#endif
