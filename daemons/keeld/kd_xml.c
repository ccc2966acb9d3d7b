/* kd_xml.c - libvirt domain XML in keeld: domain.info with "format": "xml" answers
 * {"domid", "name", "xml"} where xml is the domain's configuration as libvirt domain XML
 * (liblight's kl_domain_config_to_xml, with id='DOMID'). domain.create's XML config is read
 * in kd_long.c through kl_domain_config_from_xml. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kd.h"
#include "keel/kl_light.h"
#include "keel/kl_xml.h"

int kd_info_xml(struct kd_call *c, struct kl_ctx *ctx, uint32_t domid)
{
    kl_domain_config dc;
    char *xml = NULL;
    int rc;

    kl_domain_config_init(&dc);
    rc = kl_domain_get_config(ctx, domid, &dc);
    if (rc == 0 && !(xml = kl_domain_config_to_xml(&dc, (int)domid)))
        rc = -ENOMEM;
    if (rc < 0) {
        kl_domain_config_dispose(&dc);
        return kd_fail(c, rc == -ENOENT || rc == -ESRCH ? KD_NO_SUCH_DOMAIN : KD_INTERNAL_ERROR,
                       "domain %u configuration: %s", domid, kl_ctx_error(ctx));
    }
    yajl_gen_map_open(c->g);
    kd_gen_key_int(c->g, "domid", domid);
    kd_gen_key_str(c->g, "name", dc.c_info.name ? dc.c_info.name : "");
    kd_gen_key_str(c->g, "xml", xml);
    yajl_gen_map_close(c->g);
    free(xml);
    kl_domain_config_dispose(&dc);
    return 0;
}
