/* test-proto.c - the protocol layer end to end over in-process connections: basic
 * operations, permissions between domains, quotas, watches, transactions, the partial
 * directory form, domain management, malformed requests and the special watches
 * (@releaseDomain/<domid>, depth 1 on @introduceDomain / @releaseDomain). */
#include "config.h"

#include <event2/event.h>

#include "tap.h"
#include "ks_test.h"

static struct ks_store *s;
static struct ks_conn *d0, *d5, *d6;

static void test_basic(void)
{
    kt_is(kt_req(d0, KS_READ, 0, "/local/domain/0/name", NULL), "Domain-0", "standard node /local/domain/0/name exists");
    kt_is(kt_req(d0, KS_READ, 0, "/tool/xenstored/domid", NULL), "0", "standard node /tool/xenstored/domid exists");
    kt_is(kt_req(d0, KS_WRITE, 0, "/a/b/c", "hello"), "OK", "write creates missing parents");
    kt_is(kt_req(d0, KS_READ, 0, "/a/b/c", NULL), "hello", "read returns the value");
    kt_is(kt_req(d0, KS_READ, 0, "/a/b", NULL), "", "created parents are empty");
    kt_is(kt_req(d0, KS_MKDIR, 0, "/a/d", NULL), "OK", "mkdir");
    kt_is(kt_req(d0, KS_MKDIR, 0, "/a/d", NULL), "OK", "mkdir of an existing node is OK");
    kt_is(kt_req(d0, KS_DIRECTORY, 0, "/a", NULL), "b,d", "directory lists children in order");
    kt_is(kt_req(d0, KS_WRITE, 0, "/a/e", ""), "OK", "empty value");
    kt_is(kt_req(d0, KS_RM, 0, "/a/b", NULL), "OK", "rm removes a subtree");
    kt_is(kt_req(d0, KS_READ, 0, "/a/b/c", NULL), "!ENOENT", "removed node is gone");
    kt_is(kt_req(d0, KS_RM, 0, "/a/nothere", NULL), "OK", "rm of a missing node under an existing parent is OK");
    kt_is(kt_req(d0, KS_RM, 0, "/nope/nothere", NULL), "!ENOENT", "rm with a missing parent is ENOENT");
    kt_is(kt_req(d0, KS_RM, 0, "/", NULL), "!EINVAL", "the root cannot be removed");
    kt_is(kt_req(d0, KS_WRITE, 0, "rel/x", "1"), "OK", "relative write from dom0");
    kt_is(kt_req(d0, KS_READ, 0, "/local/domain/0/rel/x", NULL), "1", "relative paths live under /local/domain/<id>");
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "/a", NULL), "n0", "default permission of dom0's nodes is n0");
    kt_is(kt_req(d0, KS_GET_DOMAIN_PATH, 0, "12", NULL), "/local/domain/12", "get-domain-path");
}

