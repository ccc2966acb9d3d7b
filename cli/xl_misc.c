/* xl_misc.c - xl vm-list, trigger, sysrq, debug-keys, set-parameters (requests to a domain through liblight, keel/kl_ops.h),
 * and the commands of Xen's xl that mean nothing on a Keel host: listed in `xl help` with the
 * reason, refused with it (exit 1). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/kl_ops.h"
#include "xl.h"

int xl_cmd_vm_list(int argc, char **argv)
{
    kl_dominfo *l;
    kl_ctx *ctx;
    int c, n;

    while ((c = xl_getopt(argc, argv, "", "vm-list", 0)) != -1)
        return 2;
    if (!(ctx = xl_open()))
        return 1;
    if ((n = kl_domain_list(ctx, &l)) < 0) {
        fprintf(stderr, "libxl_list_vm failed.\n");
        kl_ctx_close(ctx);
        return 1;
    }
    printf("UUID                                  ID    name\n");
    for (int i = 0; i < n; i++) {
        char u[40];
        if (l[i].domid == 0)
            continue;
        kl_uuid_to_string(&l[i].uuid, u);
        printf("%s  %u    %-30s\n", u, l[i].domid, l[i].name);
    }
    free(l);
    kl_ctx_close(ctx);
    return 0;
}

int xl_cmd_trigger(int argc, char **argv)
{
    kl_trigger t;
    uint32_t domid;
    long vcpu = 0;
    kl_ctx *ctx;
    int c, rc;

    while ((c = xl_getopt(argc, argv, "", "trigger", 2)) != -1)
        return 2;
    if (!(ctx = xl_open_domain(argv[optind], &domid)))
        return 1;
    if (kl_trigger_from_string(argv[optind + 1], &t) < 0) {
        fprintf(stderr, "Invalid trigger \"%s\"\n", argv[optind + 1]);
        kl_ctx_close(ctx);
        return 1;
    }
    if (optind + 2 < argc) {
        char *end;
        vcpu = strtol(argv[optind + 2], &end, 10);
        if (end == argv[optind + 2] || *end || vcpu < 0) {
            fprintf(stderr, "Invalid vcpuid, using default vcpuid=0.\n\n");
            vcpu = 0;
        }
    }
    if ((rc = kl_domain_send_trigger(ctx, domid, t, (uint32_t)vcpu)) < 0)
        fprintf(stderr, "libxl: error: Send trigger '%s' failed: %s\n", kl_trigger_to_string(t),
                kl_ctx_error(ctx));
    kl_ctx_close(ctx);
    return rc < 0;
}

int xl_cmd_sysrq(int argc, char **argv)
{
    uint32_t domid;
    kl_ctx *ctx;
    int c, rc;

    while ((c = xl_getopt(argc, argv, "", "sysrq", 2)) != -1)
        return 2;
    if (!(ctx = xl_open_domain(argv[optind], &domid)))
        return 1;
    if (strlen(argv[optind + 1]) != 1) {
        fprintf(stderr, "Invalid sysrq.\n\n");
        xl_help("sysrq");
        kl_ctx_close(ctx);
        return 1;
    }
    if ((rc = kl_domain_send_sysrq(ctx, domid, argv[optind + 1][0])) < 0)
        fprintf(stderr, "%s\n", kl_ctx_error(ctx));
    kl_ctx_close(ctx);
    return rc < 0;
}

int xl_cmd_debug_keys(int argc, char **argv)
{
    kl_ctx *ctx;
    int c, rc;

    while ((c = xl_getopt(argc, argv, "", "debug-keys", 1)) != -1)
        return 2;
    if (!(ctx = xl_open()))
        return 1;
    if ((rc = kl_send_debug_keys(ctx, argv[optind])) < 0)
        fprintf(stderr, "cannot send debug keys: %s\n", argv[optind]);
    kl_ctx_close(ctx);
    return rc < 0;
}

int xl_cmd_set_parameters(int argc, char **argv)
{
    kl_ctx *ctx;
    int c, rc;

    while ((c = xl_getopt(argc, argv, "", "set-parameters", 1)) != -1)
        return 2;
    if (!(ctx = xl_open()))
        return 1;
    if ((rc = kl_set_parameters(ctx, argv[optind])) < 0) {
        fprintf(stderr, "cannot set parameters: %s\n", argv[optind]);
        fprintf(stderr, "Use \"xl dmesg\" to look for possible reason.\n");
    }
    kl_ctx_close(ctx);
    return rc < 0;
}

void xl_info_numa(kl_ctx *ctx)
{
    kl_cputopo *t;
    kl_numainfo *ni;
    int n;

    printf("cpu_topology           :\n");
    printf("cpu:    core    socket     node\n");
    if ((n = kl_host_cpu_topology(ctx, &t)) >= 0) {
        for (int i = 0; i < n; i++)
            printf("%3u:    %4u     %4u     %4u\n", t[i].cpu, t[i].core, t[i].socket, t[i].node);
        free(t);
    }
    printf("device_topology        :\n");
    printf("device           node\n");
    printf("No device topology data available\n");   /* no PCI devices in Keel */
    printf("numa_info              :\n");
    printf("node:    memsize    memfree    distances\n");
    if ((n = kl_host_numa(ctx, &ni)) >= 0) {
        for (int i = 0; i < n; i++) {
            printf("%4u:    %6llu     %6llu      ", ni[i].node,
                   (unsigned long long)(ni[i].size_kb >> 10),
                   (unsigned long long)(ni[i].free_kb >> 10));
            for (uint32_t j = 0; j < ni[i].ndist; j++)
                printf(j ? ",%u" : "%u", ni[i].dist[j]);
            putchar('\n');
        }
        free(ni);
    }
}

