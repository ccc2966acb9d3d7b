/* kl_builtin.h - the small value types the liblight configuration types are built from:
 * tri-state booleans, UUIDs (libuuid), MAC addresses, bitmaps (CPU sets) and string lists. */
#ifndef KEEL_KL_BUILTIN_H
#define KEEL_KL_BUILTIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sizes in the configuration types carry their unit in the field name (max_memkb: KiB).
 * KL_MEMKB_DEFAULT means "not set; the library chooses". */
#define KL_MEMKB_DEFAULT UINT64_MAX
/* Scheduler parameters left to the scheduler's default. */
#define KL_DOMAIN_SCHED_PARAM_WEIGHT_DEFAULT (-1)
#define KL_DOMAIN_SCHED_PARAM_CAP_DEFAULT (-1)

/* A boolean that may be left to the library's default. */
typedef struct kl_defbool {
    int val; /* 0 default, 1 true, -1 false */
} kl_defbool;
void kl_defbool_set(kl_defbool *db, bool b);
void kl_defbool_unset(kl_defbool *db);
bool kl_defbool_is_default(kl_defbool db);
/* The value, or dflt when unset. */
bool kl_defbool_val_or(kl_defbool db, bool dflt);

typedef struct kl_uuid {
    unsigned char bytes[16];
} kl_uuid;
#define KL_UUID_STRLEN 37 /* 36 characters and the NUL */
void kl_uuid_generate(kl_uuid *u);
int kl_uuid_from_string(kl_uuid *u, const char *s); /* 0 or -EINVAL */
void kl_uuid_to_string(const kl_uuid *u, char out[KL_UUID_STRLEN]);
bool kl_uuid_is_nil(const kl_uuid *u);

typedef struct kl_mac {
    unsigned char bytes[6];
} kl_mac;
#define KL_MAC_STRLEN 18
int kl_mac_from_string(kl_mac *m, const char *s); /* "00:16:3e:01:02:03"; 0 or -EINVAL */
void kl_mac_to_string(const kl_mac *m, char out[KL_MAC_STRLEN]);
bool kl_mac_is_zero(const kl_mac *m);

/* A set of small non-negative integers (CPU numbers), at most KL_BITMAP_MAX_BITS. */
#define KL_BITMAP_MAX_BITS 4096
typedef struct kl_bitmap {
    uint32_t size; /* in bytes */
    uint8_t *map;
} kl_bitmap;
int kl_bitmap_set(kl_bitmap *b, unsigned bit); /* grows the map; -ERANGE, -ENOMEM */
void kl_bitmap_reset(kl_bitmap *b, unsigned bit);
bool kl_bitmap_test(const kl_bitmap *b, unsigned bit);
unsigned kl_bitmap_count(const kl_bitmap *b);
bool kl_bitmap_is_empty(const kl_bitmap *b);
/* "0-3,5" (malloc'd; "" for an empty set), NULL on ENOMEM. */
char *kl_bitmap_to_cpulist(const kl_bitmap *b);

/* A NULL-terminated array of strings (NULL is the empty list). */
typedef char **kl_string_list;
size_t kl_string_list_length(const kl_string_list *l);

#endif