static void test_perms(void)
{
    kt_is(kt_req(d0, KS_MKDIR, 0, "/local/domain/5", NULL), "OK", "dom0 creates a guest's home");
    kt_is(kt_req(d0, KS_SET_PERMS, 0, "/local/domain/5", "n5"), "OK", "dom0 gives it to domain 5");
    kt_is(kt_req(d5, KS_READ, 0, "/local/domain/0/name", NULL), "!EACCES", "a guest cannot read dom0's nodes");
    kt_is(kt_req(d5, KS_WRITE, 0, "/a/x", "1"), "!EACCES", "a guest cannot create under dom0's nodes");
    kt_is(kt_req(d5, KS_WRITE, 0, "data/secret", "s"), "OK", "a guest writes under its home (relative)");
    kt_is(kt_req(d5, KS_GET_PERMS, 0, "data/secret", NULL), "n5", "new nodes are owned by their creator");
    kt_is(kt_req(d6, KS_READ, 0, "/local/domain/5/data/secret", NULL), "!EACCES", "another guest cannot read it");
    kt_is(kt_req(d6, KS_WRITE, 0, "/local/domain/5/data/secret", "x"), "!EACCES", "nor write it");
    kt_is(kt_req(d6, KS_DIRECTORY, 0, "/local/domain/5", NULL), "!EACCES", "nor list the home");
    kt_is(kt_req(d6, KS_RM, 0, "/local/domain/5/data", NULL), "!EACCES", "nor remove it");
    kt_is(kt_req(d5, KS_SET_PERMS, 0, "data/secret", "n5|r6"), "OK", "the owner grants read to domain 6");
    kt_is(kt_req(d6, KS_READ, 0, "/local/domain/5/data/secret", NULL), "s", "domain 6 may read now");
    kt_is(kt_req(d6, KS_WRITE, 0, "/local/domain/5/data/secret", "x"), "!EACCES", "but still not write");
    kt_is(kt_req(d6, KS_SET_PERMS, 0, "/local/domain/5/data/secret", "b6"), "!EACCES", "a reader cannot change permissions");
    kt_is(kt_req(d5, KS_SET_PERMS, 0, "data/secret", "n6"), "!EPERM", "a guest cannot hand a node to another owner");
    kt_is(kt_req(d5, KS_SET_PERMS, 0, "data/secret", "n5|b6"), "OK", "both = read and write");
    kt_is(kt_req(d6, KS_WRITE, 0, "/local/domain/5/data/secret", "by6"), "OK", "domain 6 may write now");
    kt_is(kt_req(d5, KS_SET_PERMS, 0, "data/secret", "r5"), "OK", "owner letter is everybody's default");
    kt_is(kt_req(d6, KS_READ, 0, "/local/domain/5/data/secret", NULL), "by6", "default read for unlisted domains");
    kt_is(kt_req(d5, KS_SET_PERMS, 0, "data/secret", "x5"), "!EINVAL", "unknown permission letter");
    kt_is(kt_req(d0, KS_SET_PERMS, 0, "/local/domain/5/data/secret", "n0"), "OK", "dom0 takes the node back");
    kt_is(kt_req(d5, KS_READ, 0, "data/secret", NULL), "!EACCES", "the former owner lost access");
    kt_is(kt_req(d5, KS_RESTRICT, 0, "0", NULL), "!EACCES", "a guest cannot change its identity");
    kt_is(kt_req(d5, KS_INTRODUCE, 0, "9", "1|2"), "!EACCES", "a guest cannot introduce domains");
    kt_is(kt_req(d5, KS_CONTROL, 0, "check", NULL), "!EACCES", "a guest cannot use control");
}

