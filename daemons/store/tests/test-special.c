/* test-special.c - permissions of the special watch paths @introduceDomain and
 * @releaseDomain (xenstore.txt: their events go to privileged callers and to domains
 * enabled with SET_PERMS on the special path): the "n0" default, GET_PERMS / SET_PERMS and
 * who may use them, event delivery before and after a grant (plain, depth-1 and
 * @releaseDomain/<domid> watches), malformed requests, RELEASE revoking a domain's entries,
 * and the permissions surviving restarts and a compaction of the journal. */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>
#include <zlib.h>

#include "tap.h"
#include "ks_test.h"

static struct event_base *base;
static struct ks_store *s;
static struct ks_conn *d0, *w0, *d5, *d6;

/* A store on a journal in `dir`, with connections for dom0 (d0 for requests, w0 for its
 * watches: kt_req drops the events on the connection it uses) and domains 5 and 6. */
static void kt_open(const char *dir)
{
    struct ks_config cfg;

    ks_config_defaults(&cfg);
    cfg.statedir = dir;
    cfg.sync = KS_SYNC_NONE;
    if (ks_store_new(base, &cfg, &s) < 0)
        tap_bail("cannot open the store in %s", dir);
    d0 = ks_conn_new(s, 0, NULL, NULL);
    w0 = ks_conn_new(s, 0, NULL, NULL);
    d5 = ks_conn_new(s, 5, NULL, NULL);
    d6 = ks_conn_new(s, 6, NULL, NULL);
}

static void kt_close(void)
{
    ks_conn_free(d0);
    ks_conn_free(w0);
    ks_conn_free(d5);
    ks_conn_free(d6);
    ks_store_free(s);
}

/* The events waiting on `c`, as "path=token " in arrival order. */
static const char *kt_events(struct ks_conn *c)
{
    static char buf[1024];
    struct kt_msg m;
    size_t len = 0;

    buf[0] = '\0';
    while (kt_pop(c, &m) == 0 && len < sizeof(buf))
        if (m.type == KS_WATCH_EVENT)
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s=%s ", m.body,
                                    m.body + strlen(m.body) + 1);
    return buf;
}

/* Domain `id` comes and goes: INTRODUCE then RELEASE from dom0. */
static void kt_cycle(const char *id)
{
    kt_req(d0, KS_INTRODUCE, 0, id, "300|1");
    kt_req(d0, KS_RELEASE, 0, id, NULL);
}

static void test_default(void)
{
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "@releaseDomain", NULL), "n0",
          "@releaseDomain: owned by dom0, no access for others, by default");
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "@introduceDomain", NULL), "n0",
          "@introduceDomain: likewise");
    kt_is(kt_req(d5, KS_GET_PERMS, 0, "@releaseDomain", NULL), "!EACCES",
          "a guest without read access cannot get its permissions");
    kt_is(kt_req(d5, KS_WATCH, 0, "@releaseDomain", "r"), "OK",
          "a guest's watch on @releaseDomain is accepted");
    kt_is(kt_events(d5), "@releaseDomain=r ", "and fires once on registration, like every watch");
    kt_is(kt_req(d5, KS_WATCH, 0, "@releaseDomain/10", "r10"), "OK", "a guest watches @releaseDomain/10");
    kt_is(kt_req(d5, KS_WATCH, 0, "@releaseDomain", "any|1"), "OK", "and @releaseDomain with depth 1");
    kt_is(kt_req(d5, KS_WATCH, 0, "@introduceDomain", "i"), "OK", "and @introduceDomain");
    kt_is(kt_req(w0, KS_WATCH, 0, "@releaseDomain", "r0"), "OK", "dom0 watches @releaseDomain");
    kt_is(kt_req(w0, KS_WATCH, 0, "@introduceDomain", "i0"), "OK", "and @introduceDomain");
    kt_events(d5);
    kt_events(w0);
    kt_cycle("10");
    kt_is(kt_events(w0), "@introduceDomain=i0 @releaseDomain=r0 ",
          "dom0 (privileged) gets the introduce and release events of domain 10");
    kt_is(kt_events(d5), "", "the guest gets none of them by default");
    kt_is(kt_req(d5, KS_SET_PERMS, 0, "@releaseDomain", "n0|r5"), "!EACCES",
          "a guest cannot grant itself read on @releaseDomain");
    kt_is(kt_req(d5, KS_SET_PERMS, 0, "@releaseDomain", "n5"), "!EACCES",
          "nor take it over");
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "@releaseDomain", NULL), "n0", "its permissions are unchanged");
}

