/* xl_save.c - xl save and xl restore: xl save images (xl's preamble with the domain's
 * configuration, then the migration v2 stream), optionally zlib-compressed (-z, a Keel
 * extension), with a progress line on a terminal. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xl.h"
#include "xl_conf.h"
#include "xl_progress.h"

int xl_cmd_save(int argc, char **argv)
{
    int c, checkpoint = 0, leave_paused = 0, keep_domid = 0, fd, rc;
    kl_migrate_opts o = { 0 };
    char *json = NULL;
    struct stat st;
    uint32_t domid;
    kl_ctx *ctx;

    while ((c = xl_getopt(argc, argv, "cpzD", "save", 2)) != -1) {
        switch (c) {
        case 'c': checkpoint = 1; break;
        case 'p': leave_paused = 1; break;
        case 'z': o.flags |= KL_SAVE_ZLIB; break;
        case 'D': keep_domid = 1; break;
        default: return 2;
        }
    }
    if (argc - optind > 3) {
        xl_help("save");
        return 2;
    }
    if (!(ctx = xl_open_domain(argv[optind], &domid)))
        return 1;
    /* [<ConfigFile>] replaces the domain's configuration in the image; -D keeps its id */
    if ((optind + 2 < argc || keep_domid) &&
        !(o.new_config_json = json = xl_image_config(ctx, domid, optind + 2 < argc ?
                                                     argv[optind + 2] : NULL, keep_domid,
                                                     "save"))) {
        kl_ctx_close(ctx);
        return 1;
    }
    fd = open(argv[optind + 1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "Failed to open temp file %s for writing: %s\n", argv[optind + 1],
                strerror(errno));
        free(json);
        kl_ctx_close(ctx);
        return 1;
    }
    fprintf(stderr, "Saving to %s new xl format (info 0x%x/0x0/%u)%s\n", argv[optind + 1],
            KL_IMAGE_MANDATORY_JSON | KL_IMAGE_MANDATORY_STREAMV2, 0,
            o.flags & KL_SAVE_ZLIB ? ", zlib-compressed (Keel)" : "");
    if (xl_progress_wanted()) {
        o.progress = xl_progress_line;
        o.arg = "Saving";
    }
    rc = o.flags || o.progress || json ? kl_domain_save_ext(ctx, domid, fd, &o)
                               : kl_domain_save(ctx, domid, fd, 0);
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc < 0) {
        fprintf(stderr, "Failed to save domain, resuming domain: %s\n", kl_ctx_error(ctx));
        kl_domain_unpause(ctx, domid);
        if (stat(argv[optind + 1], &st) == 0 && S_ISREG(st.st_mode))
            unlink(argv[optind + 1]);    /* a file we wrote, never a device or a pipe given */
    } else if (checkpoint) {
        kl_domain_unpause(ctx, domid);
    } else if (!leave_paused) {
        kl_domain_destroy(ctx, domid);
    }
    free(json);
    kl_ctx_close(ctx);
    return rc < 0 ? 1 : 0;
}

