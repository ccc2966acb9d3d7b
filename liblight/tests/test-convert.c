/* test-convert.c - xl.cfg to kl_domain_config: units, defaults, cmdline composition, labels,
 * CPU affinity forms, uuid generation, unknown keys (warning or, strict, error), several
 * errors reported together, file loading with command-line overrides, and printing back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define BASE "name = 'c'\nkernel = '/k'\n"

static int conv(const char *text, kl_domain_config *dc, unsigned flags, kl_diag *d)
{
    kl_diag_clear(d);
    kl_domain_config_dispose(dc);
    return tu_convert(text, dc, flags, d);
}

static void test_basics(kl_domain_config *dc, kl_diag *d)
{
    tap_ok(conv(BASE "memory = 512\nmaxmem = 1024\nvcpus = 3\nmaxvcpus = 8\n", dc, 0, d) == 0,
           "a basic config converts");
    tap_ok(dc->b_info.target_memkb == 512 * 1024 && dc->b_info.max_memkb == 1024 * 1024,
           "memory and maxmem are MiB in xl.cfg and KiB in the type");
    tap_ok(dc->b_info.max_vcpus == 8 && kl_bitmap_count(&dc->b_info.avail_vcpus) == 3 &&
           kl_bitmap_test(&dc->b_info.avail_vcpus, 2), "vcpus are online of maxvcpus");
    tap_ok(dc->c_info.type == KL_DOMAIN_TYPE_PVH, "the type defaults to pvh");
    tap_ok(dc->on_poweroff == KL_ACTION_ON_SHUTDOWN_DESTROY &&
           dc->on_reboot == KL_ACTION_ON_SHUTDOWN_RESTART &&
           dc->on_watchdog == KL_ACTION_ON_SHUTDOWN_DESTROY &&
           dc->on_crash == KL_ACTION_ON_SHUTDOWN_DESTROY &&
           dc->on_soft_reset == KL_ACTION_ON_SHUTDOWN_SOFT_RESET, "xl's default actions");
    tap_ok(!kl_uuid_is_nil(&dc->c_info.uuid), "a missing uuid is generated");
    tap_ok(dc->b_info.max_memkb != KL_MEMKB_DEFAULT && dc->b_info.sched_params.weight == -1,
           "unset scheduler parameters stay at their defaults");
    tap_ok(conv(BASE, dc, KL_CONV_NO_UUID, d) == 0 && kl_uuid_is_nil(&dc->c_info.uuid) &&
           dc->b_info.target_memkb == KL_MEMKB_DEFAULT && dc->b_info.max_vcpus == 1,
           "KL_CONV_NO_UUID leaves the uuid nil; memory unset stays default; one vCPU");
}

static void test_cmdline_labels(kl_domain_config *dc, kl_diag *d)
{
    tap_ok(conv(BASE "root = '/dev/xvda1'\nextra = 'console=hvc0'\n", dc, 0, d) == 0 &&
           !strcmp(dc->b_info.cmdline, "root=/dev/xvda1 console=hvc0"),
           "root and extra make \"root=ROOT EXTRA\"");
    tap_ok(conv(BASE "root = '/dev/xvda1'\n", dc, 0, d) == 0 &&
           !strcmp(dc->b_info.cmdline, "root=/dev/xvda1"), "root alone makes \"root=ROOT\"");
    tap_ok(conv(BASE "extra = 'quiet'\n", dc, 0, d) == 0 && !strcmp(dc->b_info.cmdline, "quiet"),
           "extra alone is the command line");
    tap_ok(conv(BASE "cmdline = 'full'\nextra = 'x'\n", dc, 0, d) == 0 &&
           !strcmp(dc->b_info.cmdline, "full") && kl_diag_count(d) == 1 &&
           kl_diag_severity(d, 0) == KL_SEV_WARNING && strstr(kl_diag_text(d, 0), "ignoring root="),
           "cmdline wins over root/extra, with a warning");
    tap_ok(conv(BASE "seclabel = 'system_u:system_r:domU_t'\n", dc, 0, d) == 0 &&
           !strcmp(dc->c_info.ssid_label, "system_u:system_r:domU_t") && !dc->b_info.exec_ssid_label,
           "seclabel alone labels the domain at creation");
    tap_ok(conv(BASE "seclabel = 'u:r:run_t'\ninit_seclabel = 'u:r:build_t'\n", dc, 0, d) == 0 &&
           !strcmp(dc->c_info.ssid_label, "u:r:build_t") &&
           !strcmp(dc->b_info.exec_ssid_label, "u:r:run_t"),
           "with init_seclabel, seclabel becomes the label applied after build");
}

static void test_cpus(kl_domain_config *dc, kl_diag *d)
{
    tap_ok(conv(BASE "vcpus = 2\nmaxvcpus = 3\ncpus = '1'\n", dc, 0, d) == 0 &&
           dc->b_info.num_vcpu_hard_affinity == 3 &&
           kl_bitmap_test(&dc->b_info.vcpu_hard_affinity[2], 1) &&
           kl_bitmap_count(&dc->b_info.vcpu_hard_affinity[0]) == 1,
           "a cpus string pins every vCPU (up to maxvcpus) to the same set");
    tap_ok(conv(BASE "vcpus = 2\ncpus = ['0', 1]\ncpus_soft = '0-1'\n", dc, 0, d) == 0 &&
           dc->b_info.num_vcpu_hard_affinity == 2 &&
           kl_bitmap_test(&dc->b_info.vcpu_hard_affinity[1], 1) &&
           !kl_bitmap_test(&dc->b_info.vcpu_hard_affinity[1], 0) &&
           dc->b_info.num_vcpu_soft_affinity == 2,
           "a cpus list gives each vCPU its own set; cpus_soft fills the soft affinity");
    tap_ok(conv(BASE "cpus = 'nodes:0'\n", dc, 0, d) == -EINVAL &&
           strstr(kl_diag_first_error(d), "NUMA node terms are not supported"),
           "NUMA node affinity is refused explicitly");
}

static void test_keys_and_errors(kl_domain_config *dc, kl_diag *d)
{
    tap_ok(conv(BASE "vnc = 1\nfrobnicate = 'x'\n", dc, 0, d) == 0 && kl_diag_count(d) == 2 &&
           strstr(kl_diag_text(d, 0), "test.cfg:3:1: warning: vnc: not supported by Keel") &&
           strstr(kl_diag_text(d, 1), "test.cfg:4:1: warning: frobnicate: unknown key"),
           "keys Keel lacks and unknown keys are warnings at the key's position");
    tap_ok(conv(BASE "frobnicate = 'x'\n", dc, KL_CONV_STRICT, d) == -EINVAL &&
           kl_diag_errors(d) == 1, "with KL_CONV_STRICT an unknown key is an error");
    tap_ok(conv("name = '123'\nkernel = '/k'\nvcpus = 0\nmemory = 'x'\non_crash = 'boom'\n", dc,
                0, d) == -EINVAL && kl_diag_errors(d) == 4,
           "every error of a config is reported, not only the first");
    tap_ok(strstr(kl_diag_text(d, 0), "test.cfg:1:8: name: invalid domain name `123'") != NULL,
           "an all-digit name is refused at its position");
    tap_ok(conv(BASE "builder = 'hvm'\n", dc, 0, d) == 0 && dc->c_info.type == KL_DOMAIN_TYPE_HVM &&
           strstr(kl_diag_text(d, 0), "warning: builder: deprecated builder=\"hvm\"") &&
           conv(BASE "builder = 'hvm'\n", dc, KL_CONV_STRICT, d) == -EINVAL,
           "the deprecated builder= is understood: hvm kept with a warning, an error if strict");
    tap_ok(conv("name = 'w'\ntype = 'hvm'\nvnc = 1\npci = [ '00:1b.0' ]\nboot = \"dc\"\n", dc, 0,
                d) == 0 && dc->c_info.type == KL_DOMAIN_TYPE_HVM &&
           kl_string_list_length(&dc->xen_only) == 3 && !strcmp(dc->xen_only[0], "boot = \"dc\"") &&
           !strcmp(dc->xen_only[1], "pci = [ \"00:1b.0\" ]") && !strcmp(dc->xen_only[2], "vnc = 1"),
           "an hvm config converts (no kernel needed) and keeps its Xen-only settings, in key "
           "order");
    {
        kl_domain_config copy;
        kl_domain_config_init(&copy);
        kl_domain_config_copy(&copy, dc);
        kl_diag_clear(d);
        tap_ok(kl_domain_config_setdefault(&copy, d) == -EINVAL && kl_diag_errors(d) == 4 &&
               strstr(kl_diag_text(d, 0), "domain w: type hvm is not supported") &&
               strstr(kl_diag_text(d, 1), "domain w: boot is not supported by Keel (kept"),
               "creating it is refused with every reason (type, each Xen-only setting)");
        kl_domain_config_dispose(&copy);
    }
    tap_ok(conv(BASE "vif = ['devid=1', '']\n", dc, 0, d) == -EINVAL &&
           strstr(kl_diag_first_error(d), "devid 1 of vif[1] is already used by vif[0]"),
           "vif devids default to the list index and must be unique");
    tap_ok(conv(BASE "vif = [ ['nested'] ]\n", dc, 0, d) == -EINVAL &&
           strstr(kl_diag_first_error(d), "test.cfg:3:9: vif[0]: expected a spec string"),
           "a nested list where a spec string belongs is refused");
}

static void test_load_overrides(kl_domain_config *dc, kl_diag *d)
{
    char path[] = "/tmp/kl-test-XXXXXX";
    int fd = mkstemp(path);
    const char *text = BASE "memory = 256\nvif = ['bridge=xenbr0']\n";
    char *ov[] = { "name=renamed", "memory=1024", "vif+=['bridge=xenbr1']" };
    char *bad[] = { "maxmem=128" };
    char *printed;

    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        tap_bail("cannot write a temporary config");
    close(fd);
    kl_diag_clear(d);
    tap_ok(kl_domain_config_load(dc, path, 3, ov, 0, d) == 0 &&
           !strcmp(dc->c_info.name, "renamed") && dc->b_info.target_memkb == 1024 * 1024 &&
           dc->num_nics == 2, "load applies command-line overrides after the file");
    kl_diag_clear(d);
    tap_ok(kl_domain_config_load(dc, path, 1, bad, 0, d) == -EINVAL &&
           strstr(kl_diag_first_error(d), "<command line>:1:8: maxmem: maxmem (128 MiB) is "
                                          "smaller than memory (256 MiB)") &&
           !strcmp(dc->c_info.name, "renamed"),
           "an override's semantic error points into the command line; nothing changes");
    printed = kl_domain_config_to_cfg(dc);
    tap_ok(printed && strstr(printed, "name = \"renamed\"\n") && strstr(printed, "memory = 1024\n") &&
           strstr(printed, "on_reboot = \"restart\"\n") &&
           strstr(printed, "vif = [\n    \"bridge=xenbr0,devid=0\",\n    \"bridge=xenbr1,devid=1\",\n]"),
           "the config prints back as xl.cfg");
    free(printed);
    unlink(path);
}

static void test_setdefault(kl_domain_config *dc, kl_diag *d)
{
    kl_domain_config again;

    tap_ok(conv(BASE "vif = ['', 'mac=00:16:3e:00:00:01,bridge=br9']\nvtpm = ['backend=v']\n", dc,
                KL_CONV_NO_UUID, d) == 0 && kl_domain_config_setdefault(dc, d) == 0,
           "setdefault fills a minimal config");
    tap_ok(dc->b_info.max_memkb == 32768 && dc->b_info.target_memkb == 32768 &&
           dc->b_info.max_vcpus == 1 && kl_bitmap_count(&dc->b_info.avail_vcpus) == 1 &&
           dc->b_info.sched_params.weight == 256 && dc->b_info.sched_params.cap == 0 &&
           !kl_uuid_is_nil(&dc->c_info.uuid), "libxl's defaults: 32 MiB, one vCPU, weight 256");
    tap_ok(dc->nics[0].mac.bytes[0] == 0 && dc->nics[0].mac.bytes[1] == 0x16 &&
           dc->nics[0].mac.bytes[2] == 0x3e && !strcmp(dc->nics[0].bridge, "xenbr0") &&
           dc->nics[1].mac.bytes[5] == 1 && !strcmp(dc->nics[1].bridge, "br9") &&
           !kl_uuid_is_nil(&dc->vtpms[0].uuid),
           "vifs get a random 00:16:3e MAC and xenbr0 unless given; vTPMs a uuid");
    kl_domain_config_copy(&again, dc);
    tap_ok(kl_domain_config_setdefault(&again, d) == 0 && kl_domain_config_equal(&again, dc),
           "setdefault is idempotent");
    kl_domain_config_dispose(&again);
    tap_ok(conv(BASE "memory = 256\n", dc, 0, d) == 0 && kl_domain_config_setdefault(dc, d) == 0 &&
           dc->b_info.max_memkb == 256 * 1024, "memory alone sets maxmem too");
    tap_ok(conv(BASE "maxmem = 256\n", dc, 0, d) == 0 && kl_domain_config_setdefault(dc, d) == 0 &&
           dc->b_info.target_memkb == 256 * 1024, "maxmem alone sets memory too");
    dc->b_info.target_memkb = 512 * 1024;
    kl_diag_clear(d);
    tap_ok(kl_domain_config_setdefault(dc, d) == -EINVAL &&
           strstr(kl_diag_first_error(d), "max_memkb (262144) is smaller than target_memkb"),
           "setdefault refuses max below target");
}

int main(void)
{
    kl_domain_config dc;
    kl_diag *d = kl_diag_new();

    kl_domain_config_init(&dc);
    test_basics(&dc, d);
    test_cmdline_labels(&dc, d);
    test_cpus(&dc, d);
    test_keys_and_errors(&dc, d);
    test_load_overrides(&dc, d);
    test_setdefault(&dc, d);
    kl_domain_config_dispose(&dc);
    kl_diag_free(d);
    return tap_done();
}