static void test_grant(void)
{
    const char *ev;

    kt_is(kt_req(d0, KS_SET_PERMS, 0, "@releaseDomain", "n0|r5"), "OK",
          "dom0 grants domain 5 read on @releaseDomain");
    kt_is(kt_req(d5, KS_GET_PERMS, 0, "@releaseDomain", NULL), "n0,r5",
          "domain 5 may now read its permissions");
    kt_is(kt_req(d6, KS_GET_PERMS, 0, "@releaseDomain", NULL), "!EACCES", "domain 6 still may not");
    kt_is(kt_req(d6, KS_WATCH, 0, "@releaseDomain", "r6"), "OK", "domain 6 watches @releaseDomain");
    kt_events(d6);
    kt_events(d5);
    kt_events(w0);
    kt_cycle("11");
    ev = kt_events(d5);
    tap_ok(strstr(ev, "@releaseDomain=r ") && strstr(ev, "@releaseDomain/11=any ") &&
           !strstr(ev, "r10") && !strstr(ev, "=i "), "domain 5 gets domain 11's release on its plain "
           "and depth-1 watches, not on @releaseDomain/10, and no @introduceDomain (got '%s')", ev);
    kt_is(kt_events(d6), "", "domain 6, not granted, gets nothing");
    kt_is(kt_events(w0), "@introduceDomain=i0 @releaseDomain=r0 ", "dom0 still gets both");
    kt_cycle("10");
    ev = kt_events(d5);
    tap_ok(strstr(ev, "@releaseDomain/10=r10 ") != NULL,
           "domain 10's release reaches domain 5's @releaseDomain/10 watch (got '%s')", ev);
    kt_is(kt_req(d5, KS_SET_PERMS, 0, "@releaseDomain", "n0|b5"), "!EACCES",
          "a reader still cannot change the permissions");
    kt_is(kt_req(d0, KS_SET_PERMS, 0, "@introduceDomain", "n5"), "OK",
          "dom0 makes domain 5 the owner of @introduceDomain");
    kt_is(kt_req(d5, KS_GET_PERMS, 0, "@introduceDomain", NULL), "n5", "the owner reads its permissions");
    kt_is(kt_req(d5, KS_SET_PERMS, 0, "@introduceDomain", "n5|r6"), "OK",
          "the owner grants domain 6 read");
    kt_is(kt_req(d5, KS_SET_PERMS, 0, "@introduceDomain", "n6"), "!EPERM",
          "the owner cannot hand the node to another owner");
    kt_is(kt_req(d6, KS_WATCH, 0, "@introduceDomain", "i6"), "OK", "domain 6 watches @introduceDomain");
    kt_events(d5);
    kt_events(d6);
    kt_req(d0, KS_INTRODUCE, 0, "12", "301|1");
    kt_is(kt_events(d5), "@introduceDomain=i ", "the owner gets the introduce event");
    kt_is(kt_events(d6), "@introduceDomain=i6 ", "the domain it granted read gets it too");
    kt_req(d0, KS_RELEASE, 0, "12", NULL);
    kt_is(kt_events(d6), "", "but not @releaseDomain, where it has no right");
}