static void test_quota(void)
{
    char big[3000], path[64];
    const char *r = "OK";
    int i;

    kt_is(kt_req(d0, KS_CONTROL, 0, "quota", "nodes|8"), "OK", "control quota sets the node quota");
    for (i = 0; i < 20 && strcmp(r, "OK") == 0; i++) {
        snprintf(path, sizeof(path), "q/n%d", i);
        r = kt_req(d5, KS_WRITE, 0, path, "v");
    }
    kt_is(r, "!ENOSPC", "node quota: creating beyond it fails with ENOSPC");
    tap_ok(i > 2 && i < 9, "node quota stops the guest after a few nodes (%d writes)", i);
    kt_is(kt_req(d5, KS_WRITE, 0, "q/n0", "again"), "OK", "rewriting an existing node still works at quota");
    kt_is(kt_req(d5, KS_RM, 0, "q", NULL), "OK", "removing nodes frees quota");
    kt_is(kt_req(d5, KS_WRITE, 0, "q/n0", "v"), "OK", "and creation works again");
    kt_is(kt_req(d0, KS_CONTROL, 0, "quota", "nodes|1000"), "OK", "restore the node quota");
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    kt_is(kt_req(d5, KS_WRITE, 0, "big", big), "!ENOSPC", "node-size quota (2048) refuses a 2999-byte value");
    kt_is(kt_req(d0, KS_WRITE, 0, "/big", big), "OK", "dom0 is not limited");
    kt_is(kt_req(d0, KS_CONTROL, 0, "quota", "watches|2"), "OK", "watch quota 2");
    kt_is(kt_req(d5, KS_WATCH, 0, "w1", "t"), "OK", "watch 1");
    kt_is(kt_req(d5, KS_WATCH, 0, "w2", "t"), "OK", "watch 2");
    kt_is(kt_req(d5, KS_WATCH, 0, "w3", "t"), "!E2BIG", "watch quota: the third watch is E2BIG");
    {
        struct ks_conn *d5b = ks_conn_new(s, 5, NULL, NULL);
        kt_is(kt_req(d5b, KS_WATCH, 0, "w4", "t"), "!E2BIG", "the watch quota counts all of a domain's connections");
        kt_is(kt_req(d6, KS_WATCH, 0, "w4", "t"), "OK", "another domain has its own watch quota");
        kt_req(d6, KS_RESET_WATCHES, 0, "", NULL);
        ks_conn_free(d5b);
    }
    kt_is(kt_req(d5, KS_RESET_WATCHES, 0, "", NULL), "OK", "reset-watches");
    kt_is(kt_req(d5, KS_WATCH, 0, "w3", "t"), "OK", "watches can be set again after reset");
    kt_req(d5, KS_RESET_WATCHES, 0, "", NULL);
    kt_is(kt_req(d0, KS_CONTROL, 0, "quota", "transactions|1"), "OK", "transaction quota 1");
    r = kt_req(d5, KS_TRANSACTION_START, 0, "", NULL);
    tap_ok(atoi(r) > 0, "first transaction starts (id %s)", r);
    kt_is(kt_req(d5, KS_TRANSACTION_START, 0, "", NULL), "!ENOSPC", "transaction quota: the second is ENOSPC");
    kt_req(d5, KS_RESET_WATCHES, 0, "", NULL);
    kt_is(kt_req(d5, KS_SET_PERMS, 0, "q/n0", "n5|r1|r2|r3|r4|r6"), "!ENOSPC", "permission-list quota (5)");
    kt_is(kt_req(d0, KS_CONTROL, 0, "quota", "bogus|1"), "!EINVAL", "unknown quota name");
}

