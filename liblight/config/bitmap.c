/* bitmap.c - kl_bitmap (CPU sets) and kl_string_list: helpers and JSON forms
 * (a bitmap is a JSON array of its set bits, as libxl writes it). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kl_internal.h"

int kl_bitmap_set(kl_bitmap *b, unsigned bit)
{
    if (bit >= KL_BITMAP_MAX_BITS)
        return -ERANGE;
    if (bit / 8 >= b->size) {
        uint32_t nsize = bit / 8 + 1;
        uint8_t *nm = realloc(b->map, nsize);
        if (!nm)
            return -ENOMEM;
        memset(nm + b->size, 0, nsize - b->size);
        b->map = nm;
        b->size = nsize;
    }
    b->map[bit / 8] |= (uint8_t)(1u << (bit % 8));
    return 0;
}

void kl_bitmap_reset(kl_bitmap *b, unsigned bit)
{
    if (bit / 8 < b->size)
        b->map[bit / 8] &= (uint8_t)~(1u << (bit % 8));
}

bool kl_bitmap_test(const kl_bitmap *b, unsigned bit)
{
    return bit / 8 < b->size && (b->map[bit / 8] >> (bit % 8)) & 1;
}

unsigned kl_bitmap_count(const kl_bitmap *b)
{
    unsigned n = 0;

    for (unsigned i = 0; i < b->size * 8u; i++)
        n += kl_bitmap_test(b, i);
    return n;
}

bool kl_bitmap_is_empty(const kl_bitmap *b)
{
    return kl_bitmap_count(b) == 0;
}

char *kl_bitmap_to_cpulist(const kl_bitmap *b)
{
    kl__buf out = { 0 };
    unsigned nbits = b->size * 8u;

    kl__buf_add(&out, "%s", "");
    for (unsigned i = 0; i < nbits; i++) {
        unsigned j = i;
        if (!kl_bitmap_test(b, i))
            continue;
        while (j + 1 < nbits && kl_bitmap_test(b, j + 1))
            j++;
        kl__buf_add(&out, out.len ? "," : "");
        if (j == i)
            kl__buf_add(&out, "%u", i);
        else
            kl__buf_add(&out, "%u-%u", i, j);
        i = j;
    }
    return kl__buf_take(&out);
}

void kl__bitmap_init(kl_bitmap *p) { p->size = 0; p->map = NULL; }

void kl__bitmap_dispose(kl_bitmap *p)
{
    free(p->map);
    kl__bitmap_init(p);
}

int kl__bitmap_copy(kl_bitmap *dst, const kl_bitmap *src)
{
    kl__bitmap_init(dst);
    if (!src->size)
        return 0;
    dst->map = malloc(src->size);
    if (!dst->map)
        return -ENOMEM;
    memcpy(dst->map, src->map, src->size);
    dst->size = src->size;
    return 0;
}

bool kl__bitmap_equal(const kl_bitmap *a, const kl_bitmap *b)
{
    uint32_t n = a->size > b->size ? a->size : b->size;

    for (uint32_t i = 0; i < n * 8u; i++)
        if (kl_bitmap_test(a, i) != kl_bitmap_test(b, i))
            return false;
    return true;
}

bool kl__bitmap_is_default(const kl_bitmap *p) { return kl_bitmap_is_empty(p); }

int kl__bitmap_gen_json(yajl_gen g, const kl_bitmap *p)
{
    if (yajl_gen_array_open(g))
        return -EINVAL;
    for (unsigned i = 0; i < p->size * 8u; i++)
        if (kl_bitmap_test(p, i) && yajl_gen_integer(g, i))
            return -EINVAL;
    return yajl_gen_array_close(g) ? -EINVAL : 0;
}

int kl__bitmap_parse_json(kl__jctx *c, yajl_val v, kl_bitmap *p)
{
    if (!YAJL_IS_ARRAY(v))
        return kl__json_err(c, "expected an array of CPU numbers");
    for (size_t i = 0; i < v->u.array.len; i++) {
        long long bit;
        size_t mark = kl__jctx_push_index(c, i);
        int rc = kl__int_parse_json(c, v->u.array.values[i], 0, KL_BITMAP_MAX_BITS - 1, &bit);
        kl__jctx_pop(c, mark);
        if (rc)
            return rc;
        if (kl_bitmap_set(p, (unsigned)bit))
            return -ENOMEM;
    }
    return 0;
}

size_t kl_string_list_length(const kl_string_list *l)
{
    size_t n = 0;

    while (*l && (*l)[n])
        n++;
    return n;
}

void kl__string_list_init(kl_string_list *p) { *p = NULL; }

void kl__string_list_dispose(kl_string_list *p)
{
    for (size_t i = 0; *p && (*p)[i]; i++)
        free((*p)[i]);
    free(*p);
    *p = NULL;
}

int kl__string_list_copy(kl_string_list *dst, const kl_string_list *src)
{
    size_t n = kl_string_list_length(src);

    *dst = NULL;
    if (!*src)
        return 0;
    *dst = calloc(n + 1, sizeof(char *));
    if (!*dst)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (!((*dst)[i] = strdup((*src)[i]))) {
            kl__string_list_dispose(dst);
            return -ENOMEM;
        }
    return 0;
}

bool kl__string_list_equal(const kl_string_list *a, const kl_string_list *b)
{
    size_t n = kl_string_list_length(a);

    if (n != kl_string_list_length(b))
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp((*a)[i], (*b)[i]))
            return false;
    return true;
}

bool kl__string_list_is_default(const kl_string_list *p) { return kl_string_list_length(p) == 0; }

int kl__string_list_gen_json(yajl_gen g, const kl_string_list *p)
{
    if (yajl_gen_array_open(g))
        return -EINVAL;
    for (size_t i = 0; *p && (*p)[i]; i++)
        if (kl__string_gen_json(g, &(*p)[i]))
            return -EINVAL;
    return yajl_gen_array_close(g) ? -EINVAL : 0;
}

int kl__string_list_parse_json(kl__jctx *c, yajl_val v, kl_string_list *p)
{
    size_t n;

    if (!YAJL_IS_ARRAY(v))
        return kl__json_err(c, "expected an array of strings");
    n = v->u.array.len;
    *p = calloc(n + 1, sizeof(char *));
    if (!*p)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        yajl_val s = v->u.array.values[i];
        if (!YAJL_IS_STRING(s)) {
            size_t mark = kl__jctx_push_index(c, i);
            int rc = kl__json_err(c, "expected a string");
            kl__jctx_pop(c, mark);
            return rc;
        }
        if (!((*p)[i] = strdup(s->u.string)))
            return -ENOMEM;
    }
    return 0;
}
