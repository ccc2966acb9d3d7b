/* gen-policy.c - prints a random but valid policy for a seed, for differential testing of
 * keel-policyc against checkpolicy: commons, classes, attributes, types with aliases and
 * attributes, typeattribute, allow/auditallow/dontaudit with sets, self and negation, type
 * rules, booleans and conditionals, roles, role allows, users, constraints, initial SIDs and
 * Xen object contexts.  Usage: gen-policy SEED */
#include <stdio.h>
#include <stdlib.h>

static unsigned long long st;

static unsigned rnd(unsigned n)
{
    st = st * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)((st >> 33) % n);
}

#define NCLS 4
#define NPERM 6
#define NATTR 4

static int ntypes, nroles, nusers, nbools;

static void name_type(int i, char *b)
{
    static const char *const stem[] = { "dom", "evt", "res", "x", "guest", "io", "q" };

    sprintf(b, "%s%d_t", stem[i % 7], i);
}

static void perms(int c)
{
    int n = 1 + (int)rnd(3);

    if (rnd(8) == 0) {
        printf(" *");
        return;
    }
    printf(" {");
    for (int i = 0; i < n; i++)
        printf(" c%dp%u", c, rnd(NPERM));
    printf(" }");
}

static void typeset(int allow_neg)
{
    char b[32];
    int n = 1 + (int)rnd(3);

    if (n == 1 && !rnd(2)) {
        if (rnd(3) == 0)
            printf(" attr%u", rnd(NATTR));
        else {
            name_type((int)rnd((unsigned)ntypes), b);
            printf(" %s", b);
        }
        return;
    }
    printf(" {");
    for (int i = 0; i < n; i++) {
        if (rnd(3) == 0)
            printf(" attr%u", rnd(NATTR));
        else {
            name_type((int)rnd((unsigned)ntypes), b);
            printf(" %s", b);
        }
    }
    if (allow_neg && rnd(3) == 0) {
        name_type((int)rnd((unsigned)ntypes), b);
        printf(" -%s", b);
    }
    printf(" }");
}

static void type_rule(void)
{
    static const char *const kind[] = { "type_transition", "type_member", "type_change" };
    char b[32];

    printf("%s", kind[rnd(3)]);
    typeset(1);
    typeset(1);
    name_type((int)rnd((unsigned)ntypes), b);
    printf(":cls%u %s;\n", rnd(NCLS), b);
}

static void te_rule(void)
{
    static const char *const kind[] = { "allow", "allow", "allow", "auditallow", "dontaudit" };
    int c = (int)rnd(NCLS);

    printf("%s", kind[rnd(5)]);
    typeset(1);
    if (rnd(5) == 0)
        printf(" self");
    else if (rnd(8) == 0)
        printf(" { self al%u_t }", rnd((unsigned)ntypes));
    else
        typeset(1);
    if (c % 2 && rnd(3) == 0) { /* two classes sharing the common's permissions */
        printf(":{ cls1 cls3 } { cp%u cp%u };\n", rnd(3), rnd(3));
        return;
    }
    printf(":cls%d", c);
    perms(c);
    printf(";\n");
}

static void header(void)
{
    for (int c = 0; c < NCLS; c++)
        printf("class cls%d\n", c);
    printf("sid kernel\nsid init\nsid unused\n");
    printf("common com { cp0 cp1 cp2 }\n");
    for (int c = 0; c < NCLS; c++) {
        printf("class cls%d%s {", c, c % 2 ? " inherits com" : "");
        for (int p = 0; p < NPERM; p++)
            printf(" c%dp%d", c, p);
        printf(" }\n");
    }
    for (int a = 0; a < NATTR; a++)
        printf("attribute attr%d;\n", a);
}