void xl_info_xenstore(kl_ctx *ctx)
{
    uint32_t f = 0;

    kl_store_features(ctx, &f);      /* as xl: a failure prints 0 */
    printf("%-23s: 0x%08x\n", "xenstore_features", f);
}

int xl_escape_char(const char *s)
{
    if (s[0] && !s[1])
        return (unsigned char)s[0];
    if (s[0] == '^' && s[1] && !s[2] && ((s[1] >= '@' && s[1] <= '_') ||
                                         (s[1] >= 'a' && s[1] <= 'z')))
        return s[1] & 0x1f;
    return -EINVAL;
}

char *xl_image_config(kl_ctx *ctx, uint32_t domid, const char *cfgfile, bool keep_domid,
                      const char *cmd)
{
    kl_domain_config dc;
    kl_diag *d = kl_diag_new();
    char *json = NULL;
    int rc;

    kl_domain_config_init(&dc);
    if (cfgfile) {
        if ((rc = xl_load_domain(cfgfile, 0, NULL, 0, &dc, d)) < 0)
            fprintf(stderr, "xl %s: %s: %s\n", cmd, cfgfile,
                    d && kl_diag_first_error(d) ? kl_diag_first_error(d) : "cannot be used");
    } else if ((rc = kl_domain_get_config(ctx, domid, &dc)) < 0) {
        fprintf(stderr, "xl %s: domain %u: %s\n", cmd, domid, kl_ctx_error(ctx));
    }
    if (rc == 0) {
        if (keep_domid)
            dc.c_info.domid = domid;                 /* -D: the target keeps this id */
        if (!(json = kl_domain_config_to_json(&dc)))
            fprintf(stderr, "xl %s: out of memory\n", cmd);
    }
    kl_domain_config_dispose(&dc);
    kl_diag_free(d);
    return json;
}