static void test_watches(void)
{
    struct ks_conn *w0 = ks_conn_new(s, 0, NULL, NULL);
    struct kt_msg m;
    int seen = 0;

    kt_is(kt_req(w0, KS_WATCH, 0, "/w", "tok"), "OK", "dom0 watches /w");
    tap_ok(kt_pop(w0, &m) == 0 && m.type == KS_WATCH_EVENT && !strcmp(m.body, "/w") &&
           !strcmp(m.body + 3, "tok"), "the watch fires once on registration");
    kt_is(kt_req(w0, KS_WATCH, 0, "/w", "tok"), "!EEXIST", "the same watch twice is EEXIST");
    kt_drain(w0);
    kt_req(d0, KS_WRITE, 0, "/x", "1");
    tap_ok(kt_pop(w0, &m) < 0, "unrelated writes do not fire");
    kt_req(d0, KS_WRITE, 0, "/w/a/b", "1");
    tap_ok(kt_pop(w0, &m) == 0 && m.type == KS_WATCH_EVENT && !strcmp(m.body, "/w/a/b") &&
           !strcmp(m.body + 7, "tok"), "a write below the watched node fires with the node's path");
    tap_ok(kt_pop(w0, &m) < 0, "exactly once");
    kt_is(kt_req(d5, KS_WATCH, 0, "/w", "g"), "OK", "guest 5 watches /w too");
    kt_drain(d5);
    kt_req(d0, KS_WRITE, 0, "/w/c", "2");
    tap_ok(kt_pop(d5, &m) < 0, "no event for a node the guest cannot read");
    kt_req(d0, KS_SET_PERMS, 0, "/w/c", "n0|r5");
    tap_ok(kt_pop(d5, &m) == 0 && !strcmp(m.body, "/w/c"), "permission change fires, once readable");
    kt_is(kt_req(d5, KS_WATCH, 0, "rel", "r"), "OK", "relative watch");
    kt_req(d5, KS_WRITE, 0, "rel/k", "1");
    kt_drain(d5);
    kt_req(d0, KS_WRITE, 0, "/local/domain/5/rel/k", "2");
    tap_ok(kt_pop(d5, &m) == 0 && !strcmp(m.body, "rel/k") && !strcmp(m.body + 6, "r"),
           "relative watches report relative paths (got '%s')", m.body);
    kt_is(kt_req(w0, KS_WATCH, 0, "/w/deep/er", "d"), "OK", "watch below a node");
    kt_req(d0, KS_MKDIR, 0, "/w/deep/er", NULL);
    kt_drain(w0);
    kt_req(d0, KS_RM, 0, "/w/deep", NULL);
    while (kt_pop(w0, &m) == 0)
        if (m.type == KS_WATCH_EVENT && !strcmp(m.body, "/w/deep/er") && !strcmp(m.body + 11, "d"))
            seen = 1;
    tap_ok(seen, "removing an ancestor fires watches set below it, on their own path");
    kt_is(kt_req(w0, KS_UNWATCH, 0, "/w/deep/er", "d"), "OK", "unwatch");
    kt_is(kt_req(w0, KS_WATCH, 0, "/w", "depth1|1"), "OK", "watch with depth 1");
    kt_is(kt_req(w0, KS_WATCH, 0, "/w", "bad|x"), "!EINVAL", "a non-numeric depth");
    kt_drain(w0);
    kt_req(d0, KS_WRITE, 0, "/w/a/b", "3");
    seen = 0;
    while (kt_pop(w0, &m) == 0)
        seen += !strcmp(m.body + 7, "depth1");
    tap_ok(seen == 0, "depth 1 ignores a grandchild");
    kt_req(d0, KS_WRITE, 0, "/w/a", "3");
    seen = 0;
    while (kt_pop(w0, &m) == 0)
        seen += !strcmp(m.body + 5, "depth1");
    tap_ok(seen == 1, "depth 1 fires for a child");
    kt_req(w0, KS_UNWATCH, 0, "/w", "depth1");
    kt_is(kt_req(w0, KS_UNWATCH, 0, "/w/deep/er", "d"), "!ENOENT", "unwatch twice is ENOENT");
    kt_is(kt_req(w0, KS_WATCH, 0, "@introduceDomain", "i"), "OK", "special watch @introduceDomain");
    kt_is(kt_req(w0, KS_WATCH, 0, "@releaseDomain", "r"), "OK", "special watch @releaseDomain");
    kt_is(kt_req(w0, KS_WATCH, 0, "@bad name", "r"), "!EINVAL", "invalid special watch name");
    kt_drain(w0);
    kt_is(kt_req(d0, KS_INTRODUCE, 0, "7", "4242|3"), "OK", "introduce (no ring hooks installed)");
    tap_ok(kt_pop(w0, &m) == 0 && m.type == KS_WATCH_EVENT && !strcmp(m.body, "@introduceDomain") &&
           !strcmp(m.body + 17, "i"), "introduce fires @introduceDomain");
    kt_is(kt_req(d0, KS_INTRODUCE, 0, "7", "4243|3"), "!EEXIST", "introducing again with another ring is EEXIST");
    kt_is(kt_req(d0, KS_IS_DOMAIN_INTRODUCED, 0, "7", NULL), "T", "is-introduced T");
    kt_is(kt_req(d0, KS_GET_FEATURE, 0, "", NULL), "7", "get-feature: reconnection, error, watch depth");
    kt_is(kt_req(d0, KS_SET_FEATURE, 0, "7", "1"), "OK", "set-feature narrows a domain's features");
    kt_is(kt_req(d0, KS_GET_FEATURE, 0, "7", NULL), "1", "get-feature of that domain");
    kt_is(kt_req(d0, KS_SET_FEATURE, 0, "7", "8"), "!EINVAL", "set-feature beyond the store's features");
    kt_is(kt_req(d0, KS_GET_FEATURE, 0, "99", NULL), "!ENOENT", "get-feature of an unknown domain");
    kt_is(kt_req(d5, KS_GET_FEATURE, 0, "7", NULL), "!EACCES", "a guest cannot ask about another domain");
    kt_is(kt_req(d5, KS_SET_FEATURE, 0, "5", "0"), "!EACCES", "nor set features");
    kt_is(kt_req(d0, KS_IS_DOMAIN_INTRODUCED, 0, "8", NULL), "F", "is-introduced F");
    kt_is(kt_req(d0, KS_RESUME, 0, "7", NULL), "OK", "resume of an introduced domain");
    kt_is(kt_req(d0, KS_SET_TARGET, 0, "7", "5"), "OK", "set-target");
    kt_req(d0, KS_WRITE, 0, "/local/domain/7/own", "x");
    kt_req(d0, KS_SET_PERMS, 0, "/local/domain/7/own", "n7|r5");
    kt_req(d0, KS_WRITE, 0, "/shared7", "x");
    kt_req(d0, KS_SET_PERMS, 0, "/shared7", "n0|b7|r5");
    kt_drain(w0);
    kt_is(kt_req(d0, KS_RELEASE, 0, "7", NULL), "OK", "release");
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "/local/domain/7/own", NULL), "n0,r5",
          "a released domain's nodes pass to dom0, other entries stay");
    kt_is(kt_req(d0, KS_GET_PERMS, 0, "/shared7", NULL), "n0,r5",
          "a released domain's permission entries are revoked");
    tap_ok(kt_pop(w0, &m) == 0 && m.type == KS_WATCH_EVENT && !strcmp(m.body, "@releaseDomain"),
           "release fires @releaseDomain");
    kt_is(kt_req(d0, KS_RELEASE, 0, "7", NULL), "!ENOENT", "release twice is ENOENT");
    kt_req(d5, KS_RESET_WATCHES, 0, "", NULL);
    ks_conn_free(w0);
}

