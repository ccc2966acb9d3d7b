/* kp_main.c - keel-policyc: compiles FLASK policy source into the Xen binary format, or writes
 * the C header of class/permission numbers.
 *
 *   keel-policyc [-c VERSION] [-o OUT] [--m4 [-D NAME[=VAL]]...] FILE...
 *   keel-policyc --header -o keel-flask-av.h security_classes initial_sids access_vectors
 *
 * Several files, or --m4, run m4 -s over them in order first (as Xen's policy build does, with
 * -D self_contained_policy); m4's #line marks keep error positions in the original files. */
#include "kp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/klog.h"

struct opts {
    uint32_t version;
    const char *out;
    int header, m4;
    const char *defs[64];
    int ndefs;
    char **files;
    int nfiles;
};

static int usage(void)
{
    fprintf(stderr, "usage: keel-policyc [-c VERSION] [-o OUT] [--m4 [-D NAME[=VAL]]...] FILE...\n"
                    "       keel-policyc --header -o OUT FILE...\n");
    return 2;
}

static int slurp(FILE *f, char **buf, size_t *len)
{
    size_t cap = 65536, n = 0, got;
    char *b = malloc(cap);

    if (!b)
        return -1;
    while ((got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(b, cap * 2);

            if (!nb) {
                free(b);
                return -1;
            }
            b = nb;
            cap *= 2;
        }
    }
    *buf = b;
    *len = n;
    return 0;
}

/* Runs m4 -s over the files; the output is the policy source. */
static int run_m4(const struct opts *o, char **buf, size_t *len)
{
    char *argv[160];
    int n = 0, pfd[2], status, rc;
    pid_t pid;
    FILE *f;

    argv[n++] = (char *)"m4";
    argv[n++] = (char *)"-s";
    argv[n++] = (char *)"-D";
    argv[n++] = (char *)"self_contained_policy";
    for (int i = 0; i < o->ndefs && n < 120; i++) {
        argv[n++] = (char *)"-D";
        argv[n++] = (char *)o->defs[i];
    }
    for (int i = 0; i < o->nfiles && n < 158; i++)
        argv[n++] = o->files[i];
    argv[n] = NULL;
    if (pipe(pfd))
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execvp("m4", argv);
        _exit(127);
    }
    close(pfd[1]);
    f = fdopen(pfd[0], "r");
    rc = f ? slurp(f, buf, len) : -1;
    if (f)
        fclose(f);
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
        fprintf(stderr, "keel-policyc: m4 failed\n");
        if (!rc)
            free(*buf);
        return -1;
    }
    return rc;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    o->version = 30;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-c") && i + 1 < argc) {
            o->version = (uint32_t)atoi(argv[++i]);
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            o->out = argv[++i];
        } else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
            if (strcasecmp(argv[++i], "xen")) {
                fprintf(stderr, "keel-policyc: only the Xen target is supported\n");
                return -1;
            }
        } else if (!strcmp(argv[i], "--m4")) {
            o->m4 = 1;
        } else if (!strcmp(argv[i], "-D") && i + 1 < argc && o->ndefs < 64) {
            o->defs[o->ndefs++] = argv[++i];
        } else if (!strcmp(argv[i], "--header")) {
            o->header = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return -1;
        } else {
            o->files = &argv[i];
            o->nfiles = argc - i;
            break;
        }
    }
    if (!o->nfiles || (o->version != 24 && o->version != 30)) {
        if (o->nfiles) /* the Xen target has exactly these two formats */
            fprintf(stderr, "keel-policyc: policy version %u unsupported (Xen: 24 or 30)\n",
                    o->version);
        return -1;
    }
    return 0;
}

static int load_source(const struct opts *o, char **src, size_t *len)
{
    FILE *f;
    int rc;

    if (o->m4 || o->nfiles > 1)
        return run_m4(o, src, len);
    f = strcmp(o->files[0], "-") ? fopen(o->files[0], "r") : stdin;
    if (!f) {
        fprintf(stderr, "keel-policyc: %s: %s\n", o->files[0], strerror(errno));
        return -1;
    }
    rc = slurp(f, src, len);
    if (f != stdin)
        fclose(f);
    return rc;
}

static int check_complete(struct kp_db *db, int header)
{
    for (uint32_t i = 0; i < db->nclasses; i++)
        if (!db->classes[i].defined)
            kp_error(db, "policy", 0, "class %s is declared but has no access vector",
                     db->classes[i].name);
    for (uint32_t i = 0; !header && i < db->nisids; i++)
        if (!db->isids[i].has_ctx)
            fprintf(stderr, "keel-policyc: note: initial SID %s has no context, omitted\n",
                    db->isids[i].name);
    return db->errors ? -1 : 0;
}

/* OUT exists and is not a regular file (a character device, a pipe, a socket). */
static int out_is_special(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && !S_ISREG(st.st_mode);
}

int main(int argc, char **argv)
{
    struct opts o;
    struct kp_db db;
    char *src = NULL, tmp[4096] = "";
    size_t len = 0;
    FILE *out;
    int rc = 1;

    klog_init("keel-policyc", KLOG_WARN, NULL);
    if (parse_args(argc, argv, &o))
        return usage();
    if (load_source(&o, &src, &len))
        return 1;
    kp_db_init(&db);
    if (kp_parse(&db, src, len, o.nfiles == 1 && !o.m4 ? o.files[0] : "policy.conf") ||
        check_complete(&db, o.header) || (!o.header && kp_check_neverallow(&db)))
        goto done;
    /* write OUT.tmp and rename it, so that a failed run never leaves a plausible OUT; an
     * OUT that exists and is no regular file (/dev/null, a pipe) is written in place: renaming
     * over it would replace the device with a file */
    if (o.out && !out_is_special(o.out))
        snprintf(tmp, sizeof(tmp), "%s.tmp", o.out);
    else if (o.out)
        snprintf(tmp, sizeof(tmp), "%s", o.out);
    out = o.out ? fopen(tmp, "wb") : stdout;
    if (!out) {
        fprintf(stderr, "keel-policyc: %s: %s\n", tmp, strerror(errno));
        goto done;
    }
    rc = o.header ? kp_write_header(&db, out)
                  : (kp_renumber(&db) ? -1 : kp_write(&db, o.version, out));
    if (out != stdout && fclose(out))
        rc = -1;
    if (!rc && o.out && strcmp(tmp, o.out) && rename(tmp, o.out))
        rc = -1;
    if (rc) {
        fprintf(stderr, "keel-policyc: writing %s failed\n", o.out ? o.out : "output");
        if (o.out && strcmp(tmp, o.out))
            unlink(tmp);
        rc = 1;
    }
done:
    if (db.errors)
        fprintf(stderr, "keel-policyc: %d error(s)\n", db.errors);
    kp_db_free(&db);
    free(src);
    return rc;
}
