/* cfg_parse.c - recursive-descent parser for xl.cfg (the grammar of Xen's libxlu):
 *   file   := { [assignment] (NEWLINE | ';') } [assignment]
 *   assignment := IDENT ('=' | '+=') value
 *   value  := STRING | NUMBER | '[' {NEWLINE} [ value {NEWLINE} { ',' {NEWLINE} value {NEWLINE} }
 *             [',' {NEWLINE}] ] ']'
 * The first error stops the parse; the caller rolls back everything this parse added. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_int.h"
#include "cfg_lex.h"

#define KL_CFG_MAX_DEPTH 32

static struct kl_cfg_value *value_new(enum kl_cfg_kind kind, const kl__pos *pos)
{
    struct kl_cfg_value *v = calloc(1, sizeof(*v));

    if (v) {
        v->kind = kind;
        v->pos = *pos;
    }
    return v;
}

static int oom(kl__lexer *lx)
{
    kl__lex_error(lx, &lx->pos, "out of memory");
    return -ENOMEM;
}

static void skip_newlines(kl__lexer *lx)
{
    while (lx->tok == KT_NEWLINE)
        kl__lex_next(lx);
}

static int parse_value(kl__lexer *lx, int depth, struct kl_cfg_value **out);

static int parse_list(kl__lexer *lx, int depth, struct kl_cfg_value **out)
{
    kl__pos open = lx->pos;
    struct kl_cfg_value *list = value_new(KL_CFG_LIST, &open), *item;
    char msg[160];
    int rc = 0;

    if (!list)
        return oom(lx);
    if (depth >= KL_CFG_MAX_DEPTH) {
        kl__lex_error(lx, &open, "lists nested too deeply");
        kl__cfg_value_free(list);
        return -EINVAL;
    }
    kl__lex_next(lx);
    skip_newlines(lx);
    while (lx->tok != KT_RBRACKET) {
        if ((rc = parse_value(lx, depth + 1, &item)))
            break;
        if ((rc = kl__cfg_list_append(list, item))) {
            kl__cfg_value_free(item);
            oom(lx);
            break;
        }
        skip_newlines(lx);
        if (lx->tok == KT_COMMA) {
            kl__lex_next(lx);
            skip_newlines(lx);
        } else if (lx->tok != KT_RBRACKET) {
            if (lx->tok != KT_ERROR) {
                snprintf(msg, sizeof msg, "expected `,' or `]' in the list opened at line %d "
                         "column %d", open.line, open.col);
                kl__lex_error(lx, &lx->pos, msg);
            }
            rc = -EINVAL;
            break;
        }
    }
    if (rc) {
        kl__cfg_value_free(list);
        return rc;
    }
    kl__lex_next(lx);
    *out = list;
    return 0;
}

static int parse_value(kl__lexer *lx, int depth, struct kl_cfg_value **out)
{
    struct kl_cfg_value *v;

    if (lx->tok == KT_LBRACKET)
        return parse_list(lx, depth, out);
    if (lx->tok != KT_STRING && lx->tok != KT_NUMBER) {
        if (lx->tok != KT_ERROR)
            kl__lex_error(lx, &lx->pos, "expected a value (a quoted string, a number or a "
                                        "[list])");
        return -EINVAL;
    }
    v = value_new(lx->tok == KT_STRING ? KL_CFG_STRING : KL_CFG_NUMBER, &lx->pos);
    if (!v)
        return oom(lx);
    v->text = lx->text;
    lx->text = NULL;
    kl__lex_next(lx);
    *out = v;
    return 0;
}

/* `a += b`: as in Xen, strings and numbers (atoms) concatenate as text (two numbers stay a
 * number: memory = 5; memory += 12 is 512), list + list appends, a list and an atom do not mix. */
