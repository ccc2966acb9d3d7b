/* kf_db.c - lifetime of a loaded policy database and name lookups in it. */
#include "kf_db.h"

#include <stdlib.h>
#include <string.h>

static void free_class(struct kf_class *cl)
{
    free(cl->name);
    for (int i = 0; i < KF_MAX_PERMS; i++)
        free(cl->perms[i]);
    for (uint32_t k = 0; k < cl->ncons; k++) {
        for (uint32_t j = 0; cl->cons[k].expr && j < cl->cons[k].nexpr; j++)
            free(cl->cons[k].expr[j].names.w);
        free(cl->cons[k].expr);
    }
    free(cl->cons);
}

static void free_type_names(struct kf_policydb *db)
{
    /* alias entries own their names; primaries point into db->types */
    for (uint32_t i = 0; i < db->type_names.n; i++) {
        const struct kf_name *n = &db->type_names.v[i];

        if (!db->types || n->value < 1 || n->value > db->ntypes ||
            db->types[n->value - 1].name != n->name)
            free((char *)n->name);
    }
    free(db->type_names.v);
}

void kf_db_free(struct kf_policydb *db)
{
    if (!db)
        return;
    free_type_names(db);
    for (uint32_t i = 0; db->commons && i < db->ncommons; i++) {
        free(db->commons[i].name);
        for (int j = 0; j < KF_MAX_PERMS; j++)
            free(db->commons[i].perms[j]);
    }
    for (uint32_t i = 0; db->classes && i < db->nclasses; i++)
        free_class(&db->classes[i]);
    for (uint32_t i = 0; db->roles && i < db->nroles; i++) {
        free(db->roles[i].name);
        free(db->roles[i].types.w);
    }
    for (uint32_t i = 0; db->types && i < db->ntypes; i++)
        free(db->types[i].name);
    for (uint32_t i = 0; db->users && i < db->nusers; i++) {
        free(db->users[i].name);
        free(db->users[i].roles.w);
    }
    for (uint32_t i = 0; db->bools && i < db->nbools; i++)
        free(db->bools[i].name);
    for (uint32_t i = 0; db->conds && i < db->nconds; i++)
        free(db->conds[i].expr);
    for (uint32_t i = 0; db->type_attr_map && i < db->ntypes; i++)
        free(db->type_attr_map[i].w);
    free(db->commons);
    free(db->classes);
    free(db->roles);
    free(db->types);
    free(db->users);
    free(db->bools);
    free(db->conds);
    free(db->type_attr_map);
    free(db->isids);
    free(db->class_names.v);
    free(db->role_names.v);
    free(db->user_names.v);
    free(db->bool_names.v);
    free(db->te.e);
    free(db->te.head);
    free(db->te.next);
    free(db);
}

int kf_names_find(const struct kf_names *n, const char *name, uint32_t *value)
{
    uint32_t lo = 0, hi = n->n;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, n->v[mid].name);

        if (!c) {
            *value = n->v[mid].value;
            return 0;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}
