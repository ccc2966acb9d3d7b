/* xml_import_dev.c - the <devices> of a libvirt domain XML as xl.cfg device specs, with the
 * mapping of libvirt's xen-xl converter: <disk> -> disk=[...] (driver name = backendtype,
 * driver type = format, source = target, readonly = access), <interface> (bridge/ethernet)
 * -> vif=[...] (mac, bridge, ip, script, vifname, model, bandwidth = rate, mtu, backend),
 * <channel> -> channel=[...], <filesystem> -> p9=[...], the xenbus <controller> -> grant
 * and event channel limits. Spec keys libvirt lacks come from <keel:config>. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xml_int.h"

/* A value going into a comma-separated spec must not contain a comma (or be empty). */
static bool spec_safe(kx_imp *im, xmlNodePtr n, const char *attr, const char *v)
{
    if (!v || !*v || strchr(v, ',') || strchr(v, '\n')) {
        kx_err(im, n, "%s: `%.60s' is empty or contains a comma", attr, v ? v : "");
        return false;
    }
    return true;
}

static void spec_kv(kx_imp *im, xmlNodePtr n, kl__buf *b, const char *key, const char *attr,
                    const char *v)
{
    if (v && spec_safe(im, n, attr, v))
        kl__buf_add(b, "%s%s=%s", b->len ? "," : "", key, v);
}

/* Move an attribute into *dst (freeing the previous value). */
static void take(char **dst, xmlNodePtr n, const char *attr)
{
    char *v = kx_prop(n, attr);

    if (v) {
        free(*dst);
        *dst = v;
    }
}

struct disk_src {
    char *path, *proto, *name, *hosts;
};

/* <source> of a network disk: rbd and nbd become qemu's target strings, as libvirt writes. */
static void net_source(kx_imp *im, xmlNodePtr s, struct disk_src *ds)
{
    kl__buf h = { 0 };

    take(&ds->proto, s, "protocol");
    take(&ds->name, s, "name");
    for (xmlNodePtr c = s->children; c; c = c->next) {
        char *host, *port;
        if (!kx_is(c, "host"))
            continue;
        host = kx_prop(c, "name");
        port = kx_prop(c, "port");
        if (!host || strchr(host, ':') || strchr(host, ';') || (port && strchr(port, ':')))
            kx_err(im, c, "name: missing or invalid host `%.60s'", host ? host : "");
        else if (ds->proto && !strcmp(ds->proto, "rbd"))
            kl__buf_add(&h, "%s%s%s%s", h.len ? "\\;" : "", host, port ? "\\:" : "",
                        port ? port : "");
        else
            kl__buf_add(&h, "%s%s%s%s", h.len ? ";" : "", host, port ? ":" : "",
                        port ? port : "");
        free(host);
        free(port);
    }
    free(ds->hosts);
    ds->hosts = kl__buf_take(&h);
}

/* A volume of the pool "keel" is a target given to the disk's hotplug script as it is. */
static void volume_source(kx_imp *im, xmlNodePtr s, struct disk_src *ds)
{
    char *pool = kx_prop(s, "pool");

    if (!pool || strcmp(pool, KL_XML_SCRIPT_POOL))
        kx_unsupported(im, s, "storage pools (only the pool \"" KL_XML_SCRIPT_POOL "\" of "
                       "script targets)");
    else
        take(&ds->path, s, "volume");
    free(pool);
}

static char *disk_target(kx_imp *im, xmlNodePtr n, struct disk_src *ds)
{
    char *t = NULL;
    int r = 0;

    if (!ds->proto)
        return ds->path ? strdup(ds->path) : NULL;
    if (!strcmp(ds->proto, "rbd") && ds->name)
        r = ds->hosts && *ds->hosts ? asprintf(&t, "rbd:%s:mon_host=%s", ds->name, ds->hosts)
                                    : asprintf(&t, "rbd:%s", ds->name);
    else if (!strcmp(ds->proto, "nbd") && ds->hosts && *ds->hosts && !strchr(ds->hosts, ';'))
        r = ds->name ? asprintf(&t, "nbd:%s:exportname=%s", ds->hosts, ds->name)
                     : asprintf(&t, "nbd:%s", ds->hosts);
    else
        kx_err(im, n, "source: network protocol `%.20s' is not supported (rbd with a name, "
               "nbd with one host)", ds->proto);
    return r < 0 ? NULL : t;
}

