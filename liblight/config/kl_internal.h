/* kl_internal.h - declarations shared inside liblight's configuration part (not installed). */
#ifndef KEEL_KL_INTERNAL_H
#define KEEL_KL_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "keel/kl_diag.h"
#include "keel/kl_types.h"

/* A position in a config source; file NULL or line 0 means "unknown". */
typedef struct kl__pos {
    const char *file;
    int line, col;
} kl__pos;

void kl__diag_add(kl_diag *d, enum kl_severity sev, const kl__pos *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* JSON parsing context: where we are in the document, for error messages. */
typedef struct kl__jctx {
    kl_diag *d;
    char path[512];
    size_t len;
} kl__jctx;

size_t kl__jctx_push(kl__jctx *c, const char *field);
size_t kl__jctx_push_index(kl__jctx *c, size_t i);
void kl__jctx_pop(kl__jctx *c, size_t mark);
int kl__json_err(kl__jctx *c, const char *what);
/* Parse text with yajl_tree after checking size and nesting depth. */
int kl__json_tree(const char *json, yajl_val *out, kl_diag *d);
/* Generate a value with a beautified yajl generator into a malloc'd string. */
yajl_gen kl__json_gen_new(void);
char *kl__json_gen_finish(yajl_gen g, int rc);

int kl__json_key(yajl_gen g, const char *key);
int kl__string_gen_json(yajl_gen g, char *const *p);
int kl__string_parse_json(kl__jctx *c, yajl_val v, char **p);
int kl__string_copy(char **dst, char *const *src);
bool kl__string_equal(char *const *a, char *const *b);
int kl__int_gen_json(yajl_gen g, long long v);
int kl__uint64_gen_json(yajl_gen g, uint64_t v);
int kl__int_parse_json(kl__jctx *c, yajl_val v, long long min, long long max, long long *out);
int kl__uint64_parse_json(kl__jctx *c, yajl_val v, uint64_t *out);
int kl__bool_parse_json(kl__jctx *c, yajl_val v, bool *out);
int kl__bool_gen_json(yajl_gen g, bool v);

#define KL__BUILTIN_OPS(T, CT) \
    void kl__##T##_init(CT *p); \
    void kl__##T##_dispose(CT *p); \
    int kl__##T##_copy(CT *dst, const CT *src); \
    bool kl__##T##_equal(const CT *a, const CT *b); \
    bool kl__##T##_is_default(const CT *p); \
    int kl__##T##_gen_json(yajl_gen g, const CT *p); \
    int kl__##T##_parse_json(kl__jctx *c, yajl_val v, CT *p);
KL__BUILTIN_OPS(defbool, kl_defbool)
KL__BUILTIN_OPS(uuid, kl_uuid)
KL__BUILTIN_OPS(mac, kl_mac)
KL__BUILTIN_OPS(bitmap, kl_bitmap)
KL__BUILTIN_OPS(string_list, kl_string_list)

/* Spec-string parsers used by the converter; pos locates the spec string. */
int kl__nic_parse(kl_device_nic *nic, const char *spec, const kl__pos *pos, const char *what,
                  kl_diag *d);
int kl__disk_parse(kl_device_disk *disk, const char *spec, const kl__pos *pos, const char *what,
                   kl_diag *d);
int kl__vtpm_parse(kl_device_vtpm *vtpm, const char *spec, const kl__pos *pos, const char *what,
                   kl_diag *d);
int kl__p9_parse(kl_device_p9 *p9, const char *spec, const kl__pos *pos, const char *what,
                 kl_diag *d);
int kl__channel_parse(kl_device_channel *ch, const char *spec, const kl__pos *pos,
                      const char *what, kl_diag *d);

/* Growable string buffer used by the printers. */
typedef struct kl__buf {
    char *s;
    size_t len, cap;
    int failed;
} kl__buf;
void kl__buf_add(kl__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kl__buf_add_quoted(kl__buf *b, const char *s);
char *kl__buf_take(kl__buf *b);

#endif
