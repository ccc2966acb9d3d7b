/* kf_cursor.h - bounds-checked little-endian reader over an untrusted policy image. */
#ifndef KEEL_KF_CURSOR_H
#define KEEL_KF_CURSOR_H

#include <stddef.h>
#include <stdint.h>

struct kf_cursor {
    const uint8_t *p;
    size_t len, off;
    char *err;
    size_t errlen;
    int failed;
};

/* Records the first error as "offset N: what" and returns -EINVAL. */
int kf_cur_fail(struct kf_cursor *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int kf_cur_u16(struct kf_cursor *c, uint16_t *v);
int kf_cur_u32(struct kf_cursor *c, uint32_t *v);
int kf_cur_u64(struct kf_cursor *c, uint64_t *v);
/* A u32 that must lie in [lo, hi]. */
int kf_cur_u32_range(struct kf_cursor *c, uint32_t *v, uint32_t lo, uint32_t hi, const char *what);
/* Reads len bytes into a fresh NUL-terminated string (len in 1..max, no NULs inside). */
int kf_cur_str(struct kf_cursor *c, uint32_t len, uint32_t max, char **out, const char *what);
/* A count whose items need at least min_item bytes each: refuses counts the image cannot hold. */
int kf_cur_count(struct kf_cursor *c, uint32_t *n, size_t min_item, const char *what);

#endif
