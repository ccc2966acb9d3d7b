/* ks_perm.c - who may do what to a node: dom0 may do everything, the owner (first entry)
 * may do everything, a listed domain gets its entry's rights, anybody else gets the
 * owner entry's letter. A domain with a SET_TARGET target also gets the target's rights. */
#include "config.h"

#include "ks_int.h"

static uint32_t ks_mode_for(const struct ks_perm *p, unsigned np, uint32_t id)
{
    if (p[0].id == id)
        return KS_PERM_BOTH;
    for (unsigned i = 1; i < np; i++)
        if (p[i].id == id)
            return p[i].mode;
    return p[0].mode;
}

uint32_t ks_perm_mode(const struct ks_ctx *x, const struct ks_node *n)
{
    unsigned np;
    const struct ks_perm *p = ks_node_perms(n, &np);
    uint32_t mode;
    struct ks_domain *d;

    if (x->priv)
        return KS_PERM_BOTH;
    mode = ks_mode_for(p, np, x->domid);
    d = ks_domain_find(x->s, x->domid);
    if (d && d->has_target)
        mode |= ks_mode_for(p, np, d->target);
    return mode;
}

bool ks_perm_can(const struct ks_ctx *x, const struct ks_node *n, uint32_t want)
{
    return (ks_perm_mode(x, n) & want) == want;
}
