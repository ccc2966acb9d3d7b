/* ks_watch.c - watches: registration with tokens (per-domain quota), removal, and
 * firing WATCH_EVENTs to every connection whose watch covers a changed node and which may
 * read it. Removing a node also fires the watches set below it, on their own paths.
 * Special events (@introduceDomain, @releaseDomain) name their domain to watches with
 * depth 1 and to watches on "@releaseDomain/<domid>", and only reach connections that
 * may read the special node (privileged ones, domains granted read by SET_PERMS). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks_int.h"

static bool ks_special(const char *p) { return p[0] == '@'; }

int ks_watch_add(struct ks_ctx *x, const char *path, const char *token, int depth)
{
    char abs[KS_ABS_PATH_MAX + 1];
    struct ks_watch *w;
    unsigned limit = ks_quota_limit(x->s, x->domid, KS_Q_WATCHES);

    if (ks_special(path)) {
        if (!ks_path_valid(path, 1))
            return -EINVAL;
        snprintf(abs, sizeof(abs), "%s", path);
    } else if (ks_ctx_canon(x, path, abs, sizeof(abs)) < 0) {
        return -EINVAL;
    }
    for (w = x->conn->watches; w; w = w->next)
        if (strcmp(w->path, abs) == 0 && strcmp(w->token, token) == 0)
            return -EEXIST;
    if (!x->priv && limit) {
        unsigned used = 0;      /* per domain: all of its connections together */
        for (struct ks_conn *c = x->s->conns; c; c = c->next)
            if (c->domid == x->domid && !c->priv)
                used += c->nwatches;
        if (used >= limit)
            return -E2BIG;
    }
    w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->path = strdup(abs);
    w->token = strdup(token);
    if (!w->path || !w->token) {
        free(w->path);
        free(w->token);
        free(w);
        return -ENOMEM;
    }
    w->relative = path[0] != '/' && !ks_special(path);
    w->depth = depth;
    w->next = x->conn->watches;
    x->conn->watches = w;
    x->conn->nwatches++;
    return 0;
}

static void ks_watch_free(struct ks_watch *w)
{
    free(w->path);
    free(w->token);
    free(w);
}

int ks_watch_del(struct ks_ctx *x, const char *path, const char *token)
{
    char abs[KS_ABS_PATH_MAX + 1];

    if (ks_special(path))
        snprintf(abs, sizeof(abs), "%s", path);
    else if (ks_ctx_canon(x, path, abs, sizeof(abs)) < 0)
        return -EINVAL;
    for (struct ks_watch **pp = &x->conn->watches; *pp; pp = &(*pp)->next) {
        struct ks_watch *w = *pp;
        if (strcmp(w->path, abs) == 0 && strcmp(w->token, token) == 0) {
            *pp = w->next;
            ks_watch_free(w);
            x->conn->nwatches--;
            return 0;
        }
    }
    return -ENOENT;
}

void ks_watch_clear(struct ks_conn *c)
{
    while (c->watches) {
        struct ks_watch *w = c->watches;
        c->watches = w->next;
        ks_watch_free(w);
    }
    c->nwatches = 0;
}

/* Levels of `path` below its ancestor `base` ("/a" in "/a/b/c" -> 2). */
static int ks_levels(const char *base, const char *path)
{
    int n = 0;

    path += strcmp(base, "/") == 0 ? 0 : strlen(base);
    for (; *path; path++)
        n += *path == '/';
    return n;
}

/* 1 if `a` equals `b` or is an ancestor of it, component-wise. */
static bool ks_covers(const char *a, const char *b)
{
    size_t n = strlen(a);

    if (strcmp(a, "/") == 0)
        return b[0] == '/';
    return strncmp(a, b, n) == 0 && (b[n] == '\0' || b[n] == '/');
}

static void ks_send_event(struct ks_conn *c, const struct ks_watch *w, const char *path)
{
    char buf[KS_PAYLOAD_MAX + 64], prefix[40];
    size_t pl = (size_t)snprintf(prefix, sizeof(prefix), "/local/domain/%u/", c->domid);
    int n;

    if (w->relative && strncmp(path, prefix, pl) == 0)
        path += pl;
    n = snprintf(buf, sizeof(buf), "%s%c%s", path, '\0', w->token);
    if (n < 0 || (size_t)n >= sizeof(buf) || (size_t)n + 1 > KS_PAYLOAD_MAX)
        return;
    ks_conn_reply(c, NULL, KS_WATCH_EVENT, buf, (size_t)n + 1);
}

void ks_watch_fire(struct ks_store *s, const char *path, const struct ks_node *n, bool rm)
{
    for (struct ks_conn *c = s->conns; c; c = c->next) {
        struct ks_ctx x = { s, c, c->domid, c->priv, s->tree, NULL, false };
        bool readable;

        if (c->dead || !c->watches)
            continue;
        readable = ks_perm_can(&x, n, KS_PERM_READ);
        for (struct ks_watch *w = c->watches; w; w = w->next) {
            if (ks_special(w->path))
                continue;
            if (ks_covers(w->path, path) && readable &&
                (w->depth < 0 || ks_levels(w->path, path) <= w->depth))
                ks_send_event(c, w, path);
            else if (rm && ks_covers(path, w->path) && readable)
                ks_send_event(c, w, w->path);
        }
    }
}

void ks_watch_fire_special(struct ks_store *s, const char *name, uint32_t domid)
{
    char withid[64];

    snprintf(withid, sizeof(withid), "%s/%u", name, domid);
    for (struct ks_conn *c = s->conns; c; c = c->next) {
        if (c->dead || !c->watches || !ks_special_may_see(s, c, name))
            continue;
        for (struct ks_watch *w = c->watches; w; w = w->next) {
            if (strcmp(w->path, name) == 0 && w->depth == 1)
                ks_send_event(c, w, withid);    /* depth 1 asks for the domid */
            else if (strcmp(w->path, name) == 0)
                ks_send_event(c, w, name);
            else if (strcmp(w->path, withid) == 0)
                ks_send_event(c, w, withid);    /* "@releaseDomain/<domid>": this one only */
        }
    }
}
