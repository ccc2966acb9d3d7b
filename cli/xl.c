/* xl.c - xl, Keel's domain management command line: global options, the command table with
 * xl's command names, unambiguous prefixes, help. Commands live in xl_*.c. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klog.h"
#include "xl.h"
#include "xl_conf.h"

struct xl_globals xl_g;

static const struct xl_cmd cmds[] = {
    { "create", xl_cmd_create, true, "Create a domain from config file <filename>",
      "<ConfigFile|DomainXML> [options] [vars]",
      "-h                      Print this help.\n"
      "-p                      Leave the domain paused after it is created.\n"
      "-c                      Connect to the console after the domain is created.\n"
      "-f FILE, --defconfig=FILE\n"
      "                        Use the given configuration file.\n"
      "-q, --quiet             Quiet.\n"
      "-n, --dryrun            Dry run - prints the resulting configuration in JSON\n"
      "                        (same as the global -N).\n"
      "-F                      Run in foreground until death of the domain.\n"
      "-e                      Do not wait in the background for the death of the domain.\n"
      "-i, --ignore-global-affinity-masks\n"
      "                        Ignore the global affinity masks of xl.conf." },
    { "list", xl_cmd_list, false, "List information about all/some domains", "[options] [Domain]",
      "-l, --long              Output all VM details (JSON)\n"
      "-x, --xml               With -l: libvirt domain XML instead of JSON\n"
      "-v, --verbose           Prints out UUIDs, shutdown reason codes and security labels\n"
      "-Z, --context           Prints out security context\n"
      "-c, --cpupool           Prints the cpupool the domain is in\n"
      "-n, --numa              Prints out NUMA node affinity (all: Keel places no domain)" },
    { "destroy", xl_cmd_destroy, false, "Terminate a domain immediately", "[options] <Domain>",
      "-f                      Permit destroying domain 0 (refused anyway by Keel)" },
    { "shutdown", xl_cmd_shutdown, false, "Issue a shutdown signal to a domain",
      "[options] <-a|Domain>",
      "-a, --all               Shutdown all guest domains.\n"
      "-h                      Print this help.\n"
      "-F                      Fallback to the core's shutdown at once if no agent listens\n"
      "                        (always the case; accepted for compatibility).\n"
      "-w, --wait              Wait for guest(s) to shutdown." },
    { "reboot", xl_cmd_reboot, false, "Issue a reboot signal to a domain", "[options] <-a|Domain>",
      "-a, --all               Reboot all guest domains.\n"
      "-h                      Print this help.\n"
      "-F                      Accepted for compatibility.\n"
      "-w, --wait              Wait for guest(s) to reboot." },
    { "pause", xl_cmd_pause, false, "Pause execution of a domain", "<Domain>", NULL },
    { "unpause", xl_cmd_unpause, false, "Unpause a paused domain", "<Domain>", NULL },
    { "console", xl_cmd_console, false, "Attach to domain's console",
      "[options] <Domain>",
      "-t <type>       console type, pv (the only one)\n"
      "-n <number>     console number (0)\n"
      "-e <escapechar> escape character: ^X or a single character (default ^])" },
    { "vcpu-list", xl_cmd_vcpu_list, false, "List the VCPUs for all/some domains",
      "[Domain, ...]", NULL },
    { "vcpu-pin", xl_cmd_vcpu_pin, false, "Set which CPUs a VCPU can use",
      "[option] <Domain> <VCPU|all> <Hard affinity|-|all> <Soft affinity|-|all>",
      "-f, --force        undo an override pinning done by the kernel (accepted)\n"
      "-i, --ignore-global-affinity-masks\n"
      "                   Ignore the global masks (xl.conf vm.cpumask, vm.pv.cpumask)" },
    { "vcpu-set", xl_cmd_vcpu_set, false, "Set the number of active VCPUs allowed for the domain",
      "[option] <Domain> <vCPUs>", "-i, --ignore-host  Don't limit the vCPU based on the host "
      "CPU count" },
    { "mem-max", xl_cmd_mem_max, false, "Set the maximum amount reservation for a domain",
      "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>", NULL },
    { "mem-set", xl_cmd_mem_set, false, "Set the current memory usage for a domain",
      "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>", NULL },
    { "sched-credit", xl_cmd_sched_credit, false, "Get/set credit scheduler parameters",
      "[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]] [-s [-t TSLICE] [-r RATELIMIT] [-m DLY]] [-p CPUPOOL]",
      "-d DOMAIN, --domain=DOMAIN        Domain to modify\n"
      "-w WEIGHT, --weight=WEIGHT        Weight (int)\n"
      "-c CAP, --cap=CAP                 Cap (int)\n"
      "-s         --schedparam           Query / modify scheduler parameters\n"
      "-t TSLICE, --tslice_ms=TSLICE     Set the timeslice, in milliseconds\n"
      "-r RLIMIT, --ratelimit_us=RLIMIT  Set the scheduling rate limit, in microseconds\n"
      "-m DLY, --migration_delay_us=DLY  Set the migration delay, in microseconds\n"
      "-p CPUPOOL, --cpupool=CPUPOOL     Restrict output to CPUPOOL" },
    { "sched-credit2", xl_cmd_sched_credit2, false, "Get/set credit2 scheduler parameters",
      "[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]] [-s [-r RATELIMIT]] [-p CPUPOOL]",
      "-d DOMAIN, --domain=DOMAIN     Domain to modify\n"
      "-w WEIGHT, --weight=WEIGHT     Weight (int)\n"
      "-c CAP,    --cap=CAP           Cap (int)\n"
      "-s         --schedparam        Query / modify scheduler parameters\n"
      "-r RLIMIT, --ratelimit_us=RLIMIT Set the scheduling rate limit, in microseconds\n"
      "-p CPUPOOL, --cpupool=CPUPOOL  Restrict output to CPUPOOL" },
    { "sched-rtds", xl_cmd_sched_rtds, false, "Get/set rtds scheduler parameters",
      "[-d <Domain> [-v[=VCPUID/all]] [-p[=PERIOD]] [-b[=BUDGET]] [-e[=Extratime]]] [-c CPUPOOL]",
      "-d DOMAIN, --domain=DOMAIN     Domain to modify\n"
      "-v VCPUID/all, --vcpuid=VCPUID/all    VCPU to modify or output;\n"
      "               Using '-v all' to modify/output all vcpus\n"
      "-p PERIOD, --period=PERIOD     Period (us)\n"
      "-b BUDGET, --budget=BUDGET     Budget (us)\n"
      "-e Extratime, --extratime=Extratime Extratime (1=yes, 0=no)\n"
      "-c CPUPOOL, --cpupool=CPUPOOL  Restrict output to CPUPOOL\n"
      "Budgets are Linux SCHED_DEADLINE runtimes where the kernel allows it, else a CFS\n"
      "bandwidth limit of the domain (xl dmesg says which)." },
    { "cpupool-create", xl_cmd_cpupool_create, true, "Create a new CPU pool",
      "[options] [<ConfigFile>] [Variable=value ...]",
      "-h, --help                   Print this help.\n"
      "-f FILE, --defconfig=FILE    Use the given configuration file.\n"
      "-n, --dryrun                 Dry run - prints the resulting configuration.\n"
      "                              (deprecated in favour of global -N option).\n"
      "Keys: name, sched (credit, credit2, rtds), cpus (list or \"0-3,^2\"), nodes." },
    { "cpupool-list", xl_cmd_cpupool_list, false, "List CPU pools on host",
      "[-c|--cpus] [<CPU Pool>]", "-c, --cpus                     Output list of CPUs used by a pool" },
    { "cpupool-destroy", xl_cmd_cpupool_destroy, false, "Deactivates a CPU pool", "<CPU Pool>",
      NULL },
    { "cpupool-rename", xl_cmd_cpupool_rename, false, "Renames a CPU pool",
      "<CPU Pool> <new name>", NULL },
    { "cpupool-cpu-add", xl_cmd_cpupool_cpu_add, false, "Adds a CPU to a CPU pool",
      "<CPU Pool> <CPU nr>|node:<node nr>", NULL },
    { "cpupool-cpu-remove", xl_cmd_cpupool_cpu_remove, false, "Removes a CPU from a CPU pool",
      "<CPU Pool> <CPU nr>|node:<node nr>", NULL },
    { "cpupool-migrate", xl_cmd_cpupool_migrate, false, "Moves a domain into a CPU pool",
      "<Domain> <CPU Pool>", NULL },
    { "cpupool-numa-split", xl_cmd_cpupool_numa_split, false,
      "Splits up the machine into one CPU pool per NUMA node", "", NULL },
    { "domid", xl_cmd_domid, false, "Convert a domain name to domain id", "<DomainName>", NULL },
    { "domname", xl_cmd_domname, false, "Convert a domain id to domain name", "<DomainId>", NULL },
    { "rename", xl_cmd_rename, false, "Rename a domain", "<Domain> <NewDomainName>", NULL },
    { "info", xl_cmd_info, false, "Get information about Keel host", "[-n] [-x]",
      "-n, --numa         List host NUMA topology information\n"
      "-x, --xenstore     List Xenstore features supported" },
    { "dmesg", xl_cmd_dmesg, false, "Read and/or clear dmesg buffer", "[-c]",
      "  -c, --clear               Clear dmesg buffer as well as printing it" },
    { "uptime", xl_cmd_uptime, false, "Print uptime for all/some domains", "[-s] [Domain]",
      "-s                         Uptime in short format" },
    { "claims", xl_cmd_claims, false, "List outstanding claim information about all domains",
      "", NULL },
    { "save", xl_cmd_save, false, "Save a domain state to restore later",
      "[options] <Domain> <CheckpointFile> [<ConfigFile>]",
      "-c  Leave domain running after creating the snapshot.\n"
      "-p  Leave domain paused after creating the snapshot.\n"
      "-z  Compress the image with zlib (Keel extension: Xen's xl cannot read it).\n"
      "-D  Store the domain id in the image's configuration: restore keeps it.\n"
      "<ConfigFile> replaces the domain's configuration in the image." },
    { "restore", xl_cmd_restore, false, "Restore a domain from a saved state",
      "[options] [<ConfigFile>] <CheckpointFile>",
      "-p  Do not unpause domain after restoring it.\n"
      "-e  Do not wait in the background for the death of the domain.\n"
      "-d  Enable debug messages.\n"
      "-V, --vncviewer, -A, --vncviewer-autopass\n"
      "    Accepted and ignored with a warning: Keel guests have no VNC display.\n"
      "-E, --eager  Keel extension: read all of the domain's memory before it runs\n"
      "    (KEEL_RESTORE_EAGER=1 does the same).\n"
      "-L, --lazy   Keel extension, the default for an uncompressed image file: the\n"
      "    domain runs at once and its memory is filled on first touch and in the\n"
      "    background; the core keeps the image open until every page is in (delete\n"
      "    or rename it at will, do not write into it before xl dmesg says 'lazy\n"
      "    memory complete').\n"
      "<ConfigFile> replaces the configuration stored in the image." },
    { "migrate", xl_cmd_migrate, false, "Migrate a domain to another host", "[options] <Domain> <host>",
      "-s <sshcommand>  Use <sshcommand> instead of ssh.  String will be passed\n"
      "                 to sh. If empty, run <host> instead of ssh <host> xl\n"
      "                 migrate-receive [-d -e]\n"
      "-e               Do not wait in the background (on <host>) for the death\n"
      "                 of the domain.\n"
      "-C <config>      Send <config> instead of config file from creation.\n"
      "-p               Do not unpause the domain on the target (passed to\n"
      "                 migrate-receive; with --tcp the receiver's -p decides).\n"
      "-D               Preserve the domain id (the target creates it with the same id).\n"
      "-F               Run without a background monitor on the target (as -e).\n"
      "--live           Accepted (xm compatibility): migration is always live.\n"
      "--debug          Accepted for compatibility.\n"
      "Keel extensions (direct transport for hosts without ssh):\n"
      "--tcp            <host> is HOST:PORT of `xl migrate-receive --listen`;\n"
      "                 connect to it directly, over TLS unless --plain.\n"
      "--tls-ca FILE    CA certificates (PEM) that verify the receiver's\n"
      "                 certificate and its name or address (default: the\n"
      "                 system's store).\n"
      "--tls-cert FILE, --tls-key FILE\n"
      "                 Our certificate and key, for a receiver that requires one.\n"
      "--plain          Plain TCP, no TLS (only on a trusted network).\n"
      "--postcopy       Post-copy: the domain runs on the target at once and its\n"
      "                 memory follows on demand and in the background (the\n"
      "                 receiver gets --postcopy; with -s '' the command must\n"
      "                 carry it). A cut link after the switch-over stops the\n"
      "                 target's copy; the source's resumes after\n"
      "                 $KEEL_POSTCOPY_FENCE_MS (default 10000).\n"
      "A progress line (round, pages, rate, expected downtime) is shown when\n"
      "stderr is a terminal or with xl -t; Ctrl-C cancels and resumes the domain." },
    { "migrate-receive", xl_cmd_migrate_receive, false, "Restore a domain from a saved state (on the target of a migration)",
      "[options]", "-p  Do not unpause the domain after receiving it.\n"
      "-d, -e, --debug  Accepted for compatibility.\n"
      "Keel extensions:\n"
      "--listen ADDR:PORT  Accept one connection on ADDR:PORT (ADDR * or empty:\n"
      "                 any) instead of using stdin/stdout; TLS unless --plain.\n"
      "--tls-cert FILE, --tls-key FILE\n"
      "                 Our certificate and key (PEM), required for TLS.\n"
      "--tls-ca FILE    Require a sender certificate signed by these CAs.\n"
      "--plain          Plain TCP, no TLS.\n"
      "--postcopy       Receive a post-copy migration (xl migrate --postcopy)." },
    { "remus", xl_cmd_remus, false, "Enable Remus HA for domain", "[options] <Domain> [<host>]",
      "-i MS            Checkpoint domain memory every MS milliseconds (default 200).\n"
      "-u               Disable memory checkpoint compression (Keel never compresses).\n"
      "-s <sshcommand>  Use <sshcommand> instead of ssh.  String will be passed\n"
      "                 to sh. If empty, run <host> instead of ssh <host> xl\n"
      "                 migrate-receive -r [-e]\n"
      "-e               Do not wait in the background (on <host>) for the death\n"
      "                 of the domain.\n"
      "-N <netbufscript> Accepted; keel-netback buffers the output itself (no script).\n"
      "-F               Enable unsafe configurations [-b|-n|-d flags]; report each\n"
      "                 checkpoint on stderr.\n"
      "-b               Replicate to /dev/null (no disk/network buffering, no failover).\n"
      "-n               Disable network output buffering (replies may leave before the\n"
      "                 backup has the state that sent them). Unsafe: needs -F.\n"
      "-d               Disable disk replication. Unsafe: needs -F.\n"
      "--debug          Report each checkpoint on stderr (pause, disk data, acknowledgement).\n"
      "-c, -p           COLO: not supported by Keel.\n"
      "Stops when the domain is gone (the backup takes over), on SIGINT/SIGTERM (the domain\n"
      "runs on here), or when the backup fails (resumed here, exit 1)." },
    { "block-attach", xl_cmd_block_attach, true, "Create a new virtual block device",
      "<Domain> <disk-spec-component(s)>...",
      "The disk spec as in disk=[...] (xl-disk-configuration(5)); components are joined\n"
      "with commas. Returns once the backend is ready; -N prints the parsed disk." },
    { "block-list", xl_cmd_block_list, false, "List virtual block devices for a domain",
      "<Domain(s)>", NULL },
    { "block-detach", xl_cmd_block_detach, false, "Destroy a domain's virtual block device",
      "[options] <Domain> <DevId>",
      "-f, --force     Do not wait for the backend to close the device (forced removal)\n"
      "<DevId> may be the virtual device name (xvda) or its number (51712)." },
    { "network-attach", xl_cmd_network_attach, true, "Create a new virtual network device",
      "<Domain> [type=<type>] [mac=<mac>] [bridge=<bridge>] [ip=<ip>] [script=<script>]\n"
      "        [backend=<BackDomain>] [vifname=<name>] [rate=<rate>] [model=<model>]\n"
      "        [mtu=<mtu>] [devid=<devid>] [gatewaydev=<dev>]",
      "The keys of vif=[...] (xl-network-configuration(5)). Returns once the backend is\n"
      "ready and the hotplug script said connected; -N prints the parsed vif." },
    { "network-list", xl_cmd_network_list, false, "List virtual network interfaces for a domain",
      "<Domain(s)>", NULL },
    { "network-detach", xl_cmd_network_detach, false, "Destroy a domain's virtual network device",
      "<Domain> <DevId|mac>", NULL },
    { "vtpm-attach", xl_cmd_vtpm_attach, true, "Create a new virtual TPM device",
      "<Domain> [uuid=<uuid>] [backend=<BackDomain>]",
      "Without uuid= a new vTPM is made; the same uuid later gives the same TPM (its NV\n"
      "contents and keys). The backend is Domain-0 (keel-vtpmd); -N prints the parsed vtpm." },
    { "vtpm-list", xl_cmd_vtpm_list, false, "List virtual TPM devices for a domain",
      "<Domain(s)>", NULL },
    { "vtpm-detach", xl_cmd_vtpm_detach, false, "Destroy a domain's virtual TPM device",
      "<Domain> <DevId|uuid>", NULL },
    { "channel-list", xl_cmd_channel_list, false, "List virtual channel devices for a domain",
      "<Domain(s)>", "Channels come from channel=[...] at create (keel-consoled serves them);\n"
      "a pty channel shows its pty's path." },
    { "getenforce", xl_cmd_getenforce, false, "Returns the current enforcing mode of the Flask Xen security module", "", NULL },
    { "setenforce", xl_cmd_setenforce, false, "Sets the current enforcing mode of the Flask Xen security module",
      "<1|0|Enforcing|Permissive>", NULL },
    { "loadpolicy", xl_cmd_loadpolicy, false, "Loads a new policy into the Flask Xen security module",
      "<policy file>", NULL },
    { "domxml-from-native", xl_cmd_domxml_from_native, false,
      "Convert an xl.cfg to libvirt domain XML", "[xen-xl] <ConfigFile> [vars]",
      "Prints <domain type='xen'> XML as virsh domxml-from-native xen-xl does; settings\n"
      "libvirt has no element for go to <metadata><keel:config>." },
    { "domxml-to-native", xl_cmd_domxml_to_native, false,
      "Convert libvirt domain XML to an xl.cfg", "[xen-xl] <DomainXML>",
      "Prints the xl.cfg of a libvirt domain XML; errors name the element and its line." },
    { "top", xl_cmd_top, false, "Monitor a host and the domains in real time",
      "[options]", "xentop's options: -b/--batch, -i/--iterations N, -d/--delay S, -n/--networks,\n"
      "-x/--vbds, -r/--repeat-header, -v/--vcpus, -f/--full-name, -z/--dom0-first, -V/--version" },
    { "vm-list", xl_cmd_vm_list, false, "List guest domains, excluding dom0, stubdoms, etc.", "",
      NULL },
    { "dump-core", xl_cmd_dump_core, false, "Core dump a domain", "<Domain> <filename>",
      "An ELF core of the memory and every vCPU's registers: gdb <guest image> <filename>" },
    { "trigger", xl_cmd_trigger, false, "Send a trigger to a domain",
      "<Domain> <nmi|reset|init|power|sleep|s3resume> [<VCPU>]",
      "power (the PV power button: control/shutdown poweroff) and reset (the domain is reset:\n"
      "shut down with reason reboot) act; nmi, init, sleep, s3resume are refused (no PV meaning)" },
    { "sysrq", xl_cmd_sysrq, false, "Send a sysrq to a domain", "<Domain> <letter>", NULL },
    { "debug-keys", xl_cmd_debug_keys, false, "Send debug keys to Keel", "<Keys>",
      "Keys the core honours (output in xl dmesg): h list the keys, q domains and vCPUs,\n"
      "m memory per domain, t the core's clocks; other keys are reported as not honoured." },
    { "set-parameters", xl_cmd_set_parameters, false, "Set hypervisor parameters", "<Params>",
      "\"name=value ...\"; the core's parameter: loglvl=none|error|warning|info|debug|all." },
    { "config-update", xl_cmd_config_update, true,
      "Update a running domain's saved configuration, used when rebuilding the domain after "
      "reboot.\nWARNING: xl now has better capability to manage domain configuration, avoid "
      "using this command when possible", "<Domain> <ConfigFile> [options] [vars]",
      "-h                      Print this help.\n"
      "-f FILE, --defconfig=FILE\n                        Use the given configuration file.\n"
      "-d                      Enable debug messages (print the configuration as JSON)." },
    { "xenstore-quota-get", xl_cmd_xenstore_quota_get, false,
      "List global or domain specific Xenstore quotas", "<Domain>|-g", NULL },
    { "xenstore-quota-set", xl_cmd_xenstore_quota_set, false,
      "Set global or domain specific Xenstore quotas", "<Domain>|-g <quota>=<val>...",
      "Quotas of keel-stored: nodes, watches, transactions, node-size, permissions (0: none)" },
    { "help", xl_cmd_help, true, "Print this help.", "[command]", NULL },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

const struct xl_cmd *xl_cmd_lookup(const char *name)
{
    const struct xl_cmd *found = NULL;
    size_t len = strlen(name);

    for (size_t i = 0; i < NCMDS; i++) {
        if (!strcmp(cmds[i].name, name))
            return &cmds[i];
        if (cmds[i].summary && !strncmp(cmds[i].name, name, len)) {
            if (found)
                return NULL;                 /* ambiguous */
            found = &cmds[i];
        }
    }
    return len ? found : NULL;
}

