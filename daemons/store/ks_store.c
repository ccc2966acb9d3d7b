/* ks_store.c - the store handle: configuration defaults, start-up (journal replay, the
 * standard nodes xenstored creates) and shutdown. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "klog.h"
#include "ks_int.h"

void ks_config_defaults(struct ks_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->sync = KS_SYNC_PERIODIC;
    cfg->compact_every = 10000;
    cfg->peer_uid = -1;
    /* xenstored's defaults */
    cfg->quota.nodes = 1000;
    cfg->quota.watches = 128;
    cfg->quota.transactions = 10;
    cfg->quota.node_size = 2048;
    cfg->quota.perms = 5;
}

/* Create a node as dom0 if it is missing (journaled like any write). */
static int ks_ensure(struct ks_store *s, const char *path, const char *value)
{
    struct ks_ctx x = { s, NULL, 0, true, s->tree, NULL, false };
    struct ks_args a = { .n = 1 };

    if (ks_tree_lookup(s->tree, path))
        return 0;
    a.v[0] = path;
    a.len[0] = strlen(path);
    a.data = value ? value : "";
    a.datalen = strlen(a.data);
    return ks_apply(&x, value ? KS_WRITE : KS_MKDIR, &a);
}

static int ks_standard_nodes(struct ks_store *s)
{
    static const char *const nodes[][2] = {
        { "/tool", NULL }, { "/tool/xenstored", NULL }, { "/tool/xenstored/domid", "0" },
        { "/local", NULL }, { "/local/domain", NULL }, { "/local/domain/0", NULL },
        { "/local/domain/0/domid", "0" }, { "/local/domain/0/name", "Domain-0" },
        { "/vm", NULL }, { "/libxl", NULL },
    };
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < sizeof(nodes) / sizeof(nodes[0]); i++)
        rc = ks_ensure(s, nodes[i][0], nodes[i][1]);
    return rc;
}

int ks_store_new(struct event_base *base, const struct ks_config *cfg, struct ks_store **out)
{
    struct ks_store *s = calloc(1, sizeof(*s));
    int rc;

    if (!s)
        return -ENOMEM;
    s->base = base;
    s->listen_fd = -1;
    s->cfg = *cfg;
    s->tree = ks_tree_new();
    if (!s->tree) {
        free(s);
        return -ENOMEM;
    }
    if ((rc = ks_special_init(s)) < 0 || (rc = ks_journal_open(s)) < 0 ||
        (rc = ks_standard_nodes(s)) < 0) {
        ks_store_free(s);
        return rc;
    }
    ks_journal_commit(s);       /* the standard nodes, before any client can see them */
    *out = s;
    return 0;
}

void ks_store_free(struct ks_store *s)
{
    if (!s)
        return;
    ks_domain_free_all(s);
    if (s->listen_ev) {
        event_free(s->listen_ev);
        close(s->listen_fd);
    }
    while (s->conns) {
        struct ks_conn *c = s->conns;
        if (c->t && c->t->destroy)
            c->t->destroy(c->tctx);     /* transports free their connection */
        if (s->conns == c)
            ks_conn_free(c);
    }
    ks_journal_close(s);
    ks_tree_free(s->tree);
    ks_special_free(s);
    free(s);
}