static void types(void)
{
    char b[32];

    for (int i = 0; i < ntypes; i++) {
        name_type(i, b);
        printf("type %s", b);
        printf(" alias al%d_t", i);
        for (int a = 0; a < NATTR; a++)
            if (rnd(3) == 0)
                printf(", attr%d", a);
        printf(";\n");
    }
    for (int i = 0; i < 3; i++) {
        name_type((int)rnd((unsigned)ntypes), b);
        printf("typeattribute %s attr%u;\n", b, rnd(NATTR));
    }
    for (int i = 0; i < nbools; i++)
        printf("bool b%d_%s %s;\n", i, i % 2 ? "on" : "flag", rnd(2) ? "true" : "false");
}

static void conds(void)
{
    static const char *const op[] = { "&&", "||", "^", "==", "!=" };

    for (int k = 0; k < 4; k++) {
        int a = (int)rnd((unsigned)nbools), b = (int)rnd((unsigned)nbools);

        printf("if (%sb%d_%s", rnd(3) ? "" : "!", a, a % 2 ? "on" : "flag");
        if (rnd(2))
            printf(" %s b%d_%s", op[rnd(5)], b, b % 2 ? "on" : "flag");
        printf(") {\n");
        for (int i = 0; i < 2; i++)
            te_rule();
        if (rnd(3) == 0)
            type_rule();
        printf("}");
        if (rnd(2)) {
            printf(" else {\n");
            te_rule();
            printf("}");
        }
        printf("\n");
    }
}

static void type_rules(void)
{
    char s[32], t[32], n[32];

    for (int i = 0; i < 4; i++) {
        name_type(i * 3 % ntypes, s);
        name_type((i * 5 + 1) % ntypes, t);
        name_type((i * 7 + 2) % ntypes, n);
        printf("%s %s %s:cls%d %s;\n", i % 3 == 0 ? "type_transition" : i % 3 == 1 ?
               "type_member" : "type_change", s, t, i % NCLS, n);
    }
}

static void roles_users(void)
{
    static const char *const rn[] = { "sys_r", "vm_r", "admin_r", "guest_r", "zz_r" };
    static const char *const un[] = { "system_u", "user_1", "alice", "bob" };

    for (int r = 0; r < nroles; r++) {
        printf("role %s;\nrole %s types {", rn[r], rn[r]);
        for (int a = 0; a < NATTR; a++)
            printf(" attr%d", a);
        for (int t = 0; t < ntypes; t++)
            if (rnd(2)) {
                char b[32];

                name_type(t, b);
                printf(" %s", b);
            }
        printf(" };\n");
    }
    if (nroles > 1)
        printf("allow %s %s;\n", rn[0], rn[1]);
    for (int u = 0; u < nusers; u++)
        printf("user %s roles { %s %s };\n", un[u], rn[u % nroles], rn[rnd((unsigned)nroles)]);
    printf("constrain cls0 { c0p0 c0p1 } ( u1 == u2 or u1 == %s );\n", un[0]);
    printf("constrain cls2 c2p3 ( t1 == attr%u and not ( r2 != %s ) );\n", rnd(NATTR), rn[0]);
}

static void contexts(void)
{
    char b[32];

    name_type(0, b);
    printf("sid kernel system_u:sys_r:%s\n", b);
    name_type(1, b);
    printf("sid init system_u:object_r:%s\n", b);
    printf("pirqcon %u system_u:object_r:%s\n", 10 + rnd(20), b);
    printf("ioportcon 0x%x-0x%x system_u:object_r:%s\n", 0x100, 0x100 + rnd(64), b);
    printf("iomemcon 0x%x system_u:object_r:%s\n", 0xfe000 + rnd(4096), b);
    printf("pcidevicecon 0x%x system_u:object_r:%s\n", rnd(0xffff), b);
}

int main(int argc, char **argv)
{
    st = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
    ntypes = 4 + (int)rnd(14);
    nroles = 1 + (int)rnd(5);
    nusers = 1 + (int)rnd(4);
    nbools = 1 + (int)rnd(5);
    printf("# generated by gen-policy %s\n", argc > 1 ? argv[1] : "1");
    header();
    types();
    for (int i = 0, n = 5 + (int)rnd(25); i < n; i++)
        te_rule();
    type_rules();
    conds();
    roles_users();
    contexts();
    return 0;
}
