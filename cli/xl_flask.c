/* xl_flask.c - xl's FLASK commands: getenforce, setenforce, loadpolicy. Their output is the one
 * Xen's xl gives (tools/xl/xl_flask.c), which scripts compare: getenforce prints Enforcing,
 * Permissive or "Flask XSM Disabled"; setenforce takes 0, 1 or the mode names in any case;
 * loadpolicy prints "Successfully loaded policy." on success. Failures go to stderr with Xen's
 * wording, followed by the cause. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "keel/kl_flask.h"
#include "xl.h"

int xl_cmd_getenforce(int argc, char **argv)
{
    kl_ctx *ctx;
    int rc;

    if (xl_getopt(argc, argv, "", "getenforce", 0) == XL_USAGE_ERROR)
        return 2;
    if (!(ctx = xl_open()))
        return 1;
    rc = kl_flask_getenforce(ctx);
    if (rc == -ENOSYS)
        printf("Flask XSM Disabled\n");
    else if (rc < 0)
        fprintf(stderr, "Failed to get enforcing mode: %s\n", kl_ctx_error(ctx));
    else
        printf("%s\n", rc ? "Enforcing" : "Permissive");
    kl_ctx_close(ctx);
    return rc < 0 && rc != -ENOSYS ? 1 : 0;
}

int xl_cmd_setenforce(int argc, char **argv)
{
    const char *mode;
    kl_ctx *ctx;
    int on, rc;

    if (xl_getopt(argc, argv, "", "setenforce", 1) == XL_USAGE_ERROR)
        return 2;
    mode = argv[optind];
    if (!strcmp(mode, "1") || !strcasecmp(mode, "enforcing"))
        on = 1;
    else if (!strcmp(mode, "0") || !strcasecmp(mode, "permissive"))
        on = 0;
    else {
        xl_help("setenforce");
        return 2;
    }
    if (!(ctx = xl_open()))
        return 1;
    rc = kl_flask_setenforce(ctx, on);
    if (rc == -ENOSYS)
        fprintf(stderr, "Flask XSM disabled\n");
    else if (rc < 0)
        fprintf(stderr, "error occured while setting enforcing mode (%s)\n", kl_ctx_error(ctx));
    kl_ctx_close(ctx);
    return rc < 0 ? 1 : 0;
}

/* The core takes a policy of up to 1 MiB (kl_flask_load refuses more). */
#define XL_POLICY_MAX (1u << 20)

/* The whole policy file in a malloc'd buffer, or NULL after a message worded as Xen's xl's. */
static char *read_policy(const char *file, size_t *len)
{
    struct stat st;
    const char *why = NULL;
    char *buf = NULL;
    FILE *f;

    if (!(f = fopen(file, "rb"))) {
        fprintf(stderr, "Error occurred opening policy file '%s': %s\n", file, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) < 0) {
        fprintf(stderr, "Error occurred retrieving information about policy file '%s': %s\n",
                file, strerror(errno));
        fclose(f);
        return NULL;
    }
    if (!S_ISREG(st.st_mode))
        why = "not a regular file";
    else if (st.st_size == 0)
        why = "empty file";
    else if (st.st_size > XL_POLICY_MAX)
        why = "larger than 1 MiB";
    else if (!(buf = malloc((size_t)st.st_size)))
        why = strerror(ENOMEM);
    else if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
        why = ferror(f) ? strerror(errno) : "file shrank while being read";
    fclose(f);
    if (why) {
        fprintf(stderr, "Unable to read new Flask policy file: %s: %s\n", file, why);
        free(buf);
        return NULL;
    }
    *len = (size_t)st.st_size;
    return buf;
}

int xl_cmd_loadpolicy(int argc, char **argv)
{
    char *buf;
    size_t len;
    kl_ctx *ctx;
    int rc;

    if (xl_getopt(argc, argv, "", "loadpolicy", 1) == XL_USAGE_ERROR)
        return 2;
    if (!(buf = read_policy(argv[optind], &len)))
        return 1;
    if (!(ctx = xl_open())) {
        free(buf);
        return 1;
    }
    rc = kl_flask_load(ctx, buf, len);
    if (rc == -ENOSYS)
        fprintf(stderr, "Flask XSM disabled\n");
    else if (rc < 0)
        fprintf(stderr, "Unable to load new Flask policy: %s\n", kl_ctx_error(ctx));
    else
        printf("Successfully loaded policy.\n");
    kl_ctx_close(ctx);
    free(buf);
    return rc < 0 ? 1 : 0;
}
