/* kp_lex.c - the tokenizer of the policy language: identifiers, numbers, punctuation and
 * operators, '#' comments, and the "#line N \"file\"" synclines m4 -s writes, so that errors
 * name the original source file and line. */
#include "kp.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void kp_lex_init(struct kp_lex *l, const char *src, size_t len, const char *file)
{
    memset(l, 0, sizeof(*l));
    l->src = src;
    l->len = len;
    l->line = 1;
    snprintf(l->file, sizeof(l->file), "%s", file);
    kp_lex_next(l);
}

static int peek(const struct kp_lex *l, size_t off)
{
    return l->pos + off < l->len ? (unsigned char)l->src[l->pos + off] : -1;
}

/* "#line N "file"" at the start of a line sets the position of the next line. */
static void syncline(struct kp_lex *l, size_t start, size_t end)
{
    char buf[400];
    size_t n = end - start;
    char *p, *q;

    if (n >= sizeof(buf))
        return;
    memcpy(buf, l->src + start, n);
    buf[n] = 0;
    if (strncmp(buf, "#line ", 6))
        return;
    l->line = atoi(buf + 6) - 1;
    p = strchr(buf, '"');
    q = p ? strrchr(p + 1, '"') : NULL;
    if (p && q) {
        *q = 0;
        snprintf(l->file, sizeof(l->file), "%s", p + 1);
    }
}

static void skip_space(struct kp_lex *l)
{
    for (;;) {
        int c = peek(l, 0);

        if (c == '\n') {
            l->line++;
            l->pos++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            l->pos++;
        } else if (c == '#') {
            size_t start = l->pos;
            int at_bol = start == 0 || l->src[start - 1] == '\n';

            while (peek(l, 0) != -1 && peek(l, 0) != '\n')
                l->pos++;
            if (at_bol)
                syncline(l, start, l->pos);
        } else {
            return;
        }
    }
}

static int id_char(int c)
{
    return isalnum(c) || c == '_' || c == '.' || c == '$';
}

void kp_lex_next(struct kp_lex *l)
{
    size_t n = 0;
    int c, d;

    l->prev = l->tok;
    skip_space(l);
    l->tline = l->line;
    memcpy(l->tfile, l->file, sizeof(l->tfile));
    l->text[0] = 0;
    c = peek(l, 0);
    if (c == -1) {
        l->tok = T_EOF;
        return;
    }
    if (isdigit(c)) {
        while (isxdigit(peek(l, 0)) || peek(l, 0) == 'x' || peek(l, 0) == 'X') {
            if (n + 1 < sizeof(l->text))
                l->text[n++] = (char)peek(l, 0);
            l->pos++;
        }
        l->text[n] = 0;
        l->tok = T_NUM;
        return;
    }
    if (isalpha(c) || c == '_') {
        size_t len = 0;

        while (id_char(peek(l, 0))) {
            if (n + 1 < sizeof(l->text))
                l->text[n++] = (char)peek(l, 0);
            l->pos++;
            len++;
        }
        l->text[n] = 0;
        l->tok = T_ID;
        if (len >= sizeof(l->text)) { /* never let two long names collide by truncation */
            snprintf(l->text, sizeof(l->text), "identifier of %zu characters", len);
            l->tok = T_BAD;
        }
        return;
    }
    if (c == '/') { /* device tree paths */
        while (peek(l, 0) != -1 && !isspace(peek(l, 0)) && peek(l, 0) != ';') {
            if (n + 1 < sizeof(l->text))
                l->text[n++] = (char)peek(l, 0);
            l->pos++;
        }
        l->text[n] = 0;
        l->tok = T_PATH;
        return;
    }
    d = peek(l, 1);
    l->pos++;
    l->text[0] = (char)c;
    l->text[1] = 0;
    switch (c) {
    case '{': l->tok = T_LBRACE; return;
    case '}': l->tok = T_RBRACE; return;
    case '(': l->tok = T_LPAREN; return;
    case ')': l->tok = T_RPAREN; return;
    case ';': l->tok = T_SEMI; return;
    case ',': l->tok = T_COMMA; return;
    case ':': l->tok = T_COLON; return;
    case '~': l->tok = T_TILDE; return;
    case '*': l->tok = T_STAR; return;
    case '-': l->tok = T_MINUS; return;
    case '^': l->tok = T_XOR; return;
    case '.': l->tok = T_DOT; return;
    case '=':
        if (d == '=') {
            l->pos++;
            l->tok = T_EQ;
            return;
        }
        break;
    case '!':
        if (d == '=') {
            l->pos++;
            l->tok = T_NEQ;
            return;
        }
        l->tok = T_NOT;
        return;
    case '&':
        if (d == '&') {
            l->pos++;
            l->tok = T_AND;
            return;
        }
        break;
    case '|':
        if (d == '|') {
            l->pos++;
            l->tok = T_OR;
            return;
        }
        break;
    default:
        break;
    }
    snprintf(l->text, sizeof(l->text), "%c", c);
    l->tok = T_BAD;
}
