/* kl_cfg.h - the xl.cfg parser: Xen's domain configuration file grammar.
 *
 * A config is a sequence of `key = value` or `key += value` settings separated by newlines or
 * `;`, with `#` comments. Values are strings ('...' or "..." with backslash escapes), numbers
 * (decimal, 0-octal, 0x-hex; kept as written) and lists `[ v, v, ]` that may nest and span
 * lines. A later setting of a key wins; `+=` appends to an earlier string or list.
 * Parsing is all or nothing: on error nothing is returned or changed, and the diagnostic
 * names file:line:column and what was expected. */
#ifndef KEEL_KL_CFG_H
#define KEEL_KL_CFG_H

#include <stddef.h>

#include <keel/kl_diag.h>

typedef struct kl_cfg kl_cfg;
typedef struct kl_cfg_value kl_cfg_value;

enum kl_cfg_kind { KL_CFG_STRING = 1, KL_CFG_NUMBER = 2, KL_CFG_LIST = 3 };

/* Largest config accepted, in bytes. */
#define KL_CFG_MAX_BYTES (4u << 20)

/* Parse len bytes of data; source names the data in messages ("guest.cfg"). 0 or -EINVAL
 * (syntax), -EFBIG, -ENOMEM; *out is set only on success. */
int kl_cfg_parse_data(kl_cfg **out, const char *source, const char *data, size_t len,
                      kl_diag *d);
/* Read and parse a file (-errno if it cannot be read). */
int kl_cfg_parse_file(kl_cfg **out, const char *path, kl_diag *d);
/* Apply `key=value` overrides, as xl create's trailing arguments: each argument is parsed as
 * config text after the file (source "<command line>", line = argument number, from 1).
 * All or nothing: on error cfg is unchanged. */
int kl_cfg_add_overrides(kl_cfg *cfg, int argc, char *const argv[], kl_diag *d);
void kl_cfg_free(kl_cfg *cfg);

/* The value a key ends up with (last setting), or NULL. */
const kl_cfg_value *kl_cfg_lookup(const kl_cfg *cfg, const char *key);
/* Distinct keys in order of first appearance. */
size_t kl_cfg_key_count(const kl_cfg *cfg);
const char *kl_cfg_key(const kl_cfg *cfg, size_t i);

enum kl_cfg_kind kl_cfg_value_kind(const kl_cfg_value *v);
/* Text of a string (unescaped) or number (as written); NULL for a list. */
const char *kl_cfg_value_text(const kl_cfg_value *v);
size_t kl_cfg_value_count(const kl_cfg_value *v);
const kl_cfg_value *kl_cfg_value_item(const kl_cfg_value *v, size_t i);
/* Where the value starts. */
const char *kl_cfg_value_file(const kl_cfg_value *v);
int kl_cfg_value_line(const kl_cfg_value *v);
int kl_cfg_value_column(const kl_cfg_value *v);

/* Typed getters, as xl reads a config: 0, -ENOENT when the key is absent (no diagnostic),
 * -EINVAL with a diagnostic "file:line:col: key: ..." when the value has the wrong kind or is
 * out of [min, max]. A number may also be given as a quoted string, as in xl. */
int kl_cfg_get_string(const kl_cfg *cfg, const char *key, const char **out, kl_diag *d);
int kl_cfg_get_long(const kl_cfg *cfg, const char *key, long long min, long long max,
                    long long *out, kl_diag *d);
int kl_cfg_get_list(const kl_cfg *cfg, const char *key, const kl_cfg_value **out, kl_diag *d);

#endif