static const char *disk_backend(const char *driver)
{
    if (!strcmp(driver, "qemu"))
        return "qdisk";
    if (!strcmp(driver, "tap") || !strcmp(driver, "tap2"))
        return "tap";
    if (!strcmp(driver, "phy") || !strcmp(driver, "standalone"))
        return driver;
    return NULL;
}

static void do_disk(kx_imp *im, xmlNodePtr n)
{
    char *device = kx_prop(n, "device"), *dtype = kx_prop(n, "type");
    char *drv = NULL, *fmt = NULL, *discard = NULL, *vdev = NULL, *backend = NULL, *extra;
    struct disk_src ds = { 0 };
    bool ro = false;
    kl__buf b = { 0 };
    char *target;

    if (device && strcmp(device, "disk") && strcmp(device, "cdrom"))
        kx_unsupported(im, n, "only disk and cdrom devices");
    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (kx_is(c, "driver")) {
            take(&drv, c, "name");
            take(&fmt, c, "type");
            take(&discard, c, "discard");
        } else if (kx_is(c, "source")) {
            take(&ds.path, c, "file");
            take(&ds.path, c, "dev");
            if (dtype && !strcmp(dtype, "network"))
                net_source(im, c, &ds);
            if (dtype && !strcmp(dtype, "volume"))
                volume_source(im, c, &ds);
        } else if (kx_is(c, "target")) {
            take(&vdev, c, "dev");
        } else if (kx_is(c, "readonly")) {
            ro = true;
        } else if (kx_is(c, "backenddomain")) {
            take(&backend, c, "name");
        } else if (kx_is(c, "alias") || kx_is(c, "address")) {
            ; /* assigned by libvirt, no setting */
        } else {
            kx_unsupported(im, c, "disk setting without an xl disk spec equivalent");
        }
    }
    if (!vdev)
        kx_err(im, n, "<target dev=...> is missing");
    spec_kv(im, n, &b, "vdev", "target dev", vdev);
    kl__buf_add(&b, ",access=%s", ro ? "ro" : "rw");
    if (fmt && strcmp(fmt, "raw") && strcmp(fmt, "qcow") && strcmp(fmt, "qcow2") &&
        strcmp(fmt, "vhd") && strcmp(fmt, "qed"))
        kx_err(im, n, "driver type: format `%.20s' is not supported (raw, qcow, qcow2, vhd, "
               "qed)", fmt);
    else if (fmt)
        kl__buf_add(&b, ",format=%s", fmt);
    if (drv && !disk_backend(drv))
        kx_err(im, n, "driver name: `%.20s' is not a Xen disk backend (qemu, phy, tap, "
               "standalone)", drv);
    else if (drv)
        kl__buf_add(&b, ",backendtype=%s", disk_backend(drv));
    if (device && !strcmp(device, "cdrom"))
        kl__buf_add(&b, ",devtype=cdrom");
    spec_kv(im, n, &b, "backend", "backenddomain name", backend);
    if (discard && strcmp(discard, "unmap") && strcmp(discard, "ignore"))
        kx_err(im, n, "driver discard: `%.20s' (expected unmap or ignore)", discard);
    else if (discard)
        kl__buf_add(&b, ",%s", strcmp(discard, "unmap") ? "no-discard" : "discard");
    target = disk_target(im, n, &ds);
    if ((extra = kx_keel_spec(im, "disk", "target", vdev))) {
        /* a target kept in the metadata (not a path) is last; a <source> replaces it */
        char *t = !strncmp(extra, "target=", 7) ? extra : strstr(extra, ",target=");
        if (t && target)
            *t = '\0';
        if (*extra)
            kl__buf_add(&b, ",%s", extra);
    }
    if (target)
        kl__buf_add(&b, ",target=%s", target);
    kx_list_add(im, &im->disks, n, kl__buf_take(&b));
    free(target);
    free(extra);
    free(device), free(dtype), free(drv), free(fmt), free(discard), free(vdev), free(backend);
    free(ds.path), free(ds.proto), free(ds.name), free(ds.hosts);
}