int xl_cmd_restore(int argc, char **argv)
{
    int c, paused = 0, nowait = 0, fd, rc, lock, lazy = !getenv("KEEL_RESTORE_EAGER");
    kl_domain_config dc;
    kl_diag *d = kl_diag_new();
    uint32_t domid;
    const char *file, *cfgfile;
    char *json = NULL;
    unsigned iflags = 0;
    kl_ctx *ctx;

    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {   /* Xen's long options */
        if (!strcmp(argv[i], "--vncviewer"))
            argv[i] = (char *)"-V";
        else if (!strcmp(argv[i], "--vncviewer-autopass"))
            argv[i] = (char *)"-A";
        else if (!strcmp(argv[i], "--eager"))   /* Keel: read all memory before it runs */
            argv[i] = (char *)"-E";
        else if (!strcmp(argv[i], "--lazy"))
            argv[i] = (char *)"-L";
    }
    while ((c = xl_getopt(argc, argv, "pedVAEL", "restore", 1)) != -1) {
        switch (c) {
        case 'E': lazy = 0; break;
        case 'L': lazy = 1; break;
        case 'p': paused = 1; break;
        case 'e': nowait = 1; break;
        case 'd': break;
        case 'V': case 'A':      /* Keel guests have no framebuffer: nothing to view */
            fprintf(stderr, "xl restore: -%c: Keel guests have no VNC display; ignored\n", c);
            break;
        default: kl_diag_free(d); return 2;
        }
    }
    if (argc - optind > 2) {
        xl_help("restore");
        kl_diag_free(d);
        return 2;
    }
    cfgfile = argc - optind == 2 ? argv[optind] : NULL;   /* [<ConfigFile>] <CheckpointFile> */
    file = argv[argc - 1];
    if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
        fprintf(stderr, "xl: cannot open %s: %s\n", file, strerror(errno));
        kl_diag_free(d);
        return 1;
    }
    kl_domain_config_init(&dc);
    if (!(ctx = xl_open())) {
        rc = -EIO;
        goto out;
    }
    if ((rc = kl_save_image_read_header(ctx, fd, file, &json, &iflags)) == 0 && cfgfile &&
        (rc = xl_load_domain(cfgfile, 0, NULL, 0, &dc, d)) < 0) {
        /* the ConfigFile given replaces the image's configuration */
        fprintf(stderr, "xl: %s: %s\n", cfgfile, d && kl_diag_first_error(d) ?
                kl_diag_first_error(d) : "cannot be used");
        kl_ctx_close(ctx);
        goto out;
    }
    if (rc < 0 || (!cfgfile && (rc = kl_domain_config_from_json(&dc, json, d)) < 0)) {
        if (json)
            fprintf(stderr, "xl: %s: no usable domain configuration in the save image%s%s\n", file,
                    d && kl_diag_first_error(d) ? ": " : "",
                    d && kl_diag_first_error(d) ? kl_diag_first_error(d) : "");
        else
            fprintf(stderr, "xl: %s\n", kl_ctx_error(ctx));
        kl_ctx_close(ctx);
        goto out;
    }
    /* as xl: the preamble's flags and optional data length (config length + 4) */
    fprintf(stderr, "Loading new save file %s (new xl fmt info 0x%x/0x0/%zu)%s\n", file,
            KL_IMAGE_MANDATORY_JSON | KL_IMAGE_MANDATORY_STREAMV2 |
            (iflags & KL_SAVE_ZLIB ? KL_IMAGE_MANDATORY_ZLIB : 0), strlen(json) + 5,
            iflags & KL_SAVE_ZLIB ? ", zlib-compressed (Keel)" : "");
    fprintf(stderr, " Savefile contains xl domain config in JSON format\n");
    if (cfgfile)
        fprintf(stderr, "Using config file \"%s\".\n", cfgfile);
    if (xl_conf_apply_cpumask(&dc) < 0) {              /* vm.cpumask, vm.pv.cpumask, as create */
        rc = -EINVAL;
        kl_ctx_close(ctx);
        goto out;
    }
    if ((lock = xl_conf_lock()) < 0 && lock != -ENOENT)   /* xl.conf's lockfile, as create */
        rc = -1;
    else
        rc = kl_domain_restore_image(ctx, &dc, fd, iflags, (paused ? KL_CREATE_PAUSED : 0) |
                                     (xl_conf_claim_mode() ? KL_CREATE_CLAIM : 0) |
                                     (lazy ? KL_CREATE_LAZY : 0), &domid);
    xl_conf_unlock(lock);
    if (rc < 0 && lock != -1)
        fprintf(stderr, "xl: restoring %s: %s\n", file, kl_ctx_error(ctx));
    else
        fprintf(stderr, "Domain %u (%s) restored\n", domid, dc.c_info.name ? dc.c_info.name : "");
    if (rc == 0 && !nowait && fork() == 0) {
        /* as after xl create: follow the domain and apply its on_* actions */
        kl_ctx *mctx;
        setsid();
        if (xl_g.verbose == 0) {
            int nul = open("/dev/null", O_RDWR);
            if (nul >= 0) {
                dup2(nul, 0);
                dup2(nul, 1);
                dup2(nul, 2);
            }
        }
        if (kl_ctx_open(&mctx, NULL) == 0)
            kl_domain_monitor(mctx, domid);
        _exit(0);
    }
    kl_ctx_close(ctx);
out:
    close(fd);
    free(json);
    kl_domain_config_dispose(&dc);
    kl_diag_free(d);
    return rc < 0 ? 1 : 0;
}