static void test_transactions(void)
{
    char id[16], id2[16];
    uint32_t tx, tx2;

    kt_req(d0, KS_WRITE, 0, "/t/x", "0");
    snprintf(id, sizeof(id), "%s", kt_req(d0, KS_TRANSACTION_START, 0, "", NULL));
    tx = (uint32_t)atoi(id);
    tap_ok(tx > 0, "transaction start returns an id (%s)", id);
    kt_is(kt_req(d0, KS_READ, tx, "/t/x", NULL), "0", "read inside the transaction");
    kt_is(kt_req(d0, KS_WRITE, tx, "/t/x", "tx"), "OK", "write inside the transaction");
    kt_is(kt_req(d0, KS_READ, 0, "/t/x", NULL), "0", "the write is invisible outside before commit");
    kt_is(kt_req(d0, KS_READ, tx, "/t/x", NULL), "tx", "and visible inside");
    kt_is(kt_req(d6, KS_WRITE, 0, "/t/x", "6"), "!EACCES", "(a guest cannot interfere)");
    kt_is(kt_req(d0, KS_WRITE, 0, "/t/x", "other"), "OK", "a concurrent write outside");
    kt_is(kt_req(d0, KS_TRANSACTION_END, tx, "T", NULL), "!EAGAIN", "commit after a conflicting write is EAGAIN");
    kt_is(kt_req(d0, KS_READ, 0, "/t/x", NULL), "other", "the failed transaction changed nothing");
    kt_is(kt_req(d0, KS_READ, tx, "/t/x", NULL), "!ENOENT", "the transaction is gone after EAGAIN");
    snprintf(id, sizeof(id), "%s", kt_req(d0, KS_TRANSACTION_START, 0, "", NULL));
    tx = (uint32_t)atoi(id);
    kt_req(d0, KS_READ, tx, "/t/x", NULL);
    kt_is(kt_req(d0, KS_WRITE, tx, "/t/x", "retry"), "OK", "retry writes");
    kt_is(kt_req(d0, KS_WRITE, tx, "/t/new/node", "n"), "OK", "retry creates a node");
    kt_is(kt_req(d0, KS_WRITE, 0, "/elsewhere", "z"), "OK", "an unrelated write outside does not conflict");
    kt_is(kt_req(d0, KS_TRANSACTION_END, tx, "T", NULL), "OK", "the retry commits");
    kt_is(kt_req(d0, KS_READ, 0, "/t/x", NULL), "retry", "committed value visible");
    kt_is(kt_req(d0, KS_READ, 0, "/t/new/node", NULL), "n", "committed creation visible");
    snprintf(id2, sizeof(id2), "%s", kt_req(d0, KS_TRANSACTION_START, 0, "", NULL));
    tx2 = (uint32_t)atoi(id2);
    kt_req(d0, KS_RM, tx2, "/t/new", NULL);
    kt_is(kt_req(d0, KS_TRANSACTION_END, tx2, "F", NULL), "OK", "abort");
    kt_is(kt_req(d0, KS_READ, 0, "/t/new/node", NULL), "n", "an aborted removal changed nothing");
    kt_is(kt_req(d0, KS_TRANSACTION_END, 9999, "T", NULL), "!ENOENT", "unknown transaction id");
    kt_is(kt_req(d5, KS_READ, tx2, "/t/x", NULL), "!ENOENT", "another connection's transaction id is unknown");
    snprintf(id2, sizeof(id2), "%s", kt_req(d0, KS_TRANSACTION_START, 0, "", NULL));
    tx2 = (uint32_t)atoi(id2);
    kt_is(kt_req(d0, KS_TRANSACTION_END, tx2, "X", NULL), "!EINVAL", "end needs T or F");
    kt_is(kt_req(d0, KS_TRANSACTION_START, tx2, "", NULL), "!EBUSY", "no nested transactions");
    kt_req(d0, KS_TRANSACTION_END, tx2, "F", NULL);
    {
        const char *r = "OK";
        int i;
        kt_req(d0, KS_MKDIR, 0, "/local/domain/6", NULL);
        kt_req(d0, KS_SET_PERMS, 0, "/local/domain/6", "n6");
        snprintf(id2, sizeof(id2), "%s", kt_req(d6, KS_TRANSACTION_START, 0, "", NULL));
        tx2 = (uint32_t)atoi(id2);
        for (i = 0; i < 2000 && !strcmp(r, "OK"); i++)
            r = kt_req(d6, KS_WRITE, tx2, "many", "x");
        kt_is(r, "!ENOSPC", "a guest's transaction is bounded in the changes it logs");
        tap_ok(i > 1000, "... after about a thousand (%d)", i);
        kt_is(kt_req(d6, KS_TRANSACTION_END, tx2, "F", NULL), "OK", "and can still be aborted");
        snprintf(id2, sizeof(id2), "%s", kt_req(d6, KS_TRANSACTION_START, 0, "", NULL));
        tx2 = (uint32_t)atoi(id2);
        r = "!ENOENT";
        for (i = 0; i < 6000 && !strcmp(r, "!ENOENT"); i++) {
            char p[32];
            snprintf(p, sizeof(p), "absent%d", i);
            r = kt_req(d6, KS_READ, tx2, p, NULL);
        }
        kt_is(r, "!ENOSPC", "and in the nodes it touches");
        tap_ok(i > 4000, "... after about four thousand (%d)", i);
        kt_is(kt_req(d6, KS_READ, tx2, "many", NULL), "!ENOSPC", "a new node is refused, the transaction lives on");
        kt_is(kt_req(d6, KS_TRANSACTION_END, tx2, "T", NULL), "OK", "and commits (nothing changed)");
    }
}