static void test_transaction(void)
{
    char id[16];
    uint32_t tx;

    snprintf(id, sizeof(id), "%s", kt_req(d0, KS_TRANSACTION_START, 0, "", NULL));
    tx = (uint32_t)atoi(id);
    kt_is(kt_req(d0, KS_SET_PERMS, tx, "@releaseDomain", "n0|r5|r7"), "OK",
          "set-perms on @releaseDomain inside a transaction");
    kt_is(kt_req(d0, KS_TRANSACTION_END, tx, "F", NULL), "OK", "the transaction is aborted");
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "@releaseDomain", NULL), "n0,r5,r7",
          "the special paths are no part of transactions: the change stands");
    kt_is(kt_req(d0, KS_GET_PERMS, 9999, "@releaseDomain", NULL), "!ENOENT",
          "an unknown transaction id is still ENOENT");
    kt_is(kt_req(d0, KS_SET_PERMS, 0, "@releaseDomain", "n0|r5"), "OK", "back to n0,r5");
}

static void test_malformed(void)
{
    char many[64];

    kt_is(kt_req(d0, KS_SET_PERMS, 0, "@releaseDomain", "x5"), "!EINVAL", "an unknown permission letter");
    kt_is(kt_req(d0, KS_SET_PERMS, 0, "@releaseDomain", "r"), "!EINVAL", "a permission without a domid");
    kt_is(kt_req(d0, KS_SET_PERMS, 0, "@releaseDomain", "r5x"), "!EINVAL", "a domid with trailing text");
    kt_is(kt_req(d0, KS_SET_PERMS, 0, "@releaseDomain", NULL), "!EINVAL", "set-perms without permissions");
    kt_is(kt_req(d0, KS_SET_PERMS, 0, "@bogus", "n0"), "!EINVAL", "set-perms on another @ name");
    kt_is(kt_req(d0, KS_SET_PERMS, 0, "@releaseDomain/5", "n0"), "!EINVAL", "set-perms on @releaseDomain/<domid>");
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "@releaseDomain/5", NULL), "!EINVAL", "get-perms on @releaseDomain/<domid>");
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "@", NULL), "!EINVAL", "get-perms on a bare @");
    kt_is(kt_req(d0, KS_READ, 0, "@releaseDomain", NULL), "!EINVAL", "read of a special path");
    kt_is(kt_req(d0, KS_WRITE, 0, "@releaseDomain", "v"), "!EINVAL", "write of a special path");
    kt_is(kt_req(d0, KS_MKDIR, 0, "@releaseDomain", NULL), "!EINVAL", "mkdir of a special path");
    kt_is(kt_req(d0, KS_RM, 0, "@releaseDomain", NULL), "!EINVAL", "rm of a special path");
    kt_is(kt_req(d0, KS_DIRECTORY, 0, "@releaseDomain", NULL), "!EINVAL", "directory of a special path");
    kt_drain(d0);
    tap_ok(kt_send(d0, KS_SET_PERMS, 0, "@releaseDomain\0n0", 17) == 0, "set-perms without the final NUL is answered");
    {
        struct kt_msg m;
        tap_ok(kt_pop(d0, &m) == 0 && m.type == KS_ERROR && !strcmp(m.body, "EINVAL"), "... with EINVAL");
    }
    kt_is(kt_req(d0, KS_SET_PERMS, 0, "@introduceDomain", "n0"), "OK", "dom0 takes @introduceDomain back");
    kt_is(kt_req(d0, KS_SET_PERMS, 0, "@introduceDomain", "n5"), "OK", "and gives it to domain 5 again");
    snprintf(many, sizeof(many), "n5|r1|r2|r3|r4|r6|r7");
    kt_is(kt_req(d5, KS_SET_PERMS, 0, "@introduceDomain", many), "!ENOSPC",
          "the owner's list above the permissions quota (5) is ENOSPC");
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "@releaseDomain", NULL), "n0,r5", "after all that @releaseDomain is unchanged");
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "@introduceDomain", NULL), "n5", "and @introduceDomain");
    kt_is(kt_req(d0, KS_READ, 0, "/local/domain/0/name", NULL), "Domain-0", "and the store keeps serving");
}