void xl_help(const char *name)
{
    const struct xl_cmd *c = name ? xl_cmd_lookup(name) : NULL;

    if (!c || !c->summary) {
        printf("Usage xl [-vfNtT] <subcommand> [args]\n\nxl full list of subcommands:\n\n");
        for (size_t i = 0; i < NCMDS; i++)
            if (cmds[i].summary)
                printf(" %-19s %s\n", cmds[i].name, cmds[i].summary);
        xl_help_not_meaningful();
        return;
    }
    printf("Usage: xl [-v%s] %s %s\n\n%s.\n\n", c->can_dryrun ? "N" : "", c->name, c->usage,
           c->summary);
    if (c->options)
        printf("Options:\n\n%s\n", c->options);
}

int xl_cmd_help(int argc, char **argv)
{
    xl_help(argc > 1 ? argv[1] : NULL);
    return 0;
}

static void usage_main(void)
{
    xl_help(NULL);
}

int main(int argc, char **argv)
{
    const struct xl_cmd *c;
    int opt;

    klog_init_env("xl", KLOG_WARN);
    while ((opt = getopt(argc, argv, "+vftNT")) >= 0) {
        switch (opt) {
        case 'v': xl_g.verbose++; break;
        case 'f': xl_g.force = true; break;
        case 't': xl_g.progress_cr = true; break;
        case 'N': xl_g.dryrun = true; break;
        case 'T':                 /* log lines carry the time (they carry the pid anyway) */
            klog_set_timestamps(1);
            setenv("KEEL_LOG_TIMESTAMPS", "1", 1);   /* liblight's lines too */
            break;
        default:
            fprintf(stderr, "unknown global option\n");
            return 2;
        }
    }
    if (xl_g.verbose > 1)
        klog_set_level(KLOG_DEBUG);
    else if (xl_g.verbose)
        klog_set_level(KLOG_INFO);
    if (xl_conf_load(xl_g.verbose) < 0)        /* xl.conf: host-wide settings */
        return 1;
    if (optind >= argc) {
        usage_main();
        return 1;
    }
    argc -= optind;
    argv += optind;
    optind = 1;
    if (!xl_cmd_lookup(argv[0]) && xl_not_meaningful(argv[0]))
        return xl_cmd_not_meaningful(argc, argv);
    if (!(c = xl_cmd_lookup(argv[0]))) {
        fprintf(stderr, "command not implemented\n");
        return 1;
    }
    argv[0] = (char *)c->name;
    if (xl_g.dryrun && !c->can_dryrun) {
        fprintf(stderr, "command does not implement -N (dryrun) option\n");
        return 1;
    }
    return c->fn(argc, argv);
}