static void test_dirpart(void)
{
    char name[200], all[65536];
    size_t alllen = 0, off = 0;
    int n = 0, done = 0, rounds = 0;
    struct kt_msg m;

    memset(name, 'k', sizeof(name));
    for (int i = 0; i < 60; i++) {
        snprintf(name + 150, 50, "%03d", i);
        char full[300];
        snprintf(full, sizeof(full), "/dp/%s", name);
        kt_req(d0, KS_WRITE, 0, full, "");
    }
    kt_is(kt_req(d0, KS_DIRECTORY, 0, "/dp", NULL), "!E2BIG", "a listing above 4096 bytes is E2BIG");
    while (!done && rounds++ < 20) {
        char req[64];
        int l = snprintf(req, sizeof(req), "/dp%c%zu", '\0', off);
        kt_drain(d0);
        kt_send(d0, KS_DIRECTORY_PART, 0, req, (size_t)l + 1);
        if (kt_pop(d0, &m) < 0 || m.type != KS_DIRECTORY_PART)
            break;
        size_t gl = strlen(m.body) + 1, dl = m.len - gl;
        /* an extra NUL (an empty name) marks the end of the listing */
        if (dl >= 1 && m.body[m.len - 1] == '\0' && (dl == 1 || m.body[m.len - 2] == '\0')) {
            done = 1;
            dl--;
        }
        memcpy(all + alllen, m.body + gl, dl);
        alllen += dl;
        off += dl;
    }
    for (size_t i = 0; i < alllen; i++)
        n += all[i] == '\0';
    tap_ok(done && n == 60, "directory-part returns all 60 children in %d chunks", rounds);
    kt_is(kt_req(d0, KS_DIRECTORY_PART, 0, "/dp", "x"), "!EINVAL", "directory-part needs a numeric offset");
}

