/* kl-example - a small program built with `pkg-config --cflags --libs libkeellight` that drives
 * a domain through liblight: open a context, load an xl.cfg, create the domain, list the
 * domains, pause and unpause it (checking its state each time), show what it printed on its
 * console, destroy it. Usage: kl-example CONFIG [RUNDIR]   (RUNDIR: else $KEEL_RUNDIR) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <keel/kl_light.h>

static int fail(kl_ctx *ctx, const char *what)
{
    fprintf(stderr, "kl-example: %s: %s\n", what, ctx ? kl_ctx_error(ctx) : "failed");
    return 1;
}

static void list(kl_ctx *ctx)
{
    kl_dominfo *all;
    int n = kl_domain_list(ctx, &all);

    printf("%-20s %5s %7s %5s %s\n", "Name", "ID", "Mem", "VCPUs", "State");
    for (int i = 0; i < n; i++)
        printf("%-20s %5u %7llu %5u %c%c%c%c%c\n", all[i].name, all[i].domid,
               (unsigned long long)all[i].current_memkb / 1024, all[i].vcpu_online,
               all[i].running ? 'r' : '-', all[i].blocked ? 'b' : '-',
               all[i].paused ? 'p' : '-', all[i].shutdown ? 's' : '-', all[i].dying ? 'd' : '-');
    if (n >= 0)
        free(all);
}

static int is_paused(kl_ctx *ctx, uint32_t domid)
{
    kl_dominfo info;

    return kl_domain_info(ctx, domid, &info) == 0 ? info.paused : -1;
}

static int lines(const char *s)
{
    int n = 0;

    while ((s = strchr(s, '\n')))
        n++, s++;
    return n;
}

/* Wait up to 5 s for the domain to print two lines (through libkeelctrl: the core keeps each
 * domain's console output); show them. */
static int show_console(kl_ctx *ctx, uint32_t domid)
{
    char buf[2048];
    size_t len = 0;

    for (int i = 0; i < 500; i++) {
        uint64_t off = 0;
        len = sizeof(buf) - 1;
        if (kc_domain_console_read(kl_ctx_kc(ctx), domid, &off, buf, &len, NULL) < 0)
            return -1;
        buf[len] = 0;
        if (lines(buf) >= 2)
            break;
        usleep(10000);
    }
    printf("console of domain %u:\n%s", domid, buf);
    return len > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    kl_diag *diag = kl_diag_new();
    kl_domain_config dc;
    uint32_t domid = 0;
    kl_ctx *ctx = NULL;
    int rc = 1;

    if (argc < 2 || argc > 3 || !diag) {
        fprintf(stderr, "usage: kl-example CONFIG [RUNDIR]\n");
        return 2;
    }
    kl_domain_config_init(&dc);
    if (kl_domain_config_load(&dc, argv[1], 0, NULL, 0, diag) < 0) {
        kl_diag_print(diag, stderr); /* file:line:column: message */
        goto out;
    }
    kl_diag_print(diag, stderr);     /* warnings, if any */
    if (kl_ctx_open(&ctx, argc > 2 ? argv[2] : NULL) < 0) {
        fprintf(stderr, "kl-example: cannot open a liblight context\n");
        goto out;
    }
    if (kl_domain_create(ctx, &dc, 0, &domid) < 0) {
        rc = fail(ctx, "create");
        goto out;
    }
    printf("created domain %u (%s)\n", domid, dc.c_info.name);
    list(ctx);
    if (kl_domain_pause(ctx, domid) < 0 || is_paused(ctx, domid) != 1) {
        rc = fail(ctx, "pause");
    } else if (printf("paused\n") < 0 || kl_domain_unpause(ctx, domid) < 0 ||
               is_paused(ctx, domid) != 0) {
        rc = fail(ctx, "unpause");
    } else if (printf("unpaused\n") < 0 || show_console(ctx, domid) < 0) {
        rc = fail(ctx, "the domain printed nothing");
    } else {
        rc = 0;
    }
    if (kl_domain_destroy(ctx, domid) < 0) {
        rc = fail(ctx, "destroy");
    } else {
        kl_dominfo info;
        printf("destroyed domain %u\n", domid);
        if (kl_domain_info(ctx, domid, &info) == 0)
            rc = fail(ctx, "the domain still exists after destroy");
    }
out:
    kl_ctx_close(ctx);
    kl_domain_config_dispose(&dc);
    kl_diag_free(diag);
    return rc;
}
