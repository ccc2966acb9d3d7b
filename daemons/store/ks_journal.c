/* ks_journal.c - persistence: an append-only journal of committed changes in the state
 * directory, replayed at start-up and rewritten as a snapshot ("compaction") at start-up
 * and every cfg.compact_every records. Record: u32 body length, u32 CRC-32 of the body,
 * body = u8 op, u32 domid, u32 path length, path, data. A torn or corrupt tail (a crash
 * mid-write) ends the replay with a warning naming its offset. Unknown ops are skipped, so
 * an older daemon still reads a newer journal (it loses only what it does not know; set-perms
 * records on "@introduceDomain"/"@releaseDomain" are ignored there as paths not starting
 * with '/').
 * Appends go through a shared mapping of the journal file where the file system reserves
 * space for it (fallocate, in KS_J_CHUNK steps): a record is in the page cache, as after
 * write(2), once the memcpy is done, so a SIGKILL right after loses nothing acknowledged,
 * and the append costs no system call. The reserved tail is zeros: the replay stops there
 * silently (a zero length is no record), the next append overwrites it, a clean close cuts it
 * off. Where fallocate or the mapping is refused, appends are write(2)s as before. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <zlib.h>

#include "klog.h"
#include "kio.h"
#include "ks_int.h"

#define KS_J_BODY_MAX (16u + KS_ABS_PATH_MAX + 2 * KS_PAYLOAD_MAX)
#define KS_J_CHUNK (1u << 20)   /* space reserved ahead of the mapped journal's end */

struct ks_journal {
    int fd;
    char path[4096];
    char tmp[4096];
    unsigned records;
    bool dirty;
    /* Group commit: records of the current event-loop round, written in one write(2) (and one
     * fdatasync with --sync always) by commit_ev before any reply or event leaves. */
    char *buf;
    size_t len, cap;
    struct event *commit_ev;
    /* The mapped journal (NULL: append with write(2)): map_len bytes of the file reserved and
     * mapped, records up to end. */
    char *map;
    size_t map_len, end;
};

/* One record's bytes at rec (8 + 9 + strlen(path) + dlen of them). */
static void ks_j_fill(char *rec, enum ks_jop op, uint32_t domid, const char *path,
                      uint32_t plen, const void *data, size_t dlen)
{
    uint32_t blen = (uint32_t)(9 + plen + dlen), crc;

    rec[8] = (char)op;
    memcpy(rec + 9, &domid, 4);
    memcpy(rec + 13, &plen, 4);
    memcpy(rec + 17, path, plen);
    if (dlen)
        memcpy(rec + 17 + plen, data, dlen);
    crc = (uint32_t)crc32(0L, (const Bytef *)rec + 8, blen);
    memcpy(rec, &blen, 4);
    memcpy(rec + 4, &crc, 4);
}

/* Append one record to `buf` (grown as needed): 0 or -ENOMEM. */
static int ks_j_format(char **buf, size_t *len, size_t *cap, enum ks_jop op, uint32_t domid,
                       const char *path, const void *data, size_t dlen)
{
    uint32_t plen = (uint32_t)strlen(path);
    size_t need = *len + 17 + plen + dlen;

    if (need > *cap) {
        size_t ncap = *cap ? *cap : 4096;
        char *nb;
        while (ncap < need)
            ncap *= 2;
        if (!(nb = realloc(*buf, ncap)))
            return -ENOMEM;
        *buf = nb;
        *cap = ncap;
    }
    ks_j_fill(*buf + *len, op, domid, path, plen, data, dlen);
    *len = need;
    return 0;
}

bool ks_journal_pending(const struct ks_store *s)
{
    return s->journal && s->journal->len;
}

static void ks_j_unmap(struct ks_journal *j)
{
    if (j->map)
        munmap(j->map, j->map_len);
    j->map = NULL;
    j->map_len = 0;
}

/* Reserve and map the journal file up to at least `need` bytes (whole chunks). On any refusal
 * the journal goes on with write(2) (at `end`: the zeros reserved after it are cut off at
 * close or compaction). */
