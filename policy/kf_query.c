/* kf_query.c - keel-flask-query: loads a binary policy with libkeelflask and prints every
 * decision it makes, in a canonical order, so two binaries can be compared by their meaning:
 * for each boolean setting (all combinations up to 8 booleans), each pair of types and each
 * class, the allowed, auditallow and dontaudit permissions and any type transition.
 * With --raw, prints the access vector table entries in file order instead.
 * Usage: keel-flask-query [--raw] POLICY */
#include "kf_db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/klog.h"

static int read_file(const char *path, uint8_t **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n;

    if (!f)
        return -errno;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!*buf || n < 0 || fread(*buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        return -EIO;
    }
    fclose(f);
    *len = (size_t)n;
    return 0;
}

static void print_perms(const struct kf_class *cl, const char *label, uint32_t v)
{
    if (!v)
        return;
    printf(" %s{", label);
    for (uint32_t i = 0; i < cl->nperms; i++)
        if (v & (1u << i))
            printf(" %s", cl->perms[i] ? cl->perms[i] : "?");
    printf(" }");
}

static void dump_pairs(const struct kf_policydb *db)
{
    for (uint32_t s = 1; s <= db->ntypes; s++) {
        if (db->types[s - 1].attr)
            continue;
        for (uint32_t t = 1; t <= db->ntypes; t++) {
            if (db->types[t - 1].attr)
                continue;
            for (uint16_t c = 1; c <= db->nclasses; c++) {
                struct kf_context sc = { 1, 1, s }, tc = { 1, 1, t };
                const struct kf_class *cl = &db->classes[c - 1];
                uint32_t al, aa, ad, nt;
                uint32_t mask = cl->nperms >= 32 ? 0xffffffffu : (1u << cl->nperms) - 1;

                kf_db_compute_av(db, &sc, &tc, c, &al, &aa, &ad);
                ad |= ~mask;
                if (!al && !aa && ad == 0xffffffffu && kf_db_compute_type(db, s, t, c, &nt))
                    continue;
                printf("%s %s %s", db->types[s - 1].name, db->types[t - 1].name, cl->name);
                print_perms(cl, "allow", al);
                print_perms(cl, "auditallow", aa);
                print_perms(cl, "dontaudit", ~ad);
                if (!kf_db_compute_type(db, s, t, c, &nt))
                    printf(" type_transition %s", db->types[nt - 1].name);
                printf("\n");
            }
        }
    }
}

static void dump_raw(const struct kf_policydb *db)
{
    for (uint32_t i = 0; i < db->te.n; i++) {
        const struct kf_avent *e = &db->te.e[i];

        printf("%d%c %s %s %s 0x%x 0x%x\n", e->cond, e->cond < 0 ? ' ' : e->cond_true ? 'T' : 'F',
               db->types[e->stype - 1].name, db->types[e->ttype - 1].name,
               db->classes[e->tclass - 1].name, e->spec, e->data);
    }
}

int main(int argc, char **argv)
{
    int raw = argc == 3 && !strcmp(argv[1], "--raw");

    struct kf_policydb *db;
    char err[512];
    uint8_t *buf = NULL;
    size_t len = 0;
    uint32_t nb;

    klog_init("keel-flask-query", KLOG_WARN, NULL);
    if (raw) {
        argv++;
        argc--;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: keel-flask-query [--raw] POLICY\n");
        return 2;
    }
    if (read_file(argv[1], &buf, &len)) {
        fprintf(stderr, "keel-flask-query: cannot read %s\n", argv[1]);
        return 1;
    }
    if (kf_db_read(&db, buf, len, err, sizeof(err))) {
        fprintf(stderr, "keel-flask-query: %s: %s\n", argv[1], err);
        free(buf);
        return 1;
    }
    free(buf);
    if (raw) {
        dump_raw(db);
        kf_db_free(db);
        return 0;
    }
    printf("version %u classes %u types %u roles %u users %u booleans %u\n", db->version,
           db->nclasses, db->ntypes, db->nroles, db->nusers, db->nbools);
    nb = db->nbools > 8 ? 8 : db->nbools;
    for (uint32_t m = 0; m < (1u << nb); m++) {
        for (uint32_t b = 0; b < nb; b++)
            db->bools[b].state = (m >> b) & 1;
        kf_db_eval_conds(db);
        printf("booleans");
        for (uint32_t b = 0; b < nb; b++)
            printf(" %s=%d", db->bools[b].name, db->bools[b].state);
        printf("\n");
        dump_pairs(db);
    }
    kf_db_free(db);
    return 0;
}
