/* xml_export.c - a kl_domain_config as libvirt domain XML (<domain type='xen'>), with the
 * element mapping of libvirt's xen-xl converter for the domain-wide settings: name, uuid,
 * memory / currentMemory, vcpu (current, cpuset) and cputune vcpupin, os (type, kernel,
 * initrd, cmdline), on_poweroff / on_reboot / on_crash. What libvirt has no element for goes
 * to <metadata><keel:config> so that importing the XML gives back an equal config. Devices
 * are in xml_export_dev.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xml_int.h"

xmlNodePtr kx_child(xmlNodePtr parent, const char *name, const char *text)
{
    return xmlNewTextChild(parent, parent->ns, (const xmlChar *)name, (const xmlChar *)text);
}

static void prop(xmlNodePtr n, const char *name, const char *v)
{
    xmlNewProp(n, (const xmlChar *)name, (const xmlChar *)v);
}

static void prop_num(xmlNodePtr n, const char *name, long long v)
{
    char s[32];

    snprintf(s, sizeof s, "%lld", v);
    prop(n, name, s);
}

static void setting(xmlNodePtr keel, const char *name, const char *value)
{
    prop(kx_child(keel, "setting", value), "name", name);
}

static void setting_num(xmlNodePtr keel, const char *name, long long v)
{
    char s[32];

    snprintf(s, sizeof s, "%lld", v);
    setting(keel, name, s);
}

static bool uniform(const kl_bitmap *a, int n)
{
    for (int i = 1; i < n; i++)
        if (!kl__bitmap_equal(&a[i], &a[0]))
            return false;
    return true;
}

/* libvirt needs a <memory>: an unset size is written as the default the domain would get,
 * marked <keel:memory-unset/> so that importing leaves it unset. */
static void memory(const kl_domain_build_info *b, xmlNodePtr root, xmlNodePtr keel)
{
    char s[32];
    uint64_t mem = b->max_memkb != KL_MEMKB_DEFAULT ? b->max_memkb : b->target_memkb;

    if (mem == KL_MEMKB_DEFAULT) {
        mem = KL_DEFAULT_MEMKB;
        kx_child(keel, "memory-unset", NULL);
    }
    snprintf(s, sizeof s, "%" PRIu64, mem);
    prop(kx_child(root, "memory", s), "unit", "KiB");
    if (b->max_memkb != KL_MEMKB_DEFAULT && b->target_memkb != KL_MEMKB_DEFAULT) {
        snprintf(s, sizeof s, "%" PRIu64, b->target_memkb);
        prop(kx_child(root, "currentMemory", s), "unit", "KiB");
    }
}

static void vcpus(const kl_domain_build_info *b, xmlNodePtr root, xmlNodePtr keel)
{
    unsigned cur = kl_bitmap_count(&b->avail_vcpus);
    int n = b->num_vcpu_hard_affinity, ns = b->num_vcpu_soft_affinity;
    xmlNodePtr v, tune;
    char s[32], *set;

    if (b->max_vcpus <= 0)
        return;
    snprintf(s, sizeof s, "%d", b->max_vcpus);
    v = kx_child(root, "vcpu", s);
    prop(v, "placement", "static");
    if (cur != (unsigned)b->max_vcpus)
        prop_num(v, "current", cur);
    if (n > 0 && n == b->max_vcpus && uniform(b->vcpu_hard_affinity, n)) {
        if ((set = kl_bitmap_to_cpulist(&b->vcpu_hard_affinity[0])))
            prop(v, "cpuset", set);
        free(set);
    } else if (n > 0) {
        tune = kx_child(root, "cputune", NULL);
        for (int i = 0; i < n; i++) {
            xmlNodePtr pin = kx_child(tune, "vcpupin", NULL);
            prop_num(pin, "vcpu", i);
            if ((set = kl_bitmap_to_cpulist(&b->vcpu_hard_affinity[i])))
                prop(pin, "cpuset", set);
            free(set);
        }
    }
    if (ns > 0 && ns == b->max_vcpus && uniform(b->vcpu_soft_affinity, ns)) {
        if ((set = kl_bitmap_to_cpulist(&b->vcpu_soft_affinity[0])))
            setting(keel, "cpus_soft", set);
        free(set);
    } else if (ns > 0) {
        xmlNodePtr l = kx_child(keel, "setting", NULL);
        prop(l, "name", "cpus_soft");
        for (int i = 0; i < ns; i++) {
            set = kl_bitmap_to_cpulist(&b->vcpu_soft_affinity[i]);
            kx_child(l, "item", set ? set : "");
            free(set);
        }
    }
}

static void os(const kl_domain_config *dc, xmlNodePtr root, xmlNodePtr keel)
{
    const kl_domain_build_info *b = &dc->b_info;
    xmlNodePtr o = kx_child(root, "os", NULL), t;
    const char *type = "xenpvh", *machine = "xenpvh";

    if (dc->c_info.type == KL_DOMAIN_TYPE_PV)
        type = "linux", machine = "xenpv";
    else if (dc->c_info.type == KL_DOMAIN_TYPE_HVM)
        type = "hvm", machine = "xenfv";
    t = kx_child(o, "type", type);
    prop(t, "machine", machine);
    /* libvirt wants absolute paths; a relative one (looked up by xl) stays in the metadata */
    if (b->kernel && b->kernel[0] == '/')
        kx_child(o, "kernel", b->kernel);
    else if (b->kernel)
        setting(keel, "kernel", b->kernel);
    if (b->ramdisk && b->ramdisk[0] == '/')
        kx_child(o, "initrd", b->ramdisk);
    else if (b->ramdisk)
        setting(keel, "ramdisk", b->ramdisk);
    if (b->cmdline)
        kx_child(o, "cmdline", b->cmdline);
}

