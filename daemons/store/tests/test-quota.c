/* test-quota.c - GET_QUOTA / SET_QUOTA over in-process connections: global values, values
 * of one domain overriding them, their enforcement per domain, refusal for guests,
 * malformed requests, per-domain values surviving a restart on the same journal, and a
 * journal record of an unknown kind being skipped. */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>
#include <zlib.h>

#include "tap.h"
#include "ks_test.h"

static struct event_base *base;
static struct ks_store *s;
static struct ks_conn *d0, *d8, *d9;

/* A home /local/domain/<id> owned by the guest (it counts as one of its nodes). */
static void kt_home(const char *id)
{
    char path[64], perm[16];

    snprintf(path, sizeof(path), "/local/domain/%s", id);
    snprintf(perm, sizeof(perm), "n%s", id);
    kt_req(d0, KS_MKDIR, 0, path, NULL);
    kt_req(d0, KS_SET_PERMS, 0, path, perm);
}

static void test_global(void)
{
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "", NULL), "nodes watches transactions node-size permissions",
          "get-quota without arguments lists the quota names");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "nodes", NULL), "1000", "global node quota (default 1000)");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "node-size", NULL), "2048", "global node-size quota (default 2048)");
    kt_is(kt_req(d0, KS_SET_QUOTA, 0, "watches", "50"), "OK", "set-quota changes a global value");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "watches", NULL), "50", "get-quota reads it back");
    tap_ok(strstr(kt_req(d0, KS_CONTROL, 0, "quota", NULL), "watches 50\n") != NULL,
           "control quota shows the value set-quota set");
    kt_is(kt_req(d0, KS_CONTROL, 0, "quota", "watches|60"), "OK", "control quota still sets a value");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "watches", NULL), "60", "get-quota sees control quota's value");
    kt_is(kt_req(d0, KS_SET_QUOTA, 0, "watches", "128"), "OK", "restore the watch quota");
}

static void test_domain(void)
{
    kt_is(kt_req(d0, KS_INTRODUCE, 0, "8", "100|1"), "OK", "introduce domain 8");
    kt_is(kt_req(d0, KS_INTRODUCE, 0, "9", "101|2"), "OK", "introduce domain 9");
    kt_home("8");
    kt_home("9");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "8", "nodes"), "1000", "a domain starts with the global value");
    kt_is(kt_req(d0, KS_SET_QUOTA, 0, "8", "nodes|4"), "OK", "set-quota for domain 8");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "8", "nodes"), "4", "get-quota for domain 8 reads it back");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "9", "nodes"), "1000", "domain 9 keeps the global value");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "nodes", NULL), "1000", "the global value is unchanged");
    kt_is(kt_req(d0, KS_SET_QUOTA, 0, "nodes", "900"), "OK", "a new global value ...");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "9", "nodes"), "900", "... applies to domains without their own");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "8", "nodes"), "4", "... but not to domain 8's own value");
    kt_is(kt_req(d0, KS_SET_QUOTA, 0, "nodes", "1000"), "OK", "restore the global node quota");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "0", "nodes"), "0", "dom0: no quota applies (0)");
}