static void ks_j_reserve(struct ks_journal *j, size_t need)
{
    size_t len = (need + KS_J_CHUNK - 1) / KS_J_CHUNK * KS_J_CHUNK;
    char *m;

    if (fallocate(j->fd, 0, (off_t)j->end, (off_t)(len - j->end)) < 0) {
        klog(KLOG_DEBUG, "journal", "%s: no space reserved (%s): appending with write",
             j->path, strerror(errno));
        ks_j_unmap(j);
        return;
    }
    m = j->map ? mremap(j->map, j->map_len, len, MREMAP_MAYMOVE)
               : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, j->fd, 0);
    if (m == MAP_FAILED) {
        klog(KLOG_DEBUG, "journal", "%s: cannot map (%s): appending with write", j->path,
             strerror(errno));
        ks_j_unmap(j);
        return;
    }
    j->map = m;
    j->map_len = len;
}

/* The journal's fd now ends at its last record (`end` bytes): map it for appends. */
static void ks_j_map_from(struct ks_store *s, size_t end)
{
    struct ks_journal *j = s->journal;

    ks_j_unmap(j);
    j->end = end;
    if (!s->cfg.journal_write)
        ks_j_reserve(j, end + 1);
}

/* Append len bytes at the end of the journal: into the mapping, else by write(2). */
static int ks_j_append(struct ks_journal *j, const char *buf, size_t len)
{
    int rc;

    if (j->map && j->end + len > j->map_len)
        ks_j_reserve(j, j->end + len + KS_J_CHUNK);
    if (j->map) {
        memcpy(j->map + j->end, buf, len);
        j->end += len;
        return 0;
    }
    if (lseek(j->fd, (off_t)j->end, SEEK_SET) < 0)
        return -errno;
    rc = kio_write_all(j->fd, buf, len);
    if (rc == 0)
        j->end += len;
    return rc;
}

int ks_journal_commit(struct ks_store *s)
{
    struct ks_journal *j = s->journal;
    int rc;

    if (!j || !j->len)
        return 0;
    rc = ks_j_append(j, j->buf, j->len);
    j->len = 0;
    if (rc < 0) {
        klog(KLOG_ERROR, "journal", "%s: append failed: %s", j->path, strerror(-rc));
        return rc;
    }
    if (s->cfg.sync == KS_SYNC_ALWAYS)
        fdatasync(j->fd);
    else
        j->dirty = true;
    return 0;
}

/* End of an event-loop round that changed the store: the round's records reach the journal,
 * then the replies and events they held back go out. */
static void ks_j_commit_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ks_store *s = arg;

    ks_journal_commit(s);
    for (struct ks_conn *c = s->conns; c; c = c->next)
        if (!c->dead && evbuffer_get_length(c->out) && c->t && c->t->kick)
            c->t->kick(c->tctx);
}

/* Without --sync always, a mapped journal takes each record at once, straight into the
 * mapping: it is in the page cache before the change is even applied, so the replies and
 * events of the round need not wait for a commit at its end. 1 if done so. */
static int ks_j_log_mapped(struct ks_store *s, enum ks_jop op, uint32_t domid, const char *path,
                           const void *data, size_t len)
{
    struct ks_journal *j = s->journal;
    uint32_t plen = (uint32_t)strlen(path);
    size_t rlen = 17 + (size_t)plen + len;

    if (!j->map || j->len || s->cfg.sync == KS_SYNC_ALWAYS)
        return 0;
    if (j->end + rlen > j->map_len)
        ks_j_reserve(j, j->end + rlen + KS_J_CHUNK);
    if (!j->map)
        return 0;
    ks_j_fill(j->map + j->end, op, domid, path, plen, data, len);
    j->end += rlen;
    j->dirty = true;
    return 1;
}

int ks_journal_log(struct ks_store *s, enum ks_jop op, uint32_t domid, const char *path,
                   const void *data, size_t len)
{
    struct ks_journal *j = s->journal;
    bool first;
    int rc;

    if (!j || s->replaying)
        return 0;
    if (ks_j_log_mapped(s, op, domid, path, data, len)) {
        j->records++;
        if (s->cfg.compact_every && j->records >= s->cfg.compact_every)
            ks_store_compact(s);
        return 0;
    }
    first = j->len == 0;
    rc = ks_j_format(&j->buf, &j->len, &j->cap, op, domid, path, data, len);
    if (rc < 0) {
        klog(KLOG_ERROR, "journal", "%s: append failed: %s", j->path, strerror(-rc));
        return rc;
    }
    j->records++;
    if (!j->commit_ev)
        rc = ks_journal_commit(s);      /* no event loop: write through */
    else if (first)
        event_active(j->commit_ev, EV_TIMEOUT, 1);
    if (s->cfg.compact_every && j->records >= s->cfg.compact_every)
        ks_store_compact(s);
    return rc;
}