/* on_poweroff / on_reboot / on_crash where libvirt's schema has the value, else metadata. */
static void actions(const kl_domain_config *dc, xmlNodePtr root, xmlNodePtr keel)
{
    const struct { const char *key; kl_action_on_shutdown a; bool crash; } acts[] = {
        { "on_poweroff", dc->on_poweroff, false }, { "on_reboot", dc->on_reboot, false },
        { "on_crash", dc->on_crash, true },
    };

    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        kl_action_on_shutdown a = acts[i].a;
        const char *s = kl_action_to_xl(a);
        bool ok = a == KL_ACTION_ON_SHUTDOWN_DESTROY || a == KL_ACTION_ON_SHUTDOWN_RESTART ||
                  a == KL_ACTION_ON_SHUTDOWN_RESTART_RENAME ||
                  a == KL_ACTION_ON_SHUTDOWN_PRESERVE ||
                  (acts[i].crash && (a == KL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY ||
                                     a == KL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART));
        if (s && ok)
            kx_child(root, acts[i].key, s);
        else if (s)
            setting(keel, acts[i].key, s);
    }
    if (dc->on_watchdog != KL_ACTION_ON_SHUTDOWN_DESTROY && kl_action_to_xl(dc->on_watchdog))
        setting(keel, "on_watchdog", kl_action_to_xl(dc->on_watchdog));
    if (dc->on_soft_reset != KL_ACTION_ON_SHUTDOWN_SOFT_RESET &&
        kl_action_to_xl(dc->on_soft_reset))
        setting(keel, "on_soft_reset", kl_action_to_xl(dc->on_soft_reset));
}

/* Settings of Keel's configuration that libvirt has no element for. */
static void keel_settings(const kl_domain_config *dc, xmlNodePtr keel)
{
    const kl_domain_create_info *c = &dc->c_info;
    const kl_domain_build_info *b = &dc->b_info;

    if (c->pool_name)
        setting(keel, "pool", c->pool_name);
    if (b->exec_ssid_label) {
        if (c->ssid_label)
            setting(keel, "init_seclabel", c->ssid_label);
        setting(keel, "seclabel", b->exec_ssid_label);
    } else if (c->ssid_label) {
        setting(keel, "seclabel", c->ssid_label);
    }
    if (b->sched_params.weight != KL_DOMAIN_SCHED_PARAM_WEIGHT_DEFAULT)
        setting_num(keel, "cpu_weight", b->sched_params.weight);
    if (b->sched_params.cap != KL_DOMAIN_SCHED_PARAM_CAP_DEFAULT)
        setting_num(keel, "cap", b->sched_params.cap);
    if (!kl_defbool_is_default(b->disable_migrate))
        setting_num(keel, "nomigrate", kl_defbool_val_or(b->disable_migrate, false));
    if (!kl_defbool_is_default(c->driver_domain))
        setting_num(keel, "driver_domain", kl_defbool_val_or(c->driver_domain, false));
    if (b->max_maptrack_frames >= 0)
        setting_num(keel, "max_maptrack_frames", b->max_maptrack_frames);
}

static char *dump(xmlDocPtr doc, xmlNodePtr root)
{
    xmlBufferPtr buf = xmlBufferCreate();
    char *out = NULL;

    if (buf && xmlNodeDump(buf, doc, root, 0, 1) >= 0)
        if (asprintf(&out, "%s\n", (const char *)xmlBufferContent(buf)) < 0)
            out = NULL;
    if (buf)
        xmlBufferFree(buf);
    return out;
}

char *kl_domain_config_to_xml(const kl_domain_config *dc, int domid)
{
    xmlDocPtr doc;
    xmlNodePtr root, meta, keel, devices;
    char u[KL_UUID_STRLEN], why[128];
    char *out;

    if (kx_dl_load(why, sizeof(why)) < 0 || !(doc = xmlNewDoc((const xmlChar *)"1.0")))
        return NULL;                  /* libxml2 missing (xml_dl.c), or out of memory */
    root = xmlNewDocNode(doc, NULL, (const xmlChar *)"domain", NULL);
    xmlDocSetRootElement(doc, root);
    prop(root, "type", "xen");
    if (domid >= 0)
        prop_num(root, "id", domid);
    if (dc->c_info.name)
        kx_child(root, "name", dc->c_info.name);
    if (!kl_uuid_is_nil(&dc->c_info.uuid)) {
        kl_uuid_to_string(&dc->c_info.uuid, u);
        kx_child(root, "uuid", u);
    }
    meta = kx_child(root, "metadata", NULL);
    keel = xmlNewChild(meta, NULL, (const xmlChar *)"config", NULL);
    xmlSetNs(keel, xmlNewNs(keel, (const xmlChar *)KL_XML_NS, (const xmlChar *)"keel"));
    memory(&dc->b_info, root, keel);
    vcpus(&dc->b_info, root, keel);
    os(dc, root, keel);
    actions(dc, root, keel);
    keel_settings(dc, keel);
    devices = kx_child(root, "devices", NULL);
    kx_export_devices(dc, devices, keel);
    kx_export_xen_only(dc, root, keel);
    if (!keel->children) {
        xmlUnlinkNode(meta);
        xmlFreeNode(meta);
    }
    out = dump(doc, root);
    xmlFreeDoc(doc);
    return out;
}
