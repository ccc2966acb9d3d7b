/* ks_wire.h - the xenstore wire protocol: header, message types, error names, limits,
 * and the validating splitter every request goes through before any handler sees it.
 * Numbers and names follow Xen's xs_wire.h / docs/misc/xenstore.txt. */
#ifndef KS_WIRE_H
#define KS_WIRE_H

#include <stddef.h>
#include <stdint.h>

enum ks_type {
    KS_CONTROL = 0, KS_DIRECTORY = 1, KS_READ = 2, KS_GET_PERMS = 3, KS_WATCH = 4,
    KS_UNWATCH = 5, KS_TRANSACTION_START = 6, KS_TRANSACTION_END = 7, KS_INTRODUCE = 8,
    KS_RELEASE = 9, KS_GET_DOMAIN_PATH = 10, KS_WRITE = 11, KS_MKDIR = 12, KS_RM = 13,
    KS_SET_PERMS = 14, KS_WATCH_EVENT = 15, KS_ERROR = 16, KS_IS_DOMAIN_INTRODUCED = 17,
    KS_RESUME = 18, KS_SET_TARGET = 19, KS_RESTRICT = 20, KS_RESET_WATCHES = 21,
    KS_DIRECTORY_PART = 22, KS_GET_FEATURE = 23, KS_SET_FEATURE = 24, KS_GET_QUOTA = 25,
    KS_SET_QUOTA = 26, KS_TYPE_COUNT = 27, KS_INVALID = 0xffff
};

struct ks_hdr {
    uint32_t type;
    uint32_t req_id;
    uint32_t tx_id;
    uint32_t len;
};

#define KS_HDR_SIZE 16u
#define KS_PAYLOAD_MAX 4096u
#define KS_ABS_PATH_MAX 3072u
#define KS_REL_PATH_MAX 2048u
#define KS_MAX_ARGS 64u

/* A request split into its NUL-terminated arguments (pointers into the payload). */
struct ks_args {
    unsigned n;
    const char *v[KS_MAX_ARGS];
    size_t len[KS_MAX_ARGS];
    /* For WRITE: the raw value after the first NUL (may contain anything). */
    const char *data;
    size_t datalen;
};

/* Errno value -> wire name ("ENOENT"); unknown values map to "EINVAL". */
const char *ks_errname(int err);
/* Wire name -> errno value, 0 if unknown. */
int ks_errnum(const char *name);
/* Type number -> printable name, "?" if unknown. */
const char *ks_type_name(uint32_t type);

/* Header sanity: 0, or -E2BIG (payload too long: the connection must be closed). */
int ks_hdr_check(const struct ks_hdr *h);

/* Split payload into arguments for message type `type`: every argument must be
 * NUL-terminated, the count must match what the type expects. WRITE keeps its value raw.
 * Returns 0 or -EINVAL. */
int ks_args_split(uint32_t type, const char *payload, size_t len, struct ks_args *a);

/* Path syntax: 1 if `p` is a valid absolute or relative node name
 * (chars [A-Za-z0-9-/_@], no "//", no trailing '/', length limits). Names starting with
 * '@' are special watch names (@introduceDomain, @releaseDomain), valid only when
 * `special` is set. */
int ks_path_valid(const char *p, int special);

/* Parse a decimal u32 in full ("12"); 0 on success, -EINVAL otherwise. */
int ks_parse_u32(const char *s, uint32_t *out);
int ks_parse_i64(const char *s, int64_t *out);

#endif
