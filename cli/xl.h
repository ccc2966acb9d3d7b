/* xl.h - shared declarations of the xl command line (a thin layer over liblight). */
#ifndef KEEL_XL_H
#define KEEL_XL_H

#include <stdbool.h>
#include <stdint.h>

#include "keel/kl_light.h"

struct xl_globals {
    int verbose;         /* -v (repeatable) */
    bool dryrun;         /* -N */
    bool force;          /* -f */
    bool progress_cr;    /* -t (accepted; xl uses it for progress output) */
};
extern struct xl_globals xl_g;

/* Every command: argc/argv start at the command name; returns the exit code. */
typedef int xl_cmd_fn(int argc, char **argv);
struct xl_cmd {
    const char *name;
    xl_cmd_fn *fn;
    bool can_dryrun;
    const char *summary, *usage, *options;
};
const struct xl_cmd *xl_cmd_lookup(const char *name);
void xl_help(const char *cmd);

/* Open the context of $KEEL_RUNDIR, or print why not and return NULL. */
kl_ctx *xl_open(void);
/* xl_open() and xl_find_domain() together: NULL (after printing why) if either fails. */
kl_ctx *xl_open_domain(const char *arg, uint32_t *domid);
/* A domain by name or id; prints xl's message and returns -1 if it does not exist. */
int xl_find_domain(kl_ctx *ctx, const char *arg, uint32_t *domid);
/* getopt over a command's options; missing arguments print usage. Returns the option, -1 at
 * the end, or 2 + 256 for a usage error (the caller returns 2). */
int xl_getopt(int argc, char **argv, const char *opts, const char *cmd, int min_args);
#define XL_USAGE_ERROR 258
/* A size with an optional b/k/m/g/t suffix; unsuffixed is MiB. Returns KiB or -1. */
int64_t xl_parse_mem_kb(const char *s);

xl_cmd_fn xl_cmd_create, xl_cmd_list, xl_cmd_destroy, xl_cmd_shutdown, xl_cmd_reboot,
    xl_cmd_pause, xl_cmd_unpause, xl_cmd_rename, xl_cmd_domid, xl_cmd_domname, xl_cmd_console,
    xl_cmd_info, xl_cmd_dmesg, xl_cmd_uptime, xl_cmd_mem_max, xl_cmd_mem_set, xl_cmd_vcpu_list,
    xl_cmd_vcpu_pin, xl_cmd_vcpu_set, xl_cmd_sched_credit, xl_cmd_help, xl_cmd_getenforce,
    xl_cmd_setenforce, xl_cmd_loadpolicy, xl_cmd_save, xl_cmd_restore, xl_cmd_migrate,
    xl_cmd_migrate_receive, xl_cmd_remus, xl_cmd_block_attach, xl_cmd_block_list,
    xl_cmd_block_detach, xl_cmd_network_attach, xl_cmd_network_list, xl_cmd_network_detach,
    xl_cmd_vtpm_attach, xl_cmd_vtpm_list, xl_cmd_vtpm_detach, xl_cmd_channel_list,
    xl_cmd_domxml_from_native, xl_cmd_domxml_to_native, xl_cmd_claims;
/* xl_top.c, xl_dumpcore.c, xl_misc.c */
/* xl_cpupool.c, xl_sched.c */
xl_cmd_fn xl_cmd_cpupool_create, xl_cmd_cpupool_list, xl_cmd_cpupool_destroy,
    xl_cmd_cpupool_rename, xl_cmd_cpupool_cpu_add, xl_cmd_cpupool_cpu_remove,
    xl_cmd_cpupool_migrate, xl_cmd_cpupool_numa_split, xl_cmd_sched_credit2, xl_cmd_sched_rtds;
xl_cmd_fn xl_cmd_top, xl_cmd_dump_core, xl_cmd_vm_list, xl_cmd_trigger, xl_cmd_sysrq,
    xl_cmd_debug_keys, xl_cmd_set_parameters, xl_cmd_not_meaningful;
/* xl_xsquota.c, xl_cfgupdate.c */
xl_cmd_fn xl_cmd_xenstore_quota_get, xl_cmd_xenstore_quota_set, xl_cmd_config_update;
/* The reason a Xen xl command means nothing here, or NULL; the list for xl help. */
const char *xl_not_meaningful(const char *name);
void xl_help_not_meaningful(void);
/* xl info -n: the CPU topology and NUMA nodes; xl info -x: the store's features. */
void xl_info_numa(kl_ctx *ctx);
void xl_info_xenstore(kl_ctx *ctx);
/* xl console -e: "^X" (a control character) or one character; -1 if neither. */
int xl_escape_char(const char *s);
/* The configuration (JSON) a save image or a migration carries: cfgfile's if given, else the
 * domain's, with c_info.domid = domid when keep_domid (-D); NULL after printing why. */
char *xl_image_config(kl_ctx *ctx, uint32_t domid, const char *cfgfile, bool keep_domid,
                      const char *cmd);
/* xl_domxml.c: load an xl.cfg or a libvirt domain XML file (XML takes no key=value overrides) */
int xl_load_domain(const char *path, int noverrides, char *const overrides[], unsigned flags,
                   kl_domain_config *dc, kl_diag *d);
/* xl migrate-receive -r (xl_remus.c) */
int xl_remus_receive(int paused);
/* Run `sh -c cmd` with pipes to its standard input (*to) and from its output (*from). */

/* Show a domain's console (console_io output and, through keel-consoled, its PV ring with
 * input) until it shuts down or disappears, ^] on the terminal, or SIGINT. */
int xl_console_stream(kl_ctx *ctx, uint32_t domid);

/* xl_list.c: 0 if the host has a log-dirty engine (live migration, Remus), else print what the
 * kernel lacks for xl cmd and return -1. */
int xl_logdirty_check(kl_ctx *ctx, const char *cmd);

#endif
