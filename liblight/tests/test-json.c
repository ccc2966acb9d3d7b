/* test-json.c - the JSON form of every configuration type: a fully populated value and a
 * default one survive to_json -> from_json (equal, and the same text again), copies are
 * equal, libxl-shaped input with unknown keys is accepted, and malformed input is rejected
 * with the JSON path in the message and the target left untouched. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "testutil.h"

#define ROUND_TRIP(T, val, what)                                                        \
    do {                                                                                \
        kl_##T back, cp;                                                                \
        char *j1 = kl_##T##_to_json(val), *j2 = NULL;                                   \
        kl_diag *d = kl_diag_new();                                                     \
        kl_##T##_init(&back);                                                           \
        tap_ok(j1 && kl_##T##_from_json(&back, j1, d) == 0, "%s: JSON parses back", what); \
        tap_ok(kl_##T##_equal(val, &back), "%s: round trip gives an equal value", what); \
        j2 = kl_##T##_to_json(&back);                                                   \
        tap_ok(j1 && j2 && !strcmp(j1, j2), "%s: round trip gives the same JSON", what);  \
        tap_ok(kl_##T##_copy(&cp, val) == 0 && kl_##T##_equal(&cp, val),                \
               "%s: a deep copy is equal", what);                                       \
        kl_##T##_dispose(&cp);                                                          \
        kl_##T##_dispose(&back);                                                        \
        kl_diag_free(d);                                                                \
        free(j1);                                                                       \
        free(j2);                                                                       \
    } while (0)

static char *S(const char *s) { return strdup(s); }

static void fill_disk(kl_device_disk *k, int i)
{
    kl_device_disk_init(k);
    k->backend_domid = 7;
    k->backend_domname = S("storage");
    k->pdev_path = S(i ? "/srv/b.qcow2" : "/dev/vg/a");
    k->vdev = S(i ? "xvdb" : "xvda");
    k->backend = KL_DISK_BACKEND_QDISK;
    k->format = KL_DISK_FORMAT_QCOW2;
    k->script = S("block-iscsi");
    k->removable = 1;
    k->readwrite = 1;
    k->is_cdrom = 1;
    k->direct_io_safe = true;
    kl_defbool_set(&k->discard_enable, false);
    k->specification = KL_DISK_SPECIFICATION_XEN;
    kl_defbool_set(&k->trusted, true);
}

static void fill_nic(kl_device_nic *n, int i)
{
    kl_device_nic_init(n);
    n->backend_domid = 1;
    n->backend_domname = S("netdom");
    n->devid = i;
    n->mtu = 9000;
    n->vlan = S("10p/20");
    n->model = S("e1000");
    kl_mac_from_string(&n->mac, "00:16:3e:aa:bb:cc");
    n->ip = S("192.0.2.10");
    n->bridge = S("xenbr1");
    n->ifname = S("vif-web");
    n->script = S("vif-route");
    n->nictype = KL_NIC_TYPE_VIF;
    n->rate_bytes_per_interval = 20000;
    n->rate_interval_usecs = 20000;
    n->gatewaydev = S("eth0");
    kl_defbool_set(&n->trusted, false);
}

static void fill_config(kl_domain_config *dc)
{
    kl_domain_config_init(dc);
    dc->c_info.type = KL_DOMAIN_TYPE_PVH;
    dc->c_info.name = S("web \"1\"\n\\");
    kl_uuid_from_string(&dc->c_info.uuid, "6b4a3c2e-1f0d-4e5a-9b8c-7d6e5f4a3b2c");
    dc->c_info.ssid_label = S("system_u:system_r:domU_t");
    dc->c_info.pool_name = S("Pool-0");
    kl_defbool_set(&dc->c_info.driver_domain, true);
    dc->b_info.max_vcpus = 4;
    for (unsigned i = 0; i < 3; i++)
        kl_bitmap_set(&dc->b_info.avail_vcpus, i);
    dc->b_info.vcpu_hard_affinity = calloc(2, sizeof(kl_bitmap));
    dc->b_info.num_vcpu_hard_affinity = 2;
    kl_bitmap_set(&dc->b_info.vcpu_hard_affinity[0], 0);
    kl_bitmap_set(&dc->b_info.vcpu_hard_affinity[1], 4095);
    dc->b_info.vcpu_soft_affinity = calloc(1, sizeof(kl_bitmap));
    dc->b_info.num_vcpu_soft_affinity = 1;
    kl_bitmap_set(&dc->b_info.vcpu_soft_affinity[0], 1);
    dc->b_info.max_memkb = UINT64_MAX - 1;
    dc->b_info.target_memkb = 524288;
    dc->b_info.exec_ssid_label = S("system_u:system_r:domU_t:s0");
    kl_defbool_set(&dc->b_info.disable_migrate, true);
    dc->b_info.max_grant_frames = 64;
    dc->b_info.max_maptrack_frames = 0;
    dc->b_info.event_channels = 1023;
    dc->b_info.sched_params.weight = 512;
    dc->b_info.sched_params.cap = 0;
    dc->b_info.kernel = S("/boot/vmlinuz");
    dc->b_info.cmdline = S("root=/dev/xvda1 ro");
    dc->b_info.ramdisk = S("/boot/initrd");
    dc->disks = calloc(2, sizeof(*dc->disks));
    dc->num_disks = 2;
    fill_disk(&dc->disks[0], 0);
    fill_disk(&dc->disks[1], 1);
    dc->nics = calloc(2, sizeof(*dc->nics));
    dc->num_nics = 2;
    fill_nic(&dc->nics[0], 0);
    fill_nic(&dc->nics[1], 1);
    dc->vtpms = calloc(1, sizeof(*dc->vtpms));
    dc->num_vtpms = 1;
    kl_device_vtpm_init(&dc->vtpms[0]);
    dc->vtpms[0].backend_domname = S("vtpmmgr");
    dc->vtpms[0].devid = 0;
    kl_uuid_generate(&dc->vtpms[0].uuid);
    dc->p9s = calloc(1, sizeof(*dc->p9s));
    dc->num_p9s = 1;
    kl_device_p9_init(&dc->p9s[0]);
    dc->p9s[0].tag = S("share");
    dc->p9s[0].path = S("/srv");
    dc->p9s[0].security_model = S("none");
    dc->p9s[0].devid = 0;
    dc->channels = calloc(1, sizeof(*dc->channels));
    dc->num_channels = 1;
    kl_device_channel_init(&dc->channels[0]);
    dc->channels[0].name = S("agent");
    dc->channels[0].connection = KL_CHANNEL_CONNECTION_SOCKET;
    dc->channels[0].path = S("/run/agent.sock");
    dc->on_poweroff = KL_ACTION_ON_SHUTDOWN_PRESERVE;
    dc->on_reboot = KL_ACTION_ON_SHUTDOWN_RESTART_RENAME;
    dc->on_watchdog = KL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY;
    dc->on_crash = KL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART;
    dc->on_soft_reset = KL_ACTION_ON_SHUTDOWN_SOFT_RESET;
}

static void test_round_trips(void)
{
    kl_domain_config dc, empty;

    fill_config(&dc);
    ROUND_TRIP(domain_config, &dc, "domain_config (populated)");
    ROUND_TRIP(domain_create_info, &dc.c_info, "domain_create_info");
    ROUND_TRIP(domain_build_info, &dc.b_info, "domain_build_info");
    ROUND_TRIP(domain_sched_params, &dc.b_info.sched_params, "domain_sched_params");
    ROUND_TRIP(device_disk, &dc.disks[1], "device_disk");
    ROUND_TRIP(device_nic, &dc.nics[1], "device_nic");
    ROUND_TRIP(device_vtpm, &dc.vtpms[0], "device_vtpm");
    ROUND_TRIP(device_p9, &dc.p9s[0], "device_p9");
    ROUND_TRIP(device_channel, &dc.channels[0], "device_channel");
    kl_domain_config_init(&empty);
    ROUND_TRIP(domain_config, &empty, "domain_config (defaults)");
    {
        char *j = kl_domain_config_to_json(&empty);
        tap_ok(j && j[0] == '{' && !strchr(j, '"'), "a default config is an empty object (defaults are omitted, as libxl does)");
        free(j);
    }
    {
        char *j = kl_domain_config_to_json(&dc);
        tap_ok(j && strstr(j, "\"max_memkb\": 18446744073709551614") &&
                   strstr(j, "\"on_reboot\": \"restart_rename\"") &&
                   strstr(j, "\"disable_migrate\": \"True\"") && strstr(j, "4095"),
               "64-bit sizes, enums, defbools and bitmaps have libxl's JSON form");
        free(j);
    }
    kl_domain_config_dispose(&empty);
    kl_domain_config_dispose(&dc);
}

static void test_enums(void)
{
    kl_action_on_shutdown a;
    kl_disk_format f;

    tap_ok(!strcmp(kl_action_on_shutdown_to_string(KL_ACTION_ON_SHUTDOWN_RESTART_RENAME),
                   "restart_rename"), "enum to string uses libxl's names");
    tap_ok(kl_action_on_shutdown_from_string("COREDUMP_DESTROY", &a) == 0 &&
           a == KL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY, "enum from string ignores case");
    tap_ok(kl_disk_format_from_string("qcow3", &f) == -EINVAL, "an unknown enum name is -EINVAL");
    tap_ok(kl_action_on_shutdown_to_string((kl_action_on_shutdown)99) == NULL,
           "an out-of-range enum has no name");
}

static void test_libxl_shaped(void)
{
    const char *json =
        "{ \"c_info\": { \"type\": \"pvh\", \"name\": \"xl-made\", \"hap\": \"<default>\","
        "  \"ssidref\": 0, \"xsdata\": {\"k\": \"v\"}, \"uuid\": \"00000000-0000-0000-0000-000000000001\" },"
        "  \"b_info\": { \"max_vcpus\": 2, \"avail_vcpus\": [0, 1], \"target_memkb\": 131072,"
        "    \"sched_params\": { \"weight\": 256 }, \"type.pvh\": { \"pvshim\": \"False\" } },"
        "  \"disks\": [ { \"pdev_path\": \"/img\", \"vdev\": \"xvda\", \"format\": \"raw\","
        "    \"readwrite\": 1, \"discard_enable\": \"True\" } ],"
        "  \"nics\": [ { \"devid\": 0, \"mac\": \"00:16:3e:01:02:03\", \"nictype\": \"vif\" } ],"
        "  \"on_reboot\": \"restart\", \"pcidevs\": [] }";
    kl_domain_config dc;
    kl_diag *d = kl_diag_new();

    kl_domain_config_init(&dc);
    tap_ok(kl_domain_config_from_json(&dc, json, d) == 0,
           "libxl-shaped JSON with fields Keel lacks (hap, xsdata, type.pvh, pcidevs) parses");
    tap_ok(dc.c_info.name && !strcmp(dc.c_info.name, "xl-made") && dc.b_info.max_vcpus == 2 &&
           kl_bitmap_count(&dc.b_info.avail_vcpus) == 2 && dc.b_info.target_memkb == 131072 &&
           dc.b_info.sched_params.weight == 256 && dc.num_disks == 1 &&
           kl_defbool_val_or(dc.disks[0].discard_enable, false) && dc.num_nics == 1 &&
           dc.nics[0].mac.bytes[5] == 3 && dc.on_reboot == KL_ACTION_ON_SHUTDOWN_RESTART,
           "its known fields land in the right places");
    kl_domain_config_dispose(&dc);
    kl_diag_free(d);
}

static void test_errors(void)
{
    static const struct { const char *json, *frag; } cases[] = {
        { "{\"b_info\": {\"max_vcpus\": \"two\"}}", "JSON: b_info.max_vcpus: expected an integer" },
        { "{\"disks\": [{}, {\"format\": \"qcow9\"}]}", "JSON: disks[1].format: expected one of" },
        { "{\"b_info\": {\"vcpu_hard_affinity\": [[0], [4096]]}}",
          "b_info.vcpu_hard_affinity[1][0]: integer out of range" },
        { "{\"c_info\": {\"uuid\": \"not-a-uuid\"}}", "c_info.uuid: expected a UUID string" },
        { "{\"nics\": [{\"mac\": \"00:16:3e\"}]}", "nics[0].mac: expected a MAC address" },
        { "{\"b_info\": {\"max_memkb\": -1}}", "b_info.max_memkb: expected a non-negative integer" },
        { "{\"b_info\": {\"max_memkb\": 1.5}}", "b_info.max_memkb: expected a non-negative integer" },
        { "{\"c_info\": {\"driver_domain\": \"maybe\"}}", "c_info.driver_domain: expected \"True\"" },
        { "{\"nics\": {}}", "nics: expected an array" },
        { "[]", "(top level): expected an object" },
        { "{\"c_info\": ", "JSON: syntax error" },
        { "{\"b_info\": {\"max_vcpus\": 99999999999}}", "integer out of range" },
        { "{\"disks\": [{\"devid\": 1}, 5]}", "disks[1]: expected an object" },
    };
    char deep[300];
    kl_domain_config dc;
    kl_diag *d = kl_diag_new();

    kl_domain_config_init(&dc);
    dc.c_info.name = strdup("keep");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kl_diag_clear(d);
        tap_ok(kl_domain_config_from_json(&dc, cases[i].json, d) == -EINVAL &&
                   kl_diag_first_error(d) && strstr(kl_diag_first_error(d), cases[i].frag),
               "bad JSON %zu rejected with \"%s\"", i, cases[i].frag);
        if (!kl_diag_first_error(d) || !strstr(kl_diag_first_error(d), cases[i].frag))
            tap_diag("got: %s", kl_diag_first_error(d) ? kl_diag_first_error(d) : "(none)");
    }
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = '\0';
    kl_diag_clear(d);
    tap_ok(kl_domain_config_from_json(&dc, deep, d) == -EINVAL &&
           strstr(kl_diag_first_error(d), "nested deeper"), "deeply nested JSON is refused");
    tap_ok(!strcmp(dc.c_info.name, "keep"), "failed parses leave the target untouched");
    kl_domain_config_dispose(&dc);
    kl_diag_free(d);
}

static void test_xl_wrapper(void)
{
    kl_domain_config dc, inner;
    char *w = NULL, *plain;
    yajl_val root, domid, cfgv;
    const char *dpath[] = { "domid", NULL }, *cpath[] = { "config", "c_info", "name", NULL };
    kl_diag *d = kl_diag_new();
    char err[128];

    fill_config(&dc);
    w = kl_domain_config_to_xl_json(&dc, -1);
    root = w ? yajl_tree_parse(w, err, sizeof err) : NULL;
    domid = root ? yajl_tree_get(root, dpath, yajl_t_any) : NULL;
    cfgv = root ? yajl_tree_get(root, cpath, yajl_t_string) : NULL;
    tap_ok(root && domid && YAJL_IS_NULL(domid) && cfgv && !strcmp(cfgv->u.string, dc.c_info.name),
           "xl's -N wrapper is {\"domid\": null, \"config\": {...}}");
    yajl_tree_free(root);
    plain = kl_domain_config_to_json(&dc);
    kl_domain_config_init(&inner);
    {
        /* the config part, one indentation level removed, is exactly the plain JSON */
        const char *c = w ? strstr(w, "\"config\": ") : NULL;
        char *un = calloc(1, w ? strlen(w) + 1 : 1);
        size_t k = 0;
        for (const char *p = c ? c + 10 : ""; *p; p++) {
            un[k++] = *p;
            if (*p == '\n' && !strncmp(p + 1, "    ", 4))
                p += 4;
        }
        if (k >= 2 && un[k - 2] == '}' && un[k - 1] == '\n')
            k -= 2; /* the wrapper's own closing brace */
        un[k] = '\0';
        tap_ok(plain && c && !strcmp(un, plain),
               "the config is the plain JSON nested one indentation level deeper");
        free(un);
    }
    free(w);
    w = kl_domain_config_to_xl_json(&dc, 7);
    tap_ok(w && !strncmp(w, "{\n    \"domid\": 7,\n", strlen("{\n    \"domid\": 7,\n")),
           "a real domid is a number");
    free(w);
    free(plain);
    kl_domain_config_dispose(&inner);
    kl_domain_config_dispose(&dc);
    kl_diag_free(d);
}

int main(void)
{
    test_xl_wrapper();
    test_round_trips();
    test_enums();
    test_libxl_shaped();
    test_errors();
    return tap_done();
}