static void test_enforced(void)
{
    char big[3000];
    int i;

    kt_is(kt_req(d8, KS_WRITE, 0, "a", "1"), "OK", "domain 8 creates its 2nd node");
    kt_is(kt_req(d8, KS_WRITE, 0, "b", "1"), "OK", "its 3rd");
    kt_is(kt_req(d8, KS_WRITE, 0, "c", "1"), "OK", "its 4th");
    kt_is(kt_req(d8, KS_WRITE, 0, "d", "1"), "!ENOSPC", "the 5th is beyond its own node quota: ENOSPC");
    kt_is(kt_req(d8, KS_WRITE, 0, "a", "2"), "OK", "rewriting an existing node still works");
    for (i = 0; i < 10; i++) {
        char p[16];
        snprintf(p, sizeof(p), "n%d", i);
        if (strcmp(kt_req(d9, KS_WRITE, 0, p, "1"), "OK") != 0)
            break;
    }
    tap_ok(i == 10, "domain 9 creates 10 nodes under the global quota (%d)", i);
    kt_is(kt_req(d0, KS_SET_QUOTA, 0, "8", "watches|1"), "OK", "domain 8: one watch");
    kt_is(kt_req(d8, KS_WATCH, 0, "a", "t1"), "OK", "its first watch");
    kt_is(kt_req(d8, KS_WATCH, 0, "b", "t2"), "!E2BIG", "its second is E2BIG");
    kt_is(kt_req(d9, KS_WATCH, 0, "n0", "t1"), "OK", "domain 9's first watch");
    kt_is(kt_req(d9, KS_WATCH, 0, "n1", "t2"), "OK", "domain 9's second watch is fine");
    kt_is(kt_req(d0, KS_SET_QUOTA, 0, "8", "transactions|1"), "OK", "domain 8: one transaction");
    tap_ok(atoi(kt_req(d8, KS_TRANSACTION_START, 0, "", NULL)) > 0, "its first transaction starts");
    kt_is(kt_req(d8, KS_TRANSACTION_START, 0, "", NULL), "!ENOSPC", "its second is ENOSPC");
    tap_ok(atoi(kt_req(d9, KS_TRANSACTION_START, 0, "", NULL)) > 0 &&
           atoi(kt_req(d9, KS_TRANSACTION_START, 0, "", NULL)) > 0, "domain 9 opens two");
    kt_req(d8, KS_RESET_WATCHES, 0, "", NULL);
    kt_req(d9, KS_RESET_WATCHES, 0, "", NULL);
    kt_is(kt_req(d0, KS_SET_QUOTA, 0, "8", "node-size|10"), "OK", "domain 8: values up to 10 bytes");
    kt_is(kt_req(d8, KS_WRITE, 0, "a", "01234567890"), "!ENOSPC", "an 11-byte value is ENOSPC");
    kt_is(kt_req(d9, KS_WRITE, 0, "n0", "01234567890"), "OK", "domain 9 writes it");
    kt_is(kt_req(d0, KS_SET_QUOTA, 0, "8", "permissions|1"), "OK", "domain 8: one permission entry");
    kt_is(kt_req(d8, KS_SET_PERMS, 0, "a", "n8|r9"), "!ENOSPC", "two entries are ENOSPC");
    kt_is(kt_req(d9, KS_SET_PERMS, 0, "n0", "n9|r8"), "OK", "domain 9 sets two");
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    kt_is(kt_req(d0, KS_SET_QUOTA, 0, "8", "node-size|0"), "OK", "domain 8: node-size 0 (no limit)");
    kt_is(kt_req(d8, KS_WRITE, 0, "a", big), "OK", "overrides the global 2048: a 2999-byte value");
    kt_is(kt_req(d9, KS_WRITE, 0, "n0", big), "!ENOSPC", "domain 9 is still held to 2048");
}

static void test_refused(void)
{
    kt_is(kt_req(d8, KS_GET_QUOTA, 0, "", NULL), "!EACCES", "a guest cannot list quotas");
    kt_is(kt_req(d8, KS_GET_QUOTA, 0, "8", "nodes"), "!EACCES", "nor read its own");
    kt_is(kt_req(d8, KS_SET_QUOTA, 0, "8", "nodes|100000"), "!EACCES", "nor raise its own");
    kt_is(kt_req(d8, KS_SET_QUOTA, 0, "nodes", "0"), "!EACCES", "nor change a global one");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "8", "nodes"), "4", "its quota is unchanged");
}

