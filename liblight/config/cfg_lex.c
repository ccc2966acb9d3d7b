/* cfg_lex.c - tokenizer for xl.cfg text: identifiers [a-z][._0-9a-z]*, numbers, quoted strings
 * with backslash escapes, the punctuation = += , [ ] ; and newlines; `#` comments. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_lex.h"

void kl__lex_init(kl__lexer *lx, const char *file, const char *s, size_t len, int line0,
                  kl_diag *d)
{
    memset(lx, 0, sizeof(*lx));
    lx->s = s;
    lx->len = len;
    lx->line = line0;
    lx->col = 1;
    lx->file = file;
    lx->d = d;
}

void kl__lex_done(kl__lexer *lx)
{
    free(lx->text);
    lx->text = NULL;
}

/* A printable rendering of the source near the token, for messages. */
static void near_text(const kl__lexer *lx, char *out, size_t outsz)
{
    size_t o = 0;

    if (lx->tok == KT_EOF) {
        snprintf(out, outsz, "end of file");
        return;
    }
    if (lx->tok == KT_NEWLINE) {
        snprintf(out, outsz, "end of line");
        return;
    }
    out[o++] = '`';
    for (size_t i = lx->start; i < lx->len && lx->s[i] != '\n' && o + 6 < outsz; i++) {
        unsigned char ch = (unsigned char)lx->s[i];
        if (i >= lx->i && i > lx->start)
            break;
        if (ch >= 0x20 && ch < 0x7f)
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", ch);
    }
    if (o == 1 && lx->start < lx->len)
        o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", (unsigned char)lx->s[lx->start]);
    out[o++] = '\'';
    out[o] = '\0';
}

void kl__lex_error(kl__lexer *lx, const kl__pos *pos, const char *msg)
{
    char near[64];

    near_text(lx, near, sizeof near);
    kl__diag_add(lx->d, KL_SEV_ERROR, pos, "config parsing error near %s: %s", near, msg);
}

static void advance(kl__lexer *lx)
{
    if (lx->s[lx->i] == '\n') {
        lx->line++;
        lx->col = 1;
    } else {
        lx->col++;
    }
    lx->i++;
}

static int peek(const kl__lexer *lx, size_t ahead)
{
    return lx->i + ahead < lx->len ? (unsigned char)lx->s[lx->i + ahead] : -1;
}

static enum kl__tok fail_here(kl__lexer *lx, const char *msg)
{
    kl__pos here = { lx->file, lx->line, lx->col };

    if (lx->i == lx->start)
        advance(lx);
    kl__lex_error(lx, &here, msg);
    return lx->tok = KT_ERROR;
}

static enum kl__tok lex_word(kl__lexer *lx, enum kl__tok kind)
{
    size_t b = lx->i;

    while (lx->i < lx->len) {
        int ch = peek(lx, 0);
        /* a number is Xen's token [0-9][0-9a-fx]* (plus upper-case hex digits, a Keel
         * extension), kept as written: its value is checked when it is read as one */
        bool ok = kind == KT_IDENT ? ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                                      ch == '.' || ch == '_')
                                   : ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
                                      ch == 'x' || (ch >= 'A' && ch <= 'F'));
        if (!ok)
            break;
        advance(lx);
    }
    lx->text = strndup(lx->s + b, lx->i - b);
    if (!lx->text)
        return fail_here(lx, "out of memory");
    return lx->tok = kind;
}