static void test_malformed(void)
{
    char big[4200];
    struct ks_conn *c;
    struct ks_hdr h = { KS_READ, 1, 0, 5000 };

    kt_is(kt_req(d0, KS_READ, 0, "/a b", NULL), "!EINVAL", "space in a path");
    kt_is(kt_req(d0, KS_READ, 0, "/a//b", NULL), "!EINVAL", "double slash");
    kt_is(kt_req(d0, KS_READ, 0, "/a/", NULL), "!EINVAL", "trailing slash");
    kt_is(kt_req(d0, KS_READ, 0, "", NULL), "!EINVAL", "empty path");
    memset(big, 'a', sizeof(big));
    big[0] = '/';
    big[3100] = '\0';
    kt_is(kt_req(d0, KS_READ, 0, big, NULL), "!EINVAL", "path longer than 3072");
    kt_drain(d0);
    tap_ok(kt_send(d0, KS_READ, 0, "/a", 2) == 0, "request without its NUL is answered");
    {
        struct kt_msg m;
        tap_ok(kt_pop(d0, &m) == 0 && m.type == KS_ERROR && !strcmp(m.body, "EINVAL"),
               "... with EINVAL");
    }
    kt_is(kt_req(d0, 99, 0, "/a", NULL), "!ENOSYS", "unknown message type is ENOSYS");
    kt_is(kt_req(d0, KS_WATCH_EVENT, 0, "/a", "t"), "!EINVAL", "clients cannot send WATCH_EVENT");
    kt_is(kt_req(d0, KS_ERROR, 0, "EINVAL", NULL), "!EINVAL", "clients cannot send ERROR");
    kt_is(kt_req(d0, KS_READ, 0, "/a", "extra"), "!EINVAL", "too many arguments");
    kt_is(kt_req(d0, KS_INTRODUCE, 0, "x", "1|2"), "!EINVAL", "introduce with a bad domid");
    c = ks_conn_new(s, 0, NULL, NULL);
    tap_ok(ks_conn_input(c, &h, sizeof(h)) < 0, "a header announcing more than 4096 bytes closes the connection");
    ks_conn_free(c);
    c = ks_conn_new(s, 0, NULL, NULL);
    h.len = 3;
    tap_ok(ks_conn_input(c, &h, sizeof(h)) == 0 && evbuffer_get_length(ks_conn_output(c)) == 0,
           "a partial request waits for the rest");
    tap_ok(ks_conn_input(c, "/a", 3) == 0 && evbuffer_get_length(ks_conn_output(c)) > 0,
           "and is answered when complete");
    ks_conn_free(c);
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

static void test_special_watches(void)
{
    struct ks_conn *w0 = ks_conn_new(s, 0, NULL, NULL);
    const char *ev;

    kt_is(kt_req(w0, KS_WATCH, 0, "@releaseDomain/10", "r10"), "OK", "watch @releaseDomain/10");
    kt_is(kt_events(w0), "@releaseDomain/10=r10 ", "it fires once on registration, with its own path");
    kt_is(kt_req(w0, KS_WATCH, 0, "@releaseDomain", "any|1"), "OK", "watch @releaseDomain with depth 1");
    kt_is(kt_req(w0, KS_WATCH, 0, "@releaseDomain", "plain"), "OK", "watch @releaseDomain");
    kt_is(kt_req(w0, KS_WATCH, 0, "@introduceDomain", "intro|1"), "OK", "watch @introduceDomain with depth 1");
    kt_events(w0);
    kt_req(d0, KS_INTRODUCE, 0, "10", "200|1");
    kt_req(d0, KS_INTRODUCE, 0, "11", "201|1");
    kt_is(kt_events(w0), "@introduceDomain/10=intro @introduceDomain/11=intro ",
          "@introduceDomain with depth 1 reports the domid");
    kt_is(kt_req(d0, KS_RELEASE, 0, "11", NULL), "OK", "release domain 11");
    ev = kt_events(w0);
    tap_ok(strstr(ev, "@releaseDomain=plain ") && strstr(ev, "@releaseDomain/11=any ") &&
           !strstr(ev, "r10"), "domain 11's release fires the plain and depth-1 watches, not "
           "@releaseDomain/10 (got '%s')", ev);
    kt_is(kt_req(d0, KS_RELEASE, 0, "10", NULL), "OK", "release domain 10");
    ev = kt_events(w0);
    tap_ok(strstr(ev, "@releaseDomain/10=r10 ") && strstr(ev, "@releaseDomain/10=any ") &&
           strstr(ev, "@releaseDomain=plain "), "domain 10's release fires @releaseDomain/10 (got '%s')", ev);
    kt_req(d0, KS_RELEASE, 0, "10", NULL);
    kt_is(kt_events(w0), "", "releasing an unknown domain fires nothing");
    kt_is(kt_req(w0, KS_UNWATCH, 0, "@releaseDomain/10", "r10"), "OK", "unwatch @releaseDomain/10");
    ks_conn_free(w0);
}

int main(void)
{
    struct event_base *base = event_base_new();
    struct ks_config cfg;

    ks_config_defaults(&cfg);
    tap_ok(ks_store_new(base, &cfg, &s) == 0, "store starts without persistence");
    d0 = ks_conn_new(s, 0, NULL, NULL);
    d5 = ks_conn_new(s, 5, NULL, NULL);
    d6 = ks_conn_new(s, 6, NULL, NULL);
    test_basic();
    test_perms();
    test_quota();
    test_watches();
    test_transactions();
    test_dirpart();
    test_malformed();
    test_special_watches();
    ks_store_free(s);
    event_base_free(base);
    return tap_done();
}
