/* kd_wire.h - the messages between keeld's two processes (kd_wire.c): the client-facing
 * process (kd_front.c: connections, TLS, JSON parsing, access decisions) sends typed requests
 * over a socketpair to the privileged part (kd_server.c: liblight, workers, tasks), which sends
 * replies and events back. Every message is a fixed header and a payload of hdr.len bytes.
 *
 * A request's payload is a binary encoding of the parsed, validated request (never JSON text):
 *   u8 is_batch, u8 0, u16 n (1..KD_MAX_BATCH; 1 unless is_batch), then n elements:
 *   u16 method (index of kd_method_at, or KD_WIRE_NO_METHOD), i32 code (0 or a KD_* error the
 *   front decided: invalid request, no such method, denied), u8 whylen + why (no NUL),
 *   the id node, the params node.
 * A node: u8 tag, then: absent/null/true/false nothing; string u32 len + bytes (no NUL); number
 * u8 len + its text (JSON number characters, 1..255); array u32 count + nodes; object u32 count
 * + (u32 keylen + key + node) each. Nesting is at most KD_MAX_DEPTH.
 * The receiver checks everything again: lengths against the payload, tags, depth, counts,
 * method index, code, the role against the method, and the envelope (kd_req_from_tree). */
#ifndef KEEL_KD_WIRE_H
#define KEEL_KD_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "kd.h"
#include "kd_access.h"

enum kd_wire_type {
    KD_W_HELLO = 1,                  /* front -> privileged: confined, serving (no payload) */
    KD_W_REQ = 2,                    /* front -> privileged: one message of one connection */
    KD_W_REPLY = 3,                  /* privileged -> front: its answer (may be empty), + "\n" */
    KD_W_EVENT = 4,                  /* privileged -> front: a notification for topic/conn */
    KD_W_LIST = 5,                   /* privileged -> front: domain.list's result (JSON text, no
                                        newline) as the list ran with no state change since */
    KD_W_INVAL = 6,                  /* privileged -> front: the state may have changed: drop the
                                        last KD_W_LIST (no payload); precedes any later frame */
};
#define KD_TOPIC_DOMAIN 1u
#define KD_TOPIC_TASK 2u

struct kd_wire_hdr {
    uint32_t len;                    /* payload bytes that follow */
    uint16_t type;                   /* enum kd_wire_type */
    uint8_t role;                    /* KD_W_REQ: enum kd_role of the connection */
    uint8_t topic;                   /* KD_W_EVENT: KD_TOPIC_* */
    uint64_t conn;                   /* the connection (0: none) */
};
#define KD_WIRE_NO_METHOD 0xffffu
/* The largest request payload for a message limit of max_msg bytes of JSON (the binary form
 * of any JSON text is at most about 2.5 times its length). */
#define KD_WIRE_REQ_MAX(max_msg) ((size_t)(max_msg) * 3 + 65536)

/* The methods by index (kd_methods.c): the index of a name (-1: none), the method of an index. */
int kd_method_index(const char *name);
const struct kd_method *kd_method_at(unsigned idx);

/* Front: mark the elements the privileged part would refuse to decode (a method not in the
 * table: -32601; a number of more than 255 characters: -32602). */
void kd_wire_req_prepare(struct kd_batch *b);
/* Front: the size of a batch's encoding, and the encoding itself into out (that many bytes).
 * Elements without code must name a method of the table. */
size_t kd_wire_req_size(const struct kd_batch *b);
void kd_wire_req_write(const struct kd_batch *b, unsigned char *out);

/* Privileged part: decode and validate a request payload of a connection of role into b (as
 * kd_req_parse would have filled it; a read-only role's state-changing methods marked denied).
 * 0, or -EPROTO (malformed: the sender is not to be trusted any more) / -ENOMEM, why filled. */
int kd_wire_req_read(const unsigned char *p, size_t len, enum kd_role role, struct kd_batch *b,
                     char *why, size_t whylen);

#endif
