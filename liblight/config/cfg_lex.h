/* cfg_lex.h - the xl.cfg tokenizer (internal). */
#ifndef KEEL_CFG_LEX_H
#define KEEL_CFG_LEX_H

#include <stddef.h>

#include "kl_internal.h"

enum kl__tok {
    KT_EOF, KT_NEWLINE, KT_SEMI, KT_COMMA, KT_LBRACKET, KT_RBRACKET, KT_EQ, KT_PLUSEQ,
    KT_IDENT, KT_NUMBER, KT_STRING, KT_ERROR
};

typedef struct kl__lexer {
    const char *s;
    size_t len, i;
    int line, col;
    const char *file;
    kl_diag *d;
    /* the current token */
    enum kl__tok tok;
    kl__pos pos;
    size_t start;  /* raw offset of the token */
    char *text;    /* identifier, number or unescaped string (owned) */
} kl__lexer;

void kl__lex_init(kl__lexer *lx, const char *file, const char *s, size_t len, int line0,
                  kl_diag *d);
/* Advance to the next token; KT_ERROR after reporting a lexical error. */
enum kl__tok kl__lex_next(kl__lexer *lx);
void kl__lex_done(kl__lexer *lx);
/* Report "file:line:col: config parsing error near `tok': msg" at pos. */
void kl__lex_error(kl__lexer *lx, const kl__pos *pos, const char *msg);

#endif