static int merge_append(kl__lexer *lx, const struct kl_cfg_value *prev,
                        struct kl_cfg_value *v, const kl__pos *op)
{
    if ((prev->kind == KL_CFG_LIST) != (v->kind == KL_CFG_LIST)) {
        kl__lex_error(lx, op, "can't add a list to a string or a string to a list");
        return -EINVAL;
    }
    if (v->kind != KL_CFG_LIST) {
        if (prev->kind != KL_CFG_NUMBER)
            v->kind = KL_CFG_STRING;
        char *s;
        if (asprintf(&s, "%s%s", prev->text, v->text) < 0)
            return oom(lx);
        free(v->text);
        v->text = s;
        return 0;
    }
    for (size_t i = prev->n; i-- > 0;) {
        struct kl_cfg_value *c = kl__cfg_value_copy(prev->items[i]);
        if (!c || kl__cfg_list_append(v, c)) {
            kl__cfg_value_free(c);
            return oom(lx);
        }
        /* move the copy to the front */
        memmove(v->items + 1, v->items, (v->n - 1) * sizeof(*v->items));
        v->items[0] = c;
    }
    return 0;
}

static int add_setting(kl_cfg *cfg, char *name, struct kl_cfg_value *v, const kl__pos *pos)
{
    if (cfg->n == cfg->cap) {
        size_t ncap = cfg->cap ? cfg->cap * 2 : 16;
        struct kl_cfg_setting *ns = realloc(cfg->s, ncap * sizeof(*ns));
        if (!ns)
            return -ENOMEM;
        cfg->s = ns;
        cfg->cap = ncap;
    }
    cfg->s[cfg->n++] = (struct kl_cfg_setting){ name, v, *pos };
    return 0;
}

static int parse_assignment(kl__lexer *lx, kl_cfg *cfg)
{
    kl__pos kpos = lx->pos, op;
    char *name = lx->text, msg[200];
    struct kl_cfg_value *v = NULL;
    const struct kl_cfg_setting *prev;
    bool append;
    int rc;

    lx->text = NULL;
    kl__lex_next(lx);
    if (lx->tok != KT_EQ && lx->tok != KT_PLUSEQ) {
        if (lx->tok != KT_ERROR) {
            snprintf(msg, sizeof msg, "expected `=' or `+=' after `%.100s'", name);
            kl__lex_error(lx, &lx->pos, msg);
        }
        free(name);
        return -EINVAL;
    }
    append = lx->tok == KT_PLUSEQ;
    op = lx->pos;
    kl__lex_next(lx);
    rc = parse_value(lx, 0, &v);
    prev = append && !rc ? kl__cfg_last(cfg, name) : NULL;
    if (!rc && prev)
        rc = merge_append(lx, prev->value, v, &op);
    if (!rc && lx->tok != KT_NEWLINE && lx->tok != KT_SEMI && lx->tok != KT_EOF) {
        if (lx->tok != KT_ERROR) {
            snprintf(msg, sizeof msg, "expected a newline or `;' after the value of `%.100s'",
                     name);
            kl__lex_error(lx, &lx->pos, msg);
        }
        rc = -EINVAL;
    }
    if (!rc && (rc = add_setting(cfg, name, v, &kpos)))
        oom(lx);
    if (rc) {
        free(name);
        kl__cfg_value_free(v);
    }
    return rc;
}

int kl__cfg_parse_into(kl_cfg *cfg, const char *source, const char *data, size_t len,
                       int line0, kl_diag *d)
{
    const char *file = kl__cfg_add_source(cfg, source);
    kl__lexer lx;
    int rc = 0;

    if (!file)
        return -ENOMEM;
    kl__lex_init(&lx, file, data, len, line0, d);
    kl__lex_next(&lx);
    while (!rc && lx.tok != KT_EOF) {
        if (lx.tok == KT_NEWLINE || lx.tok == KT_SEMI) {
            kl__lex_next(&lx);
        } else if (lx.tok == KT_IDENT) {
            rc = parse_assignment(&lx, cfg);
        } else {
            if (lx.tok != KT_ERROR)
                kl__lex_error(&lx, &lx.pos, "expected a key name (lower case letters, digits, "
                                            "`_' and `.')");
            rc = -EINVAL;
        }
    }
    kl__lex_done(&lx);
    return rc;
}
