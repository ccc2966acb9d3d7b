/* xml_export_dev.c - the devices of a kl_domain_config as libvirt <devices>: disks (driver
 * name/type/discard, file/block/network source, target, readonly, backenddomain), vifs as
 * bridge or ethernet interfaces (mac, source bridge, ip, script, target, model, bandwidth,
 * mtu, backenddomain), channels, 9pfs shares as <filesystem>, the PV console, and the xenbus
 * controller for the grant and event channel limits. Spec keys without a libvirt element go
 * to <keel:disk|interface|channel|filesystem spec='...'> and vTPMs to a keel:setting. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xml_int.h"

static void prop(xmlNodePtr n, const char *name, const char *v)
{
    xmlNewProp(n, (const xmlChar *)name, (const xmlChar *)v);
}

static xmlNodePtr child_prop(xmlNodePtr parent, const char *name, const char *attr,
                             const char *v)
{
    xmlNodePtr c = kx_child(parent, name, NULL);

    if (attr && v)
        prop(c, attr, v);
    return c;
}

static void keel_spec(xmlNodePtr keel, const char *elem, const char *attr, const char *val,
                      kl__buf *b)
{
    char *s = kl__buf_take(b);

    if (s && *s) {
        xmlNodePtr k = kx_child(keel, elem, NULL);
        prop(k, attr, val ? val : "");
        prop(k, "spec", s);
    }
    free(s);
}

/* Append "key=value" (or a bare flag when v is NULL) to a spec fragment. */
static void add(kl__buf *b, const char *key, const char *v)
{
    kl__buf_add(b, "%s%s%s%s", b->len ? "," : "", key, v ? "=" : "", v ? v : "");
}

/* rbd:NAME[:mon_host=H[\\:P][\\;H...]] (as libvirt writes them) as a network source. */
static bool rbd_source(xmlNodePtr disk, const char *path)
{
    const char *name, *colon;
    char *hosts = NULL, *save = NULL;
    kl__buf again = { 0 };
    xmlNodePtr s;
    bool ok;

    if (strncmp(path, "rbd:", 4))
        return false;
    name = path + 4;
    colon = strchr(name, ':');
    if (!*name || colon == name ||
        memchr(name, '\\', colon ? (size_t)(colon - name) : strlen(name)))
        return false;
    if (colon && (strncmp(colon, ":mon_host=", 10) || !colon[10]))
        return false;
    /* rebuild the string from the parts: only an exact match is written as a network source */
    kl__buf_add(&again, "rbd:%.*s", (int)(colon ? colon - name : (ptrdiff_t)strlen(name)), name);
    if (colon) {
        hosts = strdup(colon + 10);
        kl__buf_add(&again, ":mon_host=");
        for (char *t = hosts ? strtok_r(hosts, ";", &save) : NULL; t; t = strtok_r(NULL, ";", &save)) {
            char *port = strstr(t, "\\:");
            size_t tl = strlen(t);
            if (tl && t[tl - 1] == '\\')
                t[tl - 1] = '\0';
            if (port)
                *port = '\0', port += 2;
            if (!*t || strchr(t, ':') || (port && (!*port || strchr(port, ':'))))
                again.failed = 1;
            kl__buf_add(&again, "%s%s%s%s", again.s[again.len - 1] == '=' ? "" : "\\;", t,
                        port ? "\\:" : "", port ? port : "");
        }
        free(hosts);
    }
    ok = !again.failed && again.s && !strcmp(again.s, path);
    free(kl__buf_take(&again));
    if (!ok)
        return false;
    prop(disk, "type", "network");
    s = kx_child(disk, "source", NULL);
    prop(s, "protocol", "rbd");
    {
        char *n = strndup(name, colon ? (size_t)(colon - name) : strlen(name));
        prop(s, "name", n ? n : "");
        free(n);
    }
    if (colon) {
        char *h = strdup(colon + 10);
        save = NULL;
        for (char *t = h ? strtok_r(h, ";", &save) : NULL; t; t = strtok_r(NULL, ";", &save)) {
            char *port = strstr(t, "\\:");
            size_t tl = strlen(t);
            xmlNodePtr e = kx_child(s, "host", NULL);
            if (tl && t[tl - 1] == '\\')
                t[tl - 1] = '\0';
            if (port)
                *port = '\0', port += 2;
            prop(e, "name", t);
            if (port)
                prop(e, "port", port);
        }
        free(h);
    }
    return true;
}

/* nbd:HOST:PORT[:exportname=NAME] as a network source, when unambiguous. */
static bool net_source(xmlNodePtr disk, const char *path)
{
    char host[256], port[16];
    const char *rest;
    xmlNodePtr s;
    int n = 0;

    if (rbd_source(disk, path))
        return true;
    if (strncmp(path, "nbd:", 4) || sscanf(path, "nbd:%255[^:]:%15[0-9]%n", host, port, &n) != 2)
        return false;
    rest = path + n;
    if (*rest && (strncmp(rest, ":exportname=", 12) || !rest[12] || strpbrk(rest + 12, ":;\\")))
        return false;
    prop(disk, "type", "network");
    s = kx_child(disk, "source", NULL);
    prop(s, "protocol", "nbd");
    if (*rest)
        prop(s, "name", rest + 12);
    s = kx_child(s, "host", NULL);
    prop(s, "name", host);
    prop(s, "port", port);
    return true;
}