/* A snapshot being written: records gather in buf and reach fd in large writes. */
struct ks_j_snap {
    int fd;
    char *buf;
    size_t len, cap;
};

#define KS_J_SNAP_FLUSH (256u << 10)

static int ks_j_snap_emit(struct ks_j_snap *sn, enum ks_jop op, uint32_t domid, const char *path,
                          const void *data, size_t len)
{
    int rc = ks_j_format(&sn->buf, &sn->len, &sn->cap, op, domid, path, data, len);

    if (rc == 0 && sn->len >= KS_J_SNAP_FLUSH) {
        rc = kio_write_all(sn->fd, sn->buf, sn->len);
        sn->len = 0;
    }
    return rc;
}

/* Snapshot record data: u32 length of the permission strings, the strings, the value. */
static int ks_j_snap_node(void *opaque, const char *path, const struct ks_node *n)
{
    struct ks_j_snap *sn = opaque;
    unsigned np;
    const struct ks_perm *p = ks_node_perms(n, &np);
    size_t vlen, plen = 0;
    const char *val = ks_node_value(n, &vlen);
    char *buf = malloc(4 + np * 16 + vlen);
    uint32_t pl32;
    int rc;

    if (!buf)
        return -ENOMEM;
    for (unsigned i = 0; i < np; i++)
        plen += (size_t)ks_perm_format(&p[i], buf + 4 + plen, 16) + 1;
    pl32 = (uint32_t)plen;
    memcpy(buf, &pl32, 4);
    if (vlen)
        memcpy(buf + 4 + plen, val, vlen);
    rc = ks_j_snap_emit(sn, KS_J_NODE, 0, path, buf, 4 + plen + vlen);
    free(buf);
    return rc;
}

/* A special watch path's permissions: a set-perms record on its '@' name. */
static int ks_j_snap_special(void *opaque, const char *name, const char *d, size_t len)
{
    return ks_j_snap_emit(opaque, KS_J_PERMS, 0, name, d, len);
}

static int ks_j_snapshot(struct ks_store *s, int fd)
{
    char buf[64];
    struct ks_j_snap sn = { fd, NULL, 0, 0 };
    int rc = ks_tree_walk(s->tree, ks_j_snap_node, &sn);

    for (struct ks_domain *d = s->domains; rc == 0 && d; d = d->next) {
        int n = snprintf(buf, sizeof(buf), "%" PRIu64 " %u", d->gfn, d->port);
        rc = ks_j_snap_emit(&sn, KS_J_INTRO, d->domid, "", buf, (size_t)n);
        for (int q = 0; rc == 0 && q < KS_Q_COUNT; q++) {
            if (!(d->quota_set & (1u << q)))
                continue;
            n = snprintf(buf, sizeof(buf), "%u", d->quota[q]);
            rc = ks_j_snap_emit(&sn, KS_J_QUOTA, d->domid, ks_quota_name(q), buf, (size_t)n);
        }
    }
    if (rc == 0)
        rc = ks_special_snapshot(s, ks_j_snap_special, &sn);
    if (rc == 0 && sn.len)
        rc = kio_write_all(fd, sn.buf, sn.len);
    free(sn.buf);
    return rc;
}

static void ks_j_sync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

int ks_store_compact(struct ks_store *s)
{
    struct ks_journal *j = s->journal;
    int fd, rc;

    if (!j)
        return 0;
    ks_journal_commit(s);       /* the snapshot replaces what the journal held */
    fd = open(j->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        klog(KLOG_ERROR, "journal", "%s: cannot create: %s", j->tmp, strerror(errno));
        return -errno;
    }
    rc = ks_j_snapshot(s, fd);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (rc == 0 && rename(j->tmp, j->path) < 0)
        rc = -errno;
    if (rc < 0) {
        klog(KLOG_ERROR, "journal", "%s: compaction failed: %s", j->path, strerror(-rc));
        close(fd);
        unlink(j->tmp);
        return rc;
    }
    ks_j_sync_dir(s->cfg.statedir);
    ks_j_unmap(j);
    close(j->fd);
    j->fd = fd;     /* the snapshot file is the new journal; keep appending to it */
    j->records = 0;
    j->dirty = false;
    ks_j_map_from(s, (size_t)lseek(fd, 0, SEEK_CUR));
    return 0;
}