/* Each malformed request gets its error; the quotas stay as they were. */
static void test_malformed(void)
{
    static const struct { uint32_t type; const char *a, *b, *want, *what; } cases[] = {
        { KS_SET_QUOTA, "bogus", "1", "!EINVAL", "set-quota: unknown quota name" },
        { KS_GET_QUOTA, "bogus", NULL, "!EINVAL", "get-quota: unknown quota name" },
        { KS_GET_QUOTA, "8", "bogus", "!EINVAL", "get-quota of a domain: unknown quota name" },
        { KS_SET_QUOTA, "nodes", "abc", "!EINVAL", "non-numeric value" },
        { KS_SET_QUOTA, "nodes", "12x", "!EINVAL", "value with trailing garbage" },
        { KS_SET_QUOTA, "nodes", "", "!EINVAL", "empty value" },
        { KS_SET_QUOTA, "nodes", "-1", "!EINVAL", "negative value" },
        { KS_SET_QUOTA, "nodes", " 5", "!EINVAL", "value with a leading blank" },
        { KS_SET_QUOTA, "nodes", "4294967296", "!EINVAL", "value above 2^32-1" },
        { KS_SET_QUOTA, "nodes", "99999999999999999999999", "!EINVAL", "value beyond 64 bits" },
        { KS_SET_QUOTA, "x", "nodes|1", "!EINVAL", "non-numeric domid" },
        { KS_SET_QUOTA, "-1", "nodes|1", "!EINVAL", "negative domid" },
        { KS_SET_QUOTA, "32752", "nodes|1", "!EINVAL", "domid 0x7ff0 (DOMID_FIRST_RESERVED)" },
        { KS_SET_QUOTA, "4294967296", "nodes|1", "!EINVAL", "domid above 32 bits" },
        { KS_GET_QUOTA, "x", "nodes", "!EINVAL", "get-quota: non-numeric domid" },
        { KS_SET_QUOTA, "77", "nodes|1", "!ENOENT", "set-quota: domain not introduced" },
        { KS_GET_QUOTA, "77", "nodes", "!ENOENT", "get-quota: domain not introduced" },
        { KS_SET_QUOTA, "0", "nodes|1", "!EINVAL", "set-quota for dom0 (never limited)" },
        { KS_SET_QUOTA, "nodes", NULL, "!EINVAL", "set-quota without a value" },
        { KS_SET_QUOTA, "8", "nodes|1|2", "!EINVAL", "set-quota with four arguments" },
        { KS_GET_QUOTA, "8", "nodes|x", "!EINVAL", "get-quota with three arguments" },
    };
    struct kt_msg m;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        kt_is(kt_req(d0, cases[i].type, 0, cases[i].a, cases[i].b), cases[i].want, cases[i].what);
    kt_drain(d0);
    tap_ok(kt_send(d0, KS_SET_QUOTA, 0, "nodes\0" "5", 7) == 0 && kt_pop(d0, &m) == 0 &&
           m.type == KS_ERROR && !strcmp(m.body, "EINVAL"), "set-quota without its last NUL: EINVAL");
    kt_drain(d0);
    tap_ok(kt_send(d0, KS_GET_QUOTA, 0, "nodes", 5) == 0 && kt_pop(d0, &m) == 0 &&
           m.type == KS_ERROR && !strcmp(m.body, "EINVAL"), "get-quota without its NUL: EINVAL");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "nodes", NULL), "1000", "the global value survived them");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "8", "nodes"), "4", "domain 8's value survived them");
    kt_is(kt_req(d0, KS_READ, 0, "/local/domain/0/name", NULL), "Domain-0", "the store keeps serving");
    kt_is(kt_req(d0, KS_SET_QUOTA, 0, "9", "nodes|4294967295"), "OK", "2^32-1 is a valid value");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "9", "nodes"), "4294967295", "and reads back");
}

static void test_release(void)
{
    kt_is(kt_req(d0, KS_RELEASE, 0, "9", NULL), "OK", "release domain 9");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "9", "nodes"), "!ENOENT", "its quotas went with it");
    kt_is(kt_req(d0, KS_INTRODUCE, 0, "9", "101|2"), "OK", "introduce domain 9 again");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "9", "nodes"), "1000", "it starts from the global value");
}

/* A store on a journal in `dir`, with connections for dom0 and domain 8. */
static void kt_open(const char *dir)
{
    struct ks_config cfg;

    ks_config_defaults(&cfg);
    cfg.statedir = dir;
    cfg.sync = KS_SYNC_NONE;
    if (ks_store_new(base, &cfg, &s) < 0)
        tap_bail("cannot open the store in %s", dir);
    d0 = ks_conn_new(s, 0, NULL, NULL);
    d8 = ks_conn_new(s, 8, NULL, NULL);
}

static void kt_close(void)
{
    ks_conn_free(d0);
    ks_conn_free(d8);
    ks_store_free(s);
}