static bool has_source(xmlNodePtr d)
{
    for (xmlNodePtr c = d->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, "source"))
            return true;
    return false;
}

static const char *driver_name(kl_disk_backend b)
{
    switch (b) {
    case KL_DISK_BACKEND_PHY: return "phy";
    case KL_DISK_BACKEND_TAP: return "tap";
    case KL_DISK_BACKEND_QDISK: return "qemu";
    case KL_DISK_BACKEND_STANDALONE: return "standalone";
    default: return NULL;
    }
}

static void disk(const kl_device_disk *dk, xmlNodePtr devs, xmlNodePtr keel)
{
    xmlNodePtr d = kx_child(devs, "disk", NULL), drv = NULL;
    const char *path = dk->pdev_path;
    kl__buf b = { 0 };

    prop(d, "device", dk->is_cdrom ? "cdrom" : "disk");
    if (driver_name(dk->backend) || (dk->format != KL_DISK_FORMAT_UNKNOWN &&
                                     dk->format != KL_DISK_FORMAT_EMPTY) ||
        !kl_defbool_is_default(dk->discard_enable)) {
        drv = kx_child(d, "driver", NULL);
        if (driver_name(dk->backend))
            prop(drv, "name", driver_name(dk->backend));
        if (dk->format != KL_DISK_FORMAT_UNKNOWN && dk->format != KL_DISK_FORMAT_EMPTY)
            prop(drv, "type", kl_disk_format_to_string(dk->format));
        if (!kl_defbool_is_default(dk->discard_enable))
            prop(drv, "discard", kl_defbool_val_or(dk->discard_enable, true) ? "unmap" : "ignore");
    }
    if (path && net_source(d, path)) {
        ;
    } else if (path && (dk->backend == KL_DISK_BACKEND_PHY || !strncmp(path, "/dev/", 5))) {
        prop(d, "type", "block");
        child_prop(d, "source", "dev", path);
    } else if (path && path[0] != '/' && !strchr(path, '/') && strcmp(path, ".") &&
               strcmp(path, "..")) {
        /* a target a hotplug script reads (an iSCSI IQN...): a volume of the pool "keel" */
        prop(d, "type", "volume");
        prop(child_prop(d, "source", "pool", KL_XML_SCRIPT_POOL), "volume", path);
    } else {
        prop(d, "type", "file");
        if (path && path[0] == '/')
            child_prop(d, "source", "file", path);
    }
    if (dk->backend_domname)
        child_prop(d, "backenddomain", "name", dk->backend_domname);
    prop(child_prop(d, "target", "dev", dk->vdev), "bus", "xen");
    if (!dk->readwrite)
        kx_child(d, "readonly", NULL);
    if (dk->specification != KL_DISK_SPECIFICATION_UNKNOWN)
        add(&b, "specification", kl_disk_specification_to_string(dk->specification));
    if (dk->script)
        add(&b, "script", dk->script);
    if (dk->direct_io_safe)
        add(&b, "direct-io-safe", NULL);
    if (!kl_defbool_is_default(dk->trusted))
        add(&b, kl_defbool_val_or(dk->trusted, true) ? "trusted" : "untrusted", NULL);
    /* a target that is neither a path nor a network source (one a hotplug script reads) */
    if (path && path[0] != '/' && !has_source(d))
        add(&b, "target", path); /* last: a target may hold commas */
    keel_spec(keel, "disk", "target", dk->vdev, &b);
}

static void ips(xmlNodePtr nic, const char *ip)
{
    char *dup = strdup(ip), *save = NULL;

    for (char *t = dup ? strtok_r(dup, " ", &save) : NULL; t; t = strtok_r(NULL, " ", &save)) {
        xmlNodePtr e = kx_child(nic, "ip", NULL);
        char *slash = strchr(t, '/');
        if (slash)
            *slash++ = '\0';
        prop(e, "address", t);
        if (slash)
            prop(e, "prefix", slash);
    }
    free(dup);
}