int ks_store_sync(struct ks_store *s)
{
    if (!s->journal)
        return 0;
    ks_journal_commit(s);
    s->journal->dirty = false;
    return fdatasync(s->journal->fd) < 0 ? -errno : 0;
}

static void ks_j_replay_node(struct ks_store *s, const char *path, const char *d, size_t len)
{
    struct ks_perm perms[KS_MAX_ARGS];
    unsigned np = 0;
    uint32_t plen;
    struct ks_node *n;

    if (len < 4)
        return;
    memcpy(&plen, d, 4);
    if (plen > len - 4)
        return;
    for (size_t off = 4; off < 4 + plen && np < KS_MAX_ARGS;) {
        const char *e = memchr(d + off, '\0', 4 + plen - off);
        if (!e || ks_perm_parse(d + off, &perms[np]) < 0)
            return;
        np++;
        off = (size_t)(e - d) + 1;
    }
    if (np == 0 || ks_tree_mknode(s->tree, path, 0, &n) < 0)
        return;
    ks_tree_set_perms(s->tree, n, perms, np);
    ks_tree_set_value(s->tree, n, d + 4 + plen, len - 4 - plen);
}

static void ks_j_replay_perms(struct ks_store *s, struct ks_node *n, const char *d, size_t len)
{
    struct ks_perm perms[KS_MAX_ARGS];
    unsigned np = 0;

    for (size_t off = 0; off < len && np < KS_MAX_ARGS;) {
        const char *e = memchr(d + off, '\0', len - off);
        if (!e || ks_perm_parse(d + off, &perms[np]) < 0)
            return;
        np++;
        off = (size_t)(e - d) + 1;
    }
    if (np)
        ks_tree_set_perms(s->tree, n, perms, np);
}

static void ks_j_replay_intro(struct ks_store *s, uint32_t domid, const char *d, size_t len)
{
    char buf[64];
    unsigned long long gfn;
    unsigned port;

    if (len >= sizeof(buf))
        return;
    memcpy(buf, d, len);
    buf[len] = '\0';
    if (sscanf(buf, "%llu %u", &gfn, &port) == 2)
        ks_domain_introduce(s, domid, gfn, port);
}

/* A domain's own quota: path = the quota's name, data = the decimal value. Records for a
 * domain released meanwhile or for names this version does not know are skipped. */
static void ks_j_replay_quota(struct ks_store *s, uint32_t domid, const char *name,
                              const char *d, size_t len)
{
    char buf[16];
    uint32_t v;
    int q = ks_quota_index(name);

    if (q < 0 || len >= sizeof(buf))
        return;
    memcpy(buf, d, len);
    buf[len] = '\0';
    if (ks_parse_u32(buf, &v) == 0)
        ks_quota_set_domain(s, domid, q, v);
}

/* Apply one validated record to the tree (no permission checks: they passed when live). */
static void ks_j_apply(struct ks_store *s, char op, uint32_t domid, const char *path,
                       const char *d, size_t len)
{
    struct ks_node *n = NULL;

    if (op == KS_J_PERMS && path[0] == '@') {
        ks_special_replay(s, path, d, len);     /* an unknown '@' name is skipped */
        return;
    }
    if (op != KS_J_INTRO && op != KS_J_RELEASE && op != KS_J_QUOTA &&
        (path[0] != '/' || !ks_path_valid(path, 0)))
        return;
    switch (op) {
    case KS_J_WRITE:
        n = ks_tree_lookup(s->tree, path);
        if (n || ks_tree_mknode(s->tree, path, domid, &n) == 0)
            ks_tree_set_value(s->tree, n, d, len);
        break;
    case KS_J_MKDIR:
        if (!ks_tree_lookup(s->tree, path))
            ks_tree_mknode(s->tree, path, domid, &n);
        break;
    case KS_J_RM:
        if ((n = ks_tree_lookup(s->tree, path)))
            ks_tree_rm(s->tree, n);
        break;
    case KS_J_PERMS:
        if ((n = ks_tree_lookup(s->tree, path)))
            ks_j_replay_perms(s, n, d, len);
        break;
    case KS_J_NODE: ks_j_replay_node(s, path, d, len); break;
    case KS_J_INTRO: ks_j_replay_intro(s, domid, d, len); break;
    case KS_J_RELEASE: ks_domain_release(s, domid); break;
    case KS_J_QUOTA: ks_j_replay_quota(s, domid, path, d, len); break;
    default: break;
    }
}

/* Space reserved for appends and never written (a mapped journal's tail). */
static bool ks_j_zeros(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return false;
    return true;
}

