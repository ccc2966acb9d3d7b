/* kernel.c - where a configuration's kernel is: the one place every Keel tool (xl, keeld, the
 * Python module, programs over liblight) turns `kernel = "counter"` into a file. An absolute
 * path is used as is; a relative one is looked for in $KEEL_GUESTDIR, in the build tree's
 * guests/ when this library is the uninstalled one of a build tree, in the installed guests
 * directory, and last relative to the current directory. The result is absolute, so a stored
 * configuration restarts the same kernel from any directory. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lc_int.h"

#ifndef KEEL_GUESTDIR_INSTALLED
#define KEEL_GUESTDIR_INSTALLED "/usr/local/lib/keel/guests"
#endif

#define BUILD_LIBDIR "/liblight/.libs"

/* BUILD/guests when this code runs from BUILD/liblight/.libs/libkeellight.so (libtool's
 * uninstalled library, which the build tree's xl, keeld, Python module and tests load); "" when
 * installed. */
static void build_guestdir(char *out, size_t len)
{
    Dl_info info;
    char *lib, *slash;
    size_t n;
    struct stat st;

    out[0] = 0;
    if (!dladdr((void *)build_guestdir, &info) || !info.dli_fname ||
        !(lib = realpath(info.dli_fname, NULL)))
        return;
    if ((slash = strrchr(lib, '/')) != NULL) {
        *slash = 0;
        n = strlen(lib);
        if (n > strlen(BUILD_LIBDIR) && !strcmp(lib + n - strlen(BUILD_LIBDIR), BUILD_LIBDIR)) {
            lib[n - strlen(BUILD_LIBDIR)] = 0;
            if ((size_t)snprintf(out, len, "%s/guests", lib) >= len ||
                stat(out, &st) < 0 || !S_ISDIR(st.st_mode))
                out[0] = 0;
        }
    }
    free(lib);
}

int kl_kernel_resolve(const char *kernel, char **path, char *msg, size_t msglen)
{
    const char *env = getenv("KEEL_GUESTDIR");
    char build[PATH_MAX], cand[PATH_MAX];
    const char *dirs[4];
    int nd = 0;

    *path = NULL;
    if (!kernel || !*kernel) {
        if (msg && msglen)
            snprintf(msg, msglen, "no kernel given");
        return -EINVAL;
    }
    if (kernel[0] == '/')
        return (*path = strdup(kernel)) ? 0 : -ENOMEM;
    build_guestdir(build, sizeof(build));
    if (env && *env)
        dirs[nd++] = env;
    if (build[0])
        dirs[nd++] = build;
    dirs[nd++] = KEEL_GUESTDIR_INSTALLED;
    dirs[nd++] = ".";
    for (int i = 0; i < nd; i++) {
        int w = snprintf(cand, sizeof(cand), "%s/%s", dirs[i], kernel);
        if (w < 0 || (size_t)w >= sizeof(cand) || access(cand, R_OK) < 0)
            continue;
        if ((*path = realpath(cand, NULL)) != NULL)
            return 0;
        if (errno == ENOMEM)
            return -ENOMEM;
    }
    if (msg && msglen)
        snprintf(msg, msglen, "kernel '%s' not found in $KEEL_GUESTDIR (%s), %s%s%s or the "
                 "current directory", kernel, env && *env ? env : "unset", build,
                 build[0] ? ", " : "", KEEL_GUESTDIR_INSTALLED);
    return -ENOENT;
}

int kl__kernel_resolve_config(kl_ctx *ctx, kl_domain_config *dc)
{
    char msg[sizeof(ctx->err)], *abs;
    int rc = kl_kernel_resolve(dc->b_info.kernel, &abs, msg, sizeof(msg));

    if (rc == -ENOMEM)
        return kl__err(ctx, rc, "kernel '%s': out of memory", dc->b_info.kernel);
    if (rc < 0)
        return kl__err(ctx, rc, "%s", msg);
    free(dc->b_info.kernel);
    dc->b_info.kernel = abs;
    return 0;
}
