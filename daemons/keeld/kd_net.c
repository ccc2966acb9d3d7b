/* kd_net.c - keeld's PV network device methods, as xl network-attach / network-list /
 * network-detach: domain.network_attach (a vif spec string of xl-network-configuration(5);
 * answers the devid and MAC chosen), domain.network_list and domain.network_detach (a devid
 * or a MAC address, optionally forced), over liblight's kl_nic_add / kl_nic_list /
 * kl_nic_remove on the worker's own context. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kd.h"
#include "keel/kl_config.h"
#include "keel/kl_diag.h"
#include "keel/kl_light.h"

#define KD_SPEC_MAX 1024

static int lib_error(struct kd_call *c, int rc, const char *what)
{
    int code = rc == -EEXIST ? KD_EXISTS : rc == -EINVAL || rc == -ENODEV || rc == -ENOTSUP
             ? KD_INVALID_PARAMS : rc == -ENOENT ? KD_NO_SUCH_DOMAIN : KD_HYPERVISOR;

    return kd_fail(c, code, "%s: %s", what, kl_ctx_error(kd_ctx()));
}

/* Store values go out as JSON strings: keep them printable ASCII. */
static void gen_key_clean(yajl_gen g, const char *k, char *v)
{
    for (char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x80)
            *p = '?';
    kd_gen_key_str(g, k, v);
}

int kd_m_network_attach(struct kd_call *c)
{
    const char *spec = NULL;
    kl_device_nic nic;
    char mac[KL_MAC_STRLEN];
    kl_diag *d;
    uint32_t domid;
    int rc;

    if (kd_domain_param(c, &domid) < 0)
        return kd_err(c);
    if (kd_param_str(c->req->params, "spec", &spec, true, c->msg, sizeof(c->msg)) < 0)
        return kd_fail(c, KD_INVALID_PARAMS, "%s", c->msg);
    if (strlen(spec) > KD_SPEC_MAX)        /* "" is a vif with every default */
        return kd_fail(c, KD_INVALID_PARAMS, "\"spec\" must be a vif spec of at most %d bytes",
                       KD_SPEC_MAX);
    if (!(d = kl_diag_new()))
        return kd_fail(c, KD_INTERNAL_ERROR, "out of memory");
    kl_device_nic_init(&nic);
    if ((rc = kl_device_nic_parse_spec(&nic, spec, d)) < 0) {
        kd_fail(c, KD_CONFIG, "vif spec: %s", kl_diag_first_error(d) ? kl_diag_first_error(d)
                                                                    : strerror(-rc));
        kl_diag_free(d);
        kl_device_nic_dispose(&nic);
        return kd_err(c);
    }
    kl_diag_free(d);
    rc = kl_nic_add(kd_ctx(), domid, &nic, NULL);
    if (rc == 0) {
        kl_mac_to_string(&nic.mac, mac);
        yajl_gen_map_open(c->g);
        kd_gen_key_int(c->g, "domid", domid);
        kd_gen_key_int(c->g, "devid", nic.devid);
        kd_gen_key_str(c->g, "mac", mac);
        yajl_gen_map_close(c->g);
    }
    kl_device_nic_dispose(&nic);
    return rc < 0 ? lib_error(c, rc, "network_attach") : 0;
}

int kd_m_network_list(struct kd_call *c)
{
    kl_nicinfo *l;
    uint32_t domid;
    int n;

    if (kd_domain_param(c, &domid) < 0)
        return kd_err(c);
    if ((n = kl_nic_list(kd_ctx(), domid, &l)) < 0)
        return lib_error(c, n, "network_list");
    yajl_gen_array_open(c->g);
    for (int i = 0; i < n; i++) {
        yajl_gen_map_open(c->g);
        kd_gen_key_int(c->g, "devid", l[i].devid);
        kd_gen_key_str(c->g, "mac", l[i].mac);
        kd_gen_key_int(c->g, "backend_id", l[i].backend_id);
        kd_gen_key_int(c->g, "backend_state", l[i].backend_state);
        kd_gen_key_int(c->g, "frontend_state", l[i].frontend_state);
        kd_gen_key_int(c->g, "evtch", l[i].evtch);
        kd_gen_key_int(c->g, "rref_tx", l[i].rref_tx);
        kd_gen_key_int(c->g, "rref_rx", l[i].rref_rx);
        kd_gen_key_int(c->g, "mtu", l[i].mtu);
        gen_key_clean(c->g, "ifname", l[i].ifname);
        gen_key_clean(c->g, "bridge", l[i].bridge);
        gen_key_clean(c->g, "ip", l[i].ip);
        gen_key_clean(c->g, "script", l[i].script);
        gen_key_clean(c->g, "hotplug_status", l[i].hotplug_status);
        kd_gen_key_str(c->g, "backend", l[i].backend);
        kd_gen_key_str(c->g, "frontend", l[i].frontend);
        yajl_gen_map_close(c->g);
    }
    yajl_gen_array_close(c->g);
    free(l);
    return 0;
}

int kd_m_network_detach(struct kd_call *c)
{
    yajl_val v = kd_param(c->req->params, "device");
    const char *s;
    char dev[24];
    uint32_t domid;
    bool force;
    int rc;

    if (kd_domain_param(c, &domid) < 0)
        return kd_err(c);
    if (v && YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) >= 0 && YAJL_GET_INTEGER(v) <= 65535)
        snprintf(dev, sizeof(dev), "%lld", YAJL_GET_INTEGER(v));
    else if (v && YAJL_IS_STRING(v) && (s = YAJL_GET_STRING(v)) && *s && strlen(s) < sizeof(dev))
        snprintf(dev, sizeof(dev), "%s", s);
    else
        return kd_fail(c, KD_INVALID_PARAMS, "\"device\" must be a devid (0 to 65535) or a MAC "
                       "address");
    if (kd_param_bool(c->req->params, "force", false, &force, c->msg, sizeof(c->msg)) < 0)
        return kd_fail(c, KD_INVALID_PARAMS, "%s", c->msg);
    if ((rc = kl_nic_remove(kd_ctx(), domid, dev, force ? KL_NIC_FORCE : 0)) < 0)
        return lib_error(c, rc, "network_detach");
    yajl_gen_map_open(c->g);
    kd_gen_key_int(c->g, "domid", domid);
    kd_gen_key_str(c->g, "device", dev);
    yajl_gen_map_close(c->g);
    return 0;
}