/* "rate=..." from a spec fragment as B/s rounded up to KiB/s (libvirt's average), or 0. */
static uint64_t spec_rate_kib(const char *spec)
{
    kl_device_nic nic;
    uint64_t kib = 0;

    kl_device_nic_init(&nic);
    if (spec && !kl_device_nic_parse_spec(&nic, spec, NULL) && nic.rate_interval_usecs) {
        uint64_t us = nic.rate_interval_usecs;
        uint64_t bps = (nic.rate_bytes_per_interval * 1000000 + us - 1) / us;
        kib = (bps + 1023) / 1024;
    }
    kl_device_nic_dispose(&nic);
    return kib;
}

/* Split a spec fragment into the rate term and the rest. */
static void split_rate(const char *extra, char **rate, char **rest)
{
    kl__buf r = { 0 }, o = { 0 };
    char *dup = extra ? strdup(extra) : NULL, *save = NULL;

    for (char *t = dup ? strtok_r(dup, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
        kl__buf_add(strncmp(t, "rate=", 5) ? &o : &r, "%s%s", (strncmp(t, "rate=", 5) ? o.len
                    : r.len) ? "," : "", t);
    free(dup);
    *rate = kl__buf_take(&r);
    *rest = kl__buf_take(&o);
}

struct nic_xml {
    char *type, *mac, *bridge, *script, *ifname, *model, *avg, *mtu, *backend;
    kl__buf ip;
};

static void nic_child(kx_imp *im, xmlNodePtr c, struct nic_xml *x)
{
    if (kx_is(c, "mac")) {
        take(&x->mac, c, "address");
    } else if (kx_is(c, "source")) {
        take(&x->bridge, c, "bridge");
    } else if (kx_is(c, "ip")) {
        char *a = kx_prop(c, "address"), *p = kx_prop(c, "prefix");
        if (!a || strchr(a, ' ') || strchr(a, ',') || (p && (strchr(p, ' ') || strchr(p, ','))))
            kx_err(im, c, "address: missing or invalid `%.60s'", a ? a : "");
        else
            kl__buf_add(&x->ip, "%s%s%s%s", x->ip.len ? " " : "", a, p ? "/" : "", p ? p : "");
        free(a);
        free(p);
    } else if (kx_is(c, "script")) {
        take(&x->script, c, "path");
    } else if (kx_is(c, "target")) {
        take(&x->ifname, c, "dev");
    } else if (kx_is(c, "model")) {
        take(&x->model, c, "type");
    } else if (kx_is(c, "mtu")) {
        take(&x->mtu, c, "size");
    } else if (kx_is(c, "backenddomain")) {
        take(&x->backend, c, "name");
    } else if (kx_is(c, "bandwidth")) {
        for (xmlNodePtr o = c->children; o; o = o->next) {
            if (kx_is(o, "outbound"))
                take(&x->avg, o, "average");
            else if (o->type == XML_ELEMENT_NODE)
                kx_unsupported(im, o, "only the outbound average rate");
        }
    } else if (kx_is(c, "alias") || kx_is(c, "address")) {
        ;
    } else {
        kx_unsupported(im, c, "interface setting without an xl vif spec equivalent");
    }
}

static void do_interface(kx_imp *im, xmlNodePtr n, size_t index)
{
    struct nic_xml x = { .type = kx_prop(n, "type") };
    char idx[24], *extra, *xrate = NULL, *xrest = NULL;
    kl__buf b = { 0 };

    if (!x.type || (strcmp(x.type, "bridge") && strcmp(x.type, "ethernet"))) {
        kx_unsupported(im, n, "interface types other than bridge and ethernet");
        free(x.type);
        return;
    }
    for (xmlNodePtr c = n->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            nic_child(im, c, &x);
    snprintf(idx, sizeof idx, "%zu", index);
    extra = kx_keel_spec(im, "interface", "index", idx);
    split_rate(extra, &xrate, &xrest);
    kl__buf_add(&b, "%s", "");
    spec_kv(im, n, &b, "mac", "mac address", x.mac);
    if (!strcmp(x.type, "bridge") && !x.bridge)
        kx_err(im, n, "<source bridge=...> is missing");
    spec_kv(im, n, &b, "bridge", "source bridge", x.bridge);
    if (x.ip.len)
        kl__buf_add(&b, "%sip=%s", b.len ? "," : "", x.ip.s);
    spec_kv(im, n, &b, "script", "script path", x.script);
    spec_kv(im, n, &b, "vifname", "target dev", x.ifname);
    if (x.model && !strcmp(x.model, "netfront"))
        kl__buf_add(&b, "%stype=vif", b.len ? "," : "");
    else
        spec_kv(im, n, &b, "model", "model type", x.model);
    spec_kv(im, n, &b, "mtu", "mtu size", x.mtu);
    spec_kv(im, n, &b, "backend", "backenddomain name", x.backend);
    if (x.avg) {
        char *end;
        unsigned long long kib = strtoull(x.avg, &end, 10);
        if (*x.avg < '0' || *x.avg > '9' || *end || kib == 0 || kib > UINT32_MAX / 1024 * 1000)
            kx_err(im, n, "bandwidth outbound average: invalid `%.30s'", x.avg);
        else if (xrate && *xrate && spec_rate_kib(xrate) == kib)
            kl__buf_add(&b, "%s%s", b.len ? "," : "", xrate); /* the exact Keel rate */
        else
            kl__buf_add(&b, "%srate=%lluB/s", b.len ? "," : "", kib * 1024);
    }
    if (xrest && *xrest)
        kl__buf_add(&b, "%s%s", b.len ? "," : "", xrest);
    kx_list_add(im, &im->vifs, n, kl__buf_take(&b));
    free(extra), free(xrate), free(xrest), free(x.ip.s);
    free(x.type), free(x.mac), free(x.bridge), free(x.script), free(x.ifname), free(x.model);
    free(x.avg), free(x.mtu), free(x.backend);
}

static void do_channel(kx_imp *im, xmlNodePtr n)
{
    char *type = kx_prop(n, "type"), *name = NULL, *ttype = NULL, *path = NULL, *mode = NULL;
    char *extra;
    kl__buf b = { 0 };

    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (kx_is(c, "target")) {
            take(&ttype, c, "type");
            take(&name, c, "name");
        } else if (kx_is(c, "source")) {
            take(&path, c, "path");
            take(&mode, c, "mode");
        } else if (c->type == XML_ELEMENT_NODE && !kx_is(c, "alias") && !kx_is(c, "address")) {
            kx_unsupported(im, c, "channel setting without an xl channel spec equivalent");
        }
    }
    if (!ttype || strcmp(ttype, "xen"))
        kx_unsupported(im, n, "channels other than <target type='xen'>");
    else if (!type || (strcmp(type, "pty") && strcmp(type, "unix")))
        kx_unsupported(im, n, "channel types other than pty and unix");
    else {
        kl__buf_add(&b, "%s", "");
        spec_kv(im, n, &b, "name", "target name", name);
        kl__buf_add(&b, ",connection=%s", strcmp(type, "pty") ? "socket" : "pty");
        if (!strcmp(type, "unix"))
            spec_kv(im, n, &b, "path", "source path", path);
        if (mode && strcmp(mode, "bind"))
            kx_unsupported(im, n, "a unix channel is a socket the backend binds (mode='bind')");
        if ((extra = kx_keel_spec(im, "channel", "name", name)))
            kl__buf_add(&b, ",%s", extra);
        free(extra);
        kx_list_add(im, &im->channels, n, kl__buf_take(&b));
    }
    free(type), free(name), free(ttype), free(path), free(mode);
}

static void do_filesystem(kx_imp *im, xmlNodePtr n)
{
    char *type = kx_prop(n, "type"), *mode = kx_prop(n, "accessmode"), *dir = NULL;
    char *tag = NULL, *extra;
    kl__buf b = { 0 };

    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (kx_is(c, "source"))
            take(&dir, c, "dir");
        else if (kx_is(c, "target"))
            take(&tag, c, "dir");
        else if (c->type == XML_ELEMENT_NODE && !kx_is(c, "alias") && !kx_is(c, "address"))
            kx_unsupported(im, c, "filesystem setting without an xl p9 spec equivalent");
    }
    if (type && strcmp(type, "mount")) {
        kx_unsupported(im, n, "filesystems other than type='mount'");
    } else {
        kl__buf_add(&b, "%s", "");
        spec_kv(im, n, &b, "tag", "target dir", tag);
        spec_kv(im, n, &b, "path", "source dir", dir);
        spec_kv(im, n, &b, "security_model", "accessmode", mode);
        if ((extra = kx_keel_spec(im, "filesystem", "tag", tag)))
            kl__buf_add(&b, ",%s", extra);
        free(extra);
        kx_list_add(im, &im->p9s, n, kl__buf_take(&b));
    }
    free(type), free(mode), free(dir), free(tag);
}

static void do_controller(kx_imp *im, xmlNodePtr n)
{
    char *type = kx_prop(n, "type"), *v;

    if (!type || strcmp(type, "xenbus")) {
        kx_unsupported(im, n, "controllers other than xenbus");
    } else {
        if ((v = kx_prop(n, "maxGrantFrames")))
            kx_kv(im, n, "max_grant_frames", v);
        free(v);
        if ((v = kx_prop(n, "maxEventChannels")))
            kx_kv(im, n, "max_event_channels", v);
        free(v);
    }
    free(type);
}

/* A console or serial port of type pty is the PV console every Keel domain has. */
static void do_console(kx_imp *im, xmlNodePtr n)
{
    char *type = kx_prop(n, "type");

    if (!type || strcmp(type, "pty"))
        kx_unsupported(im, n, "the PV console is a pty");
    free(type);
}

static void do_memballoon(kx_imp *im, xmlNodePtr n)
{
    char *model = kx_prop(n, "model");

    if (!model || (strcmp(model, "xen") && strcmp(model, "none")))
        kx_unsupported(im, n, "memory balloon models other than xen");
    free(model);
}

static const char *const dev_unsupported[] = {
    "emulator", "graphics", "video", "input", "sound", "hostdev", "redirdev", "redirfilter",
    "smartcard", "hub", "watchdog", "rng", "tpm", "panic", "shmem", "iommu", "vsock", "lease",
    "parallel", "audio", "memory", "crypto", "serial", "nvram", "lease", NULL
};

void kx_import_devices(kx_imp *im, xmlNodePtr devices)
{
    size_t nnic = 0, i;

    for (xmlNodePtr c = devices->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (kx_is(c, "disk"))
            do_disk(im, c);
        else if (kx_is(c, "interface"))
            do_interface(im, c, nnic++);
        else if (kx_is(c, "channel"))
            do_channel(im, c);
        else if (kx_is(c, "filesystem"))
            do_filesystem(im, c);
        else if (kx_is(c, "controller"))
            do_controller(im, c);
        else if (kx_is(c, "console"))
            do_console(im, c);
        else if (kx_is(c, "memballoon"))
            do_memballoon(im, c);
        else if (im->xl_lines && (kx_is(c, "graphics") || kx_is(c, "serial") ||
                                  kx_is(c, "input") || kx_is(c, "hostdev")))
            ; /* mirrors of settings kept exactly in <keel:xl> lines */
        else if (!im->xl_lines && kx_import_xen_device(im, c, &im->pci))
            ;
        else {
            for (i = 0; dev_unsupported[i]; i++)
                if (kx_is(c, dev_unsupported[i]))
                    break;
            if (dev_unsupported[i])
                kx_unsupported(im, c, "a device Keel's configuration does not describe");
            else
                kx_err(im, c, "unknown element in <devices>");
        }
    }
}