static void nic(const kl_device_nic *n, int index, xmlNodePtr devs, xmlNodePtr keel)
{
    xmlNodePtr e = kx_child(devs, "interface", NULL);
    char mac[KL_MAC_STRLEN], s[64];
    kl__buf b = { 0 };

    prop(e, "type", n->bridge ? "bridge" : "ethernet");
    if (!kl_mac_is_zero(&n->mac)) {
        kl_mac_to_string(&n->mac, mac);
        child_prop(e, "mac", "address", mac);
    }
    if (n->bridge)
        child_prop(e, "source", "bridge", n->bridge);
    if (n->ip)
        ips(e, n->ip);
    if (n->script)
        child_prop(e, "script", "path", n->script);
    if (n->ifname)
        child_prop(e, "target", "dev", n->ifname);
    if (n->model)
        child_prop(e, "model", "type", n->model);
    else if (n->nictype == KL_NIC_TYPE_VIF)
        child_prop(e, "model", "type", "netfront");
    if (n->nictype != KL_NIC_TYPE_UNKNOWN && (n->model || n->nictype != KL_NIC_TYPE_VIF))
        add(&b, "type", n->nictype == KL_NIC_TYPE_VIF ? "vif" : "ioemu");
    if (n->rate_interval_usecs) {
        uint64_t us = n->rate_interval_usecs;
        uint64_t bps = (n->rate_bytes_per_interval * 1000000 + us - 1) / us;
        snprintf(s, sizeof s, "%" PRIu64, (bps + 1023) / 1024);
        child_prop(kx_child(e, "bandwidth", NULL), "outbound", "average", s);
        snprintf(s, sizeof s, "rate=%" PRIu64 "B/s@%" PRIu64 "us", bps, us);
        add(&b, s, NULL);
    }
    if (n->mtu) {
        snprintf(s, sizeof s, "%d", n->mtu);
        child_prop(e, "mtu", "size", s);
    }
    if (n->backend_domname)
        child_prop(e, "backenddomain", "name", n->backend_domname);
    if (n->devid >= 0) {
        snprintf(s, sizeof s, "devid=%d", n->devid);
        add(&b, s, NULL);
    }
    if (n->vlan)
        add(&b, "vlan", n->vlan);
    if (n->gatewaydev)
        add(&b, "gatewaydev", n->gatewaydev);
    if (!kl_defbool_is_default(n->trusted))
        add(&b, kl_defbool_val_or(n->trusted, true) ? "trusted" : "untrusted", NULL);
    snprintf(s, sizeof s, "%d", index);
    keel_spec(keel, "interface", "index", s, &b);
}

static void channel(const kl_device_channel *c, xmlNodePtr devs, xmlNodePtr keel)
{
    bool pty = c->connection != KL_CHANNEL_CONNECTION_SOCKET;
    xmlNodePtr e = kx_child(devs, "channel", NULL), t;
    kl__buf b = { 0 };

    prop(e, "type", pty ? "pty" : "unix");
    if (!pty && c->path)
        prop(child_prop(e, "source", "mode", "bind"), "path", c->path);
    t = child_prop(e, "target", "type", "xen");
    if (c->name)
        prop(t, "name", c->name);
    if (pty && c->path)
        add(&b, "path", c->path);
    if (c->backend_domname)
        add(&b, "backend", c->backend_domname);
    keel_spec(keel, "channel", "name", c->name, &b);
}

static void p9(const kl_device_p9 *p, xmlNodePtr devs, xmlNodePtr keel)
{
    xmlNodePtr e = kx_child(devs, "filesystem", NULL);
    const char *m = p->security_model;
    bool mode = m && (!strcmp(m, "passthrough") || !strcmp(m, "mapped") || !strcmp(m, "squash"));
    kl__buf b = { 0 };

    prop(e, "type", "mount");
    if (mode)
        prop(e, "accessmode", m);
    if (p->path)
        child_prop(e, "source", "dir", p->path);
    if (p->tag)
        child_prop(e, "target", "dir", p->tag);
    if (m && !mode)
        add(&b, "security_model", m);
    if (p->backend_domname)
        add(&b, "backend", p->backend_domname);
    keel_spec(keel, "filesystem", "tag", p->tag, &b);
}

static void vtpms(const kl_domain_config *dc, xmlNodePtr keel)
{
    xmlNodePtr l;

    if (dc->num_vtpms <= 0)
        return;
    l = kx_child(keel, "setting", NULL);
    prop(l, "name", "vtpm");
    for (int i = 0; i < dc->num_vtpms; i++) {
        char *s = kl_device_vtpm_to_spec(&dc->vtpms[i]);
        kx_child(l, "item", s ? s : "");
        free(s);
    }
}

void kx_export_devices(const kl_domain_config *dc, xmlNodePtr devs, xmlNodePtr keel)
{
    const kl_domain_build_info *b = &dc->b_info;
    xmlNodePtr con;
    char s[32];

    if (b->max_grant_frames >= 0 || b->event_channels) {
        xmlNodePtr c = child_prop(devs, "controller", "type", "xenbus");
        prop(c, "index", "0");
        if (b->max_grant_frames >= 0) {
            snprintf(s, sizeof s, "%d", b->max_grant_frames);
            prop(c, "maxGrantFrames", s);
        }
        if (b->event_channels) {
            snprintf(s, sizeof s, "%" PRIu32, b->event_channels);
            prop(c, "maxEventChannels", s);
        }
    }
    for (int i = 0; i < dc->num_disks; i++)
        disk(&dc->disks[i], devs, keel);
    for (int i = 0; i < dc->num_nics; i++)
        nic(&dc->nics[i], i, devs, keel);
    con = child_prop(devs, "console", "type", "pty");
    prop(child_prop(con, "target", "type", "xen"), "port", "0");
    for (int i = 0; i < dc->num_channels; i++)
        channel(&dc->channels[i], devs, keel);
    for (int i = 0; i < dc->num_p9s; i++)
        p9(&dc->p9s[i], devs, keel);
    vtpms(dc, keel);
}
