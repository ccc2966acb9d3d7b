/* kp_util.c - small containers of keel-policyc: growable bitmaps, string maps, diagnostics. */
#include "kp.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int kp_bits_set(struct kp_bits *b, uint32_t i)
{
    if (i / 64 >= b->nw) {
        uint32_t nw = i / 64 + 1;
        uint64_t *w = realloc(b->w, nw * sizeof(*w));

        if (!w)
            return -1;
        memset(w + b->nw, 0, (nw - b->nw) * sizeof(*w));
        b->w = w;
        b->nw = nw;
    }
    b->w[i / 64] |= 1ull << (i % 64);
    return 0;
}

int kp_bits_get(const struct kp_bits *b, uint32_t i)
{
    return i / 64 < b->nw && ((b->w[i / 64] >> (i % 64)) & 1);
}

int kp_bits_or(struct kp_bits *d, const struct kp_bits *s)
{
    for (uint32_t i = 0; i < s->nw * 64; i++)
        if (kp_bits_get(s, i) && kp_bits_set(d, i))
            return -1;
    return 0;
}

void kp_bits_free(struct kp_bits *b)
{
    free(b->w);
    b->w = NULL;
    b->nw = 0;
}

uint32_t kp_bits_high(const struct kp_bits *b)
{
    for (uint32_t i = b->nw * 64; i > 0; i--)
        if (kp_bits_get(b, i - 1))
            return i;
    return 0;
}

int kp_bits_empty(const struct kp_bits *b)
{
    return kp_bits_high(b) == 0;
}

int kp_bits_eq(const struct kp_bits *a, const struct kp_bits *b)
{
    uint32_t n = a->nw > b->nw ? a->nw : b->nw;

    for (uint32_t i = 0; i < n; i++) {
        uint64_t x = i < a->nw ? a->w[i] : 0, y = i < b->nw ? b->w[i] : 0;

        if (x != y)
            return 0;
    }
    return 1;
}

static uint32_t str_hash(const char *s)
{
    uint32_t h = 2166136261u;

    while (*s)
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

int kp_map_put(struct kp_map *m, const char *k, int32_t v)
{
    if ((m->n + 1) * 2 > m->cap) {
        struct kp_map n = { m->cap ? m->cap * 2 : 64, 0, NULL, NULL };

        n.k = calloc(n.cap, sizeof(*n.k));
        n.v = calloc(n.cap, sizeof(*n.v));
        if (!n.k || !n.v) {
            free(n.k);
            free(n.v);
            return -1;
        }
        for (uint32_t i = 0; i < m->cap; i++)
            if (m->k[i])
                kp_map_put(&n, m->k[i], m->v[i]);
        kp_map_free(m);
        *m = n;
    }
    for (uint32_t i = str_hash(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->k[i]) {
            m->k[i] = k;
            m->v[i] = v;
            m->n++;
            return 0;
        }
        if (!strcmp(m->k[i], k)) {
            m->v[i] = v;
            return 0;
        }
    }
}

int32_t kp_map_get(const struct kp_map *m, const char *k)
{
    if (!m->cap)
        return -1;
    for (uint32_t i = str_hash(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->k[i])
            return -1;
        if (!strcmp(m->k[i], k))
            return m->v[i];
    }
}

void kp_map_free(struct kp_map *m)
{
    free(m->k);
    free(m->v);
    m->k = NULL;
    m->v = NULL;
    m->cap = m->n = 0;
}

void kp_error(struct kp_db *db, const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    db->errors++;
    if (db->quiet)
        return;
    fprintf(stderr, "%s:%d: error: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
