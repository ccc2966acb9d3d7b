/* kd_vtpm.c - keeld's vTPM methods, as xl vtpm-attach / vtpm-list / vtpm-detach:
 * domain.vtpm_attach (optional "uuid" and "backend"; answers the devid and uuid chosen),
 * domain.vtpm_list and domain.vtpm_detach (a devid or a uuid, optionally forced), over
 * liblight's kl_vtpm_add / kl_vtpm_list / kl_vtpm_remove on the worker's own context. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kd.h"
#include "keel/kl_config.h"
#include "keel/kl_light.h"

static int lib_error(struct kd_call *c, int rc, const char *what)
{
    int code = rc == -EEXIST ? KD_EXISTS : rc == -EINVAL || rc == -ENODEV || rc == -ENOTSUP
             ? KD_INVALID_PARAMS : rc == -ENOENT ? KD_NO_SUCH_DOMAIN : KD_HYPERVISOR;

    return kd_fail(c, code, "%s: %s", what, kl_ctx_error(kd_ctx()));
}

int kd_m_vtpm_attach(struct kd_call *c)
{
    const char *uuid = NULL, *backend = NULL;
    char us[KL_UUID_STRLEN];
    kl_device_vtpm t;
    uint32_t domid;
    int rc;

    if (kd_domain_param(c, &domid) < 0)
        return kd_err(c);
    if (kd_param_str(c->req->params, "uuid", &uuid, false, c->msg, sizeof(c->msg)) < 0 ||
        kd_param_str(c->req->params, "backend", &backend, false, c->msg, sizeof(c->msg)) < 0)
        return kd_fail(c, KD_INVALID_PARAMS, "%s", c->msg);
    kl_device_vtpm_init(&t);
    t.devid = -1;
    if (uuid && kl_uuid_from_string(&t.uuid, uuid)) {
        kl_device_vtpm_dispose(&t);
        return kd_fail(c, KD_INVALID_PARAMS, "\"uuid\" is not a uuid");
    }
    if (backend && (strlen(backend) > 64 || !(t.backend_domname = strdup(backend)))) {
        kl_device_vtpm_dispose(&t);
        return kd_fail(c, KD_INVALID_PARAMS, "\"backend\" must be a domain name or id");
    }
    rc = kl_vtpm_add(kd_ctx(), domid, &t, NULL);
    if (rc == 0) {
        kl_uuid_to_string(&t.uuid, us);
        yajl_gen_map_open(c->g);
        kd_gen_key_int(c->g, "domid", domid);
        kd_gen_key_int(c->g, "devid", t.devid);
        kd_gen_key_str(c->g, "uuid", us);
        yajl_gen_map_close(c->g);
    }
    kl_device_vtpm_dispose(&t);
    return rc < 0 ? lib_error(c, rc, "vtpm_attach") : 0;
}

int kd_m_vtpm_list(struct kd_call *c)
{
    kl_vtpminfo *l;
    uint32_t domid;
    int n;

    if (kd_domain_param(c, &domid) < 0)
        return kd_err(c);
    if ((n = kl_vtpm_list(kd_ctx(), domid, &l)) < 0)
        return lib_error(c, n, "vtpm_list");
    yajl_gen_array_open(c->g);
    for (int i = 0; i < n; i++) {
        yajl_gen_map_open(c->g);
        kd_gen_key_int(c->g, "devid", l[i].devid);
        kd_gen_key_str(c->g, "uuid", l[i].uuid);
        kd_gen_key_int(c->g, "backend_id", l[i].backend_id);
        kd_gen_key_int(c->g, "backend_state", l[i].backend_state);
        kd_gen_key_int(c->g, "frontend_state", l[i].frontend_state);
        kd_gen_key_int(c->g, "evtch", l[i].evtch);
        kd_gen_key_int(c->g, "ring_ref", l[i].ring_ref);
        kd_gen_key_str(c->g, "backend", l[i].backend);
        kd_gen_key_str(c->g, "frontend", l[i].frontend);
        yajl_gen_map_close(c->g);
    }
    yajl_gen_array_close(c->g);
    free(l);
    return 0;
}

int kd_m_vtpm_detach(struct kd_call *c)
{
    yajl_val v = kd_param(c->req->params, "device");
    const char *s;
    char dev[40];
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
        return kd_fail(c, KD_INVALID_PARAMS, "\"device\" must be a devid (0 to 65535) or a uuid");
    if (kd_param_bool(c->req->params, "force", false, &force, c->msg, sizeof(c->msg)) < 0)
        return kd_fail(c, KD_INVALID_PARAMS, "%s", c->msg);
    if ((rc = kl_vtpm_remove(kd_ctx(), domid, dev, force ? KL_VTPM_FORCE : 0)) < 0)
        return lib_error(c, rc, "vtpm_detach");
    yajl_gen_map_open(c->g);
    kd_gen_key_int(c->g, "domid", domid);
    kd_gen_key_str(c->g, "device", dev);
    yajl_gen_map_close(c->g);
    return 0;
}