static int hexdig(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* After a backslash: returns the byte, or -1 after reporting. */
static int lex_escape(kl__lexer *lx, kl__pos *bs)
{
    static const char from[] = "abfnrtv\\'\"", to[] = "\a\b\f\n\r\t\v\\'\"";
    int ch = peek(lx, 0), val = 0, n = 0;
    const char *p = ch > 0 ? strchr(from, ch) : NULL;

    if (p) {
        advance(lx);
        return to[p - from];
    }
    if (ch == 'x') {
        advance(lx);
        for (; n < 2 && hexdig(peek(lx, 0)) >= 0; n++, advance(lx))
            val = val * 16 + hexdig(peek(lx, 0));
        if (n < 2) {
            kl__lex_error(lx, bs, "\\x needs two hexadecimal digits");
            return -1;
        }
    } else if (ch >= '0' && ch <= '7') {
        for (; n < 3 && peek(lx, 0) >= '0' && peek(lx, 0) <= '7'; n++, advance(lx))
            val = val * 8 + (peek(lx, 0) - '0');
        if (val > 255) {
            kl__lex_error(lx, bs, "octal escape above \\377");
            return -1;
        }
    } else {
        kl__lex_error(lx, bs, "invalid character after backslash in quoted string");
        return -1;
    }
    if (val == 0) {
        kl__lex_error(lx, bs, "a NUL character is not allowed in a string");
        return -1;
    }
    return val;
}

/* Strings end up in JSON, which must be UTF-8: accept only well-formed sequences. */
static bool utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                                   : (c & 0xf8) == 0xf0 ? 4 : 0;
        uint32_t cp;
        if (!len || i + len > n)
            return false;
        cp = len == 1 ? c : c & (0x7f >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

static enum kl__tok lex_string(kl__lexer *lx)
{
    int quote = peek(lx, 0);
    size_t cap = 64, n = 0;
    char *buf = malloc(cap);

    if (!buf)
        return fail_here(lx, "out of memory");
    advance(lx);
    for (;;) {
        int ch = peek(lx, 0);
        if (ch < 0 || ch == '\n') {
            free(buf);
            kl__lex_error(lx, &lx->pos, "unterminated string (missing closing quote)");
            return lx->tok = KT_ERROR;
        }
        advance(lx);
        if (ch == quote)
            break;
        if (ch == '\\') {
            kl__pos bs = { lx->file, lx->line, lx->col - 1 };
            if ((ch = lex_escape(lx, &bs)) < 0) {
                free(buf);
                return lx->tok = KT_ERROR;
            }
        }
        if (n + 2 > cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                return fail_here(lx, "out of memory");
            }
            buf = nb;
        }
        buf[n++] = (char)ch;
    }
    buf[n] = '\0';
    if (!utf8_ok((const unsigned char *)buf, n)) {
        free(buf);
        kl__lex_error(lx, &lx->pos, "string is not valid UTF-8");
        return lx->tok = KT_ERROR;
    }
    lx->text = buf;
    return lx->tok = KT_STRING;
}

static enum kl__tok lex_punct(kl__lexer *lx, int ch)
{
    static const char single[] = "\n;,[]=";
    static const enum kl__tok kinds[] = { KT_NEWLINE, KT_SEMI, KT_COMMA, KT_LBRACKET,
                                          KT_RBRACKET, KT_EQ };
    const char *p = strchr(single, ch);

    if (ch && p) {
        advance(lx);
        return lx->tok = kinds[p - single];
    }
    if (ch == '+' && peek(lx, 1) == '=') {
        advance(lx);
        advance(lx);
        return lx->tok = KT_PLUSEQ;
    }
    if (ch && strchr("+-.():", ch))
        return fail_here(lx, "unexpected character (config files are not Python: "
                             "expressions are not supported)");
    if (ch >= 'A' && ch <= 'Z')
        return fail_here(lx, "unexpected upper-case letter (key names are lower case)");
    return fail_here(lx, "unexpected character");
}

enum kl__tok kl__lex_next(kl__lexer *lx)
{
    int ch;

    free(lx->text);
    lx->text = NULL;
    for (;;) {
        ch = peek(lx, 0);
        if (ch == ' ' || ch == '\t' || ch == '\r') {
            advance(lx);
        } else if (ch == '#') {
            while (peek(lx, 0) >= 0 && peek(lx, 0) != '\n')
                advance(lx);
        } else {
            break;
        }
    }
    lx->start = lx->i;
    lx->pos = (kl__pos){ lx->file, lx->line, lx->col };
    if (ch < 0)
        return lx->tok = KT_EOF;
    if (ch >= 'a' && ch <= 'z')
        return lex_word(lx, KT_IDENT);
    if (ch >= '0' && ch <= '9')
        return lex_word(lx, KT_NUMBER);
    if (ch == '"' || ch == '\'')
        return lex_string(lx);
    return lex_punct(lx, ch);
}