/* Xen's commands with no meaning here, and why. */
#define NO_QEMU "Keel has no device model (QEMU)"
static const struct { const char *name, *why; } unmeaning[] = {
    { "pci-attach", "no PCI passthrough: Keel guests have PV devices only" },
    { "pci-detach", "no PCI passthrough: Keel guests have PV devices only" },
    { "pci-list", "no PCI passthrough: Keel guests have PV devices only" },
    { "pci-assignable-add", "no PCI passthrough: Keel guests have PV devices only" },
    { "pci-assignable-remove", "no PCI passthrough: Keel guests have PV devices only" },
    { "pci-assignable-list", "no PCI passthrough: Keel guests have PV devices only" },
    { "usbctrl-attach", "no USB: " NO_QEMU " and no PV USB backend" },
    { "usbctrl-detach", "no USB: " NO_QEMU " and no PV USB backend" },
    { "usbdev-attach", "no USB: " NO_QEMU " and no PV USB backend" },
    { "usbdev-detach", "no USB: " NO_QEMU " and no PV USB backend" },
    { "usb-list", "no USB: " NO_QEMU " and no PV USB backend" },
    { "cd-insert", "no emulated CD-ROM: " NO_QEMU "; use block-attach" },
    { "cd-eject", "no emulated CD-ROM: " NO_QEMU "; use block-detach" },
    { "vncviewer", "no VNC: Keel guests have no framebuffer; use xl console" },
    { "qemu-monitor-command", NO_QEMU },
    { "button-press", "no ACPI in PV guests; use xl trigger <Domain> power" },
    { "psr-hwinfo", "no Intel RDT (cache/memory bandwidth monitoring or allocation) in the core" },
    { "psr-cmt-attach", "no Intel RDT (cache/memory bandwidth monitoring or allocation) in the core" },
    { "psr-cmt-detach", "no Intel RDT (cache/memory bandwidth monitoring or allocation) in the core" },
    { "psr-cmt-show", "no Intel RDT (cache/memory bandwidth monitoring or allocation) in the core" },
    { "psr-cat-set", "no Intel RDT (cache/memory bandwidth monitoring or allocation) in the core" },
    { "psr-cat-show", "no Intel RDT (cache/memory bandwidth monitoring or allocation) in the core" },
    { "psr-mba-set", "no Intel RDT (cache/memory bandwidth monitoring or allocation) in the core" },
    { "psr-mba-show", "no Intel RDT (cache/memory bandwidth monitoring or allocation) in the core" },
    { "vkb-attach", "no PV keyboard backend (Keel guests have no framebuffer)" },
    { "vkb-list", "no PV keyboard backend (Keel guests have no framebuffer)" },
    { "vkb-detach", "no PV keyboard backend (Keel guests have no framebuffer)" },
    { "vdispl-attach", "no PV display backend" },
    { "vdispl-list", "no PV display backend" },
    { "vdispl-detach", "no PV display backend" },
    { "vsnd-attach", "no PV sound backend" },
    { "vsnd-list", "no PV sound backend" },
    { "vsnd-detach", "no PV sound backend" },
    { "sharing", "no page sharing: each domain's memory is a memfd of its own" },
    { "devd", "no driver domains: Keel's backends are Domain-0 daemons" },
    { "dt-overlay", "Arm device-tree overlays: Keel runs x86-64 PV guests only" },
};
#define NUNMEANING (sizeof(unmeaning) / sizeof(unmeaning[0]))

const char *xl_not_meaningful(const char *name)
{
    for (size_t i = 0; i < NUNMEANING; i++)
        if (!strcmp(name, unmeaning[i].name))
            return unmeaning[i].why;
    return NULL;
}

void xl_help_not_meaningful(void)
{
    printf("\nXen xl commands that are not meaningful on a Keel host (refused, exit 1):\n\n");
    for (size_t i = 0; i < NUNMEANING; i++)
        printf(" %-22s %s\n", unmeaning[i].name, unmeaning[i].why);
}

int xl_cmd_not_meaningful(int argc, char **argv)
{
    const char *why = xl_not_meaningful(argv[0]);

    (void)argc;
    fprintf(stderr, "xl %s: not meaningful on a Keel host: %s\n", argv[0],
            why ? why : "not supported");
    return 1;
}