/* Replay a journal image. Returns the number of records applied. */
static unsigned ks_j_replay(struct ks_store *s, const char *name, const char *buf, size_t size)
{
    size_t off = 0;
    unsigned count = 0;
    char path[KS_ABS_PATH_MAX + 1];

    while (size - off >= 8) {
        uint32_t blen, crc, domid, plen;
        const char *b = buf + off + 8;
        memcpy(&blen, buf + off, 4);
        memcpy(&crc, buf + off + 4, 4);
        if (blen < 9 || blen > KS_J_BODY_MAX || blen > size - off - 8 ||
            (uint32_t)crc32(0L, (const Bytef *)b, blen) != crc)
            break;
        memcpy(&domid, b + 1, 4);
        memcpy(&plen, b + 5, 4);
        if (plen > blen - 9 || plen > KS_ABS_PATH_MAX)
            break;
        memcpy(path, b + 9, plen);
        path[plen] = '\0';
        ks_j_apply(s, b[0], domid, path, b + 9 + plen, blen - 9 - plen);
        off += 8 + blen;
        count++;
    }
    if (off != size && !ks_j_zeros(buf + off, size - off))
        klog(KLOG_WARN, "journal", "%s: offset %zu: torn or corrupt record; ignoring the "
             "last %zu bytes", name, off, size - off);
    return count;
}

static int ks_j_load(struct ks_store *s, const char *name)
{
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *buf;
    size_t got = 0;
    unsigned count;

    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    if (fstat(fd, &st) < 0 || !(buf = malloc((size_t)st.st_size + 1))) {
        close(fd);
        return -ENOMEM;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    s->replaying = true;
    count = ks_j_replay(s, name, buf, got);
    s->replaying = false;
    free(buf);
    klog(KLOG_INFO, "journal", "%s: replayed %u records, %" PRIu64 " nodes", name, count,
         ks_tree_total(s->tree));
    return 0;
}

static void ks_j_timer(evutil_socket_t fd, short what, void *arg)
{
    struct ks_store *s = arg;

    if (s->journal && s->journal->dirty)
        ks_store_sync(s);
}

int ks_journal_open(struct ks_store *s)
{
    struct ks_journal *j;
    int rc;

    if (!s->cfg.statedir)
        return 0;
    if (mkdir(s->cfg.statedir, 0700) < 0 && errno != EEXIST)
        return -errno;
    j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    j->fd = -1;
    if ((size_t)snprintf(j->path, sizeof(j->path), "%s/journal", s->cfg.statedir) >=
            sizeof(j->path) ||
        (size_t)snprintf(j->tmp, sizeof(j->tmp), "%s/journal.new", s->cfg.statedir) >=
            sizeof(j->tmp)) {
        free(j);
        return -ENAMETOOLONG;
    }
    if ((rc = ks_j_load(s, j->path)) < 0) {
        klog(KLOG_ERROR, "journal", "%s: cannot load: %s", j->path, strerror(-rc));
        free(j);
        return rc;
    }
    j->fd = open(j->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->fd < 0) {
        rc = -errno;
        free(j);
        return rc;
    }
    s->journal = j;
    if ((rc = ks_store_compact(s)) < 0)
        return rc;
    if (s->base)
        j->commit_ev = event_new(s->base, -1, 0, ks_j_commit_cb, s);
    if (s->cfg.sync == KS_SYNC_PERIODIC && s->base) {
        struct timeval tv = { 1, 0 };
        s->sync_ev = event_new(s->base, -1, EV_PERSIST, ks_j_timer, s);
        if (s->sync_ev)
            event_add(s->sync_ev, &tv);
    }
    return 0;
}

void ks_journal_close(struct ks_store *s)
{
    if (s->sync_ev)
        event_free(s->sync_ev);
    s->sync_ev = NULL;
    if (!s->journal)
        return;
    ks_journal_commit(s);
    if (s->journal->dirty)
        ks_store_sync(s);
    if (s->journal->commit_ev)
        event_free(s->journal->commit_ev);
    ks_j_unmap(s->journal);
    if (ftruncate(s->journal->fd, (off_t)s->journal->end) < 0)   /* the reserved zeros */
        klog(KLOG_WARN, "journal", "%s: cannot cut the reserved tail: %s", s->journal->path,
             strerror(errno));
    close(s->journal->fd);
    free(s->journal->buf);
    free(s->journal);
    s->journal = NULL;
}