static void test_restart(void)
{
    char dir[] = "/tmp/ks-quota.XXXXXX", cmd[64];

    if (!mkdtemp(dir))
        tap_bail("mkdtemp failed");
    kt_open(dir);
    kt_req(d0, KS_INTRODUCE, 0, "8", "100|1");
    kt_home("8");
    kt_is(kt_req(d0, KS_SET_QUOTA, 0, "8", "nodes|3"), "OK", "journaled store: domain 8 gets 3 nodes");
    kt_is(kt_req(d0, KS_SET_QUOTA, 0, "8", "watches|7"), "OK", "and 7 watches");
    kt_is(kt_req(d0, KS_SET_QUOTA, 0, "nodes", "500"), "OK", "a global value set at run time");
    kt_close();
    kt_open(dir);
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "8", "nodes"), "3", "after a restart domain 8's node quota is back");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "8", "watches"), "7", "and its watch quota");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "8", "node-size"), "2048", "values it never had follow the global");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "nodes", NULL), "1000",
          "global values come from the configuration again");
    kt_is(kt_req(d8, KS_WRITE, 0, "a", "1"), "OK", "domain 8 creates its 2nd node");
    kt_is(kt_req(d8, KS_WRITE, 0, "b", "1"), "OK", "its 3rd");
    kt_is(kt_req(d8, KS_WRITE, 0, "c", "1"), "!ENOSPC", "the 4th is ENOSPC: the restored quota is enforced");
    kt_is(kt_req(d0, KS_SET_QUOTA, 0, "8", "nodes|5"), "OK", "domain 8 gets 5 nodes");
    tap_ok(ks_store_compact(s) == 0, "the journal is compacted");
    kt_close();
    kt_open(dir);
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "8", "nodes"), "5", "the snapshot keeps domain 8's node quota");
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "8", "watches"), "7", "and its watch quota");
    kt_is(kt_req(d0, KS_RELEASE, 0, "8", NULL), "OK", "release domain 8");
    kt_close();
    kt_open(dir);
    kt_is(kt_req(d0, KS_GET_QUOTA, 0, "8", "nodes"), "!ENOENT", "after a restart it stays released");
    kt_close();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    tap_ok(system(cmd) == 0, "state directory removed");
}

/* One journal record (ks_journal.c's format) appended to `f`. */
static void kt_record(FILE *f, char op, uint32_t domid, const char *path, const char *data)
{
    uint32_t plen = (uint32_t)strlen(path), dlen = (uint32_t)strlen(data);
    uint32_t blen = 9 + plen + dlen, crc;
    char body[256];

    body[0] = op;
    memcpy(body + 1, &domid, 4);
    memcpy(body + 5, &plen, 4);
    memcpy(body + 9, path, plen);
    memcpy(body + 9 + plen, data, dlen);
    crc = (uint32_t)crc32(0L, (const Bytef *)body, blen);
    fwrite(&blen, 4, 1, f);
    fwrite(&crc, 4, 1, f);
    fwrite(body, 1, blen, f);
}

/* What lets an older keel-stored read a journal with quota records: records with an op it
 * does not know are skipped and the replay goes on. */
static void test_unknown_record(void)
{
    char dir[] = "/tmp/ks-quota.XXXXXX", path[64], cmd[64];
    FILE *f;

    if (!mkdtemp(dir))
        tap_bail("mkdtemp failed");
    snprintf(path, sizeof(path), "%s/journal", dir);
    f = fopen(path, "wb");
    if (!f)
        tap_bail("cannot create %s", path);
    kt_record(f, 'Z', 8, "nodes", "3");
    kt_record(f, 'W', 0, "/after", "yes");
    fclose(f);
    kt_open(dir);
    kt_is(kt_req(d0, KS_READ, 0, "/after", NULL), "yes",
          "a journal record of an unknown kind is skipped, the next one applies");
    kt_close();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    tap_ok(system(cmd) == 0, "state directory removed");
}

int main(void)
{
    struct ks_config cfg;

    base = event_base_new();
    ks_config_defaults(&cfg);
    tap_ok(ks_store_new(base, &cfg, &s) == 0, "store starts without persistence");
    d0 = ks_conn_new(s, 0, NULL, NULL);
    d8 = ks_conn_new(s, 8, NULL, NULL);
    d9 = ks_conn_new(s, 9, NULL, NULL);
    test_global();
    test_domain();
    test_enforced();
    test_refused();
    test_malformed();
    test_release();
    ks_conn_free(d9);
    kt_close();
    test_restart();
    test_unknown_record();
    event_base_free(base);
    return tap_done();
}