static void test_restart(const char *dir)
{
    kt_is(kt_req(d0, KS_SET_PERMS, 0, "@introduceDomain", "n5|r6"), "OK", "@introduceDomain: n5,r6");
    kt_close();
    kt_open(dir);
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "@releaseDomain", NULL), "n0,r5",
          "after a restart the grant on @releaseDomain is back");
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "@introduceDomain", NULL), "n5,r6",
          "and @introduceDomain's owner and entries");
    kt_req(d5, KS_WATCH, 0, "@releaseDomain", "r");
    kt_req(d6, KS_WATCH, 0, "@releaseDomain", "r6");
    kt_events(d5);
    kt_events(d6);
    kt_cycle("13");
    kt_is(kt_events(d5), "@releaseDomain=r ", "and enforced: domain 5 gets a release event");
    kt_is(kt_events(d6), "", "domain 6 does not");
    tap_ok(ks_store_compact(s) == 0, "the journal is compacted");
    kt_close();
    kt_open(dir);
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "@releaseDomain", NULL), "n0,r5", "the snapshot keeps @releaseDomain's");
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "@introduceDomain", NULL), "n5,r6", "and @introduceDomain's");
}

static void test_release(const char *dir)
{
    kt_is(kt_req(d0, KS_INTRODUCE, 0, "5", "302|1"), "OK", "introduce domain 5");
    kt_is(kt_req(d0, KS_INTRODUCE, 0, "6", "303|1"), "OK", "introduce domain 6");
    kt_is(kt_req(d0, KS_RELEASE, 0, "5", NULL), "OK", "release domain 5");
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "@releaseDomain", NULL), "n0",
          "its read entry on @releaseDomain is revoked");
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "@introduceDomain", NULL), "n0,r6",
          "@introduceDomain, which it owned, passes to dom0; other entries stay");
    kt_close();
    kt_open(dir);
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "@releaseDomain", NULL), "n0", "after a restart the revocation holds");
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "@introduceDomain", NULL), "n0,r6", "on both special paths");
    kt_req(d5, KS_WATCH, 0, "@releaseDomain", "r");
    kt_events(d5);
    kt_req(d0, KS_RELEASE, 0, "6", NULL);
    kt_is(kt_events(d5), "", "a new domain 5 inherits nothing: no release event");
}

/* One journal record (ks_journal.c's format) appended to `f`. */
static void kt_record(FILE *f, char op, const char *path, const char *data, size_t dlen)
{
    uint32_t plen = (uint32_t)strlen(path), domid = 0, blen = 9 + plen + (uint32_t)dlen, crc;
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

/* Hand-made journal: set-perms records on special names, good and bad. */
static void test_journal_records(void)
{
    char dir[] = "/tmp/ks-special.XXXXXX", path[64], cmd[64];
    FILE *f;

    if (!mkdtemp(dir))
        tap_bail("mkdtemp failed");
    snprintf(path, sizeof(path), "%s/journal", dir);
    if (!(f = fopen(path, "wb")))
        tap_bail("cannot create %s", path);
    kt_record(f, 'P', "@bogus", "r5", 3);
    kt_record(f, 'P', "@releaseDomain", "x5", 3);
    kt_record(f, 'P', "@introduceDomain", "n0\0r9", 6);
    kt_record(f, 'W', "/after", "yes", 3);
    fclose(f);
    kt_open(dir);
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "@releaseDomain", NULL), "n0",
          "a journal record with a bad permission string is skipped");
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "@introduceDomain", NULL), "n0,r9",
          "a good set-perms record on @introduceDomain applies");
    kt_is(kt_req(d0, KS_READ, 0, "/after", NULL), "yes", "records on unknown @ names are skipped, replay goes on");
    kt_close();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    tap_ok(system(cmd) == 0, "state directory removed");
}

int main(void)
{
    char dir[] = "/tmp/ks-special.XXXXXX", cmd[64];

    base = event_base_new();
    if (!mkdtemp(dir))
        tap_bail("mkdtemp failed");
    kt_open(dir);
    test_default();
    test_grant();
    test_transaction();
    test_malformed();
    test_restart(dir);
    test_release(dir);
    kt_close();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    tap_ok(system(cmd) == 0, "state directory removed");
    test_journal_records();
    event_base_free(base);
    return tap_done();
}
