/* kd_xlconf.c - keeld's xl.conf (kd_xlconf.h): one kl_xl_conf read at start and shared by the
 * worker threads read-only, so keeld creates and restores a domain with the same claim_mode,
 * global affinity masks (vm.cpumask, vm.pv.cpumask), vif defaults and grant-frame limits as xl
 * on the same host. The notes for keys Keel accepts without an effect go to the log once. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kd_xlconf.h"
#include "klog.h"

static kl_xl_conf *conf;

int kd_xlconf_load(const char *path)
{
    kl_diag *d = kl_diag_new();
    const char *notes;
    int rc;

    kl_xl_conf_free(conf);
    conf = NULL;
    rc = kl_xl_conf_load(&conf, path, d);
    if (d)
        kl_diag_print(d, stderr);
    kl_diag_free(d);
    if (rc < 0) {
        fprintf(stderr, "keeld: xl.conf %s: %s\n", path ? path : kl_xl_conf_default_path(),
                rc == -EINVAL ? "invalid (see above)" : strerror(-rc));
        return -1;
    }
    notes = kl_xl_conf_notes(conf);
    for (const char *p = notes, *nl; *p; p = nl + 1) {
        if (!(nl = strchr(p, '\n')))
            break;
        klog(KLOG_INFO, "xlconf", "%.*s", (int)(nl - p), p);
    }
    return 0;
}

void kd_xlconf_free(void)
{
    kl_xl_conf_free(conf);
    conf = NULL;
}

const kl_xl_conf *kd_xlconf(void)
{
    return conf;
}

int kd_xlconf_apply(kl_domain_config *dc, char *msg, size_t len)
{
    char err[1024];
    int rc;

    if (kl_xl_conf_apply_domain(conf, dc) < 0) {
        snprintf(msg, len, "xl.conf: out of memory");
        return -1;
    }
    if ((rc = kl_xl_conf_apply_cpumask(conf, dc, err, sizeof(err))) < 0) {
        snprintf(msg, len, "%s", err);     /* names the masks and the file */
        return -1;
    }
    return 0;
}

unsigned kd_xlconf_create_flags(void)
{
    return kl_xl_conf_claim_mode(conf) ? KL_CREATE_CLAIM : 0;
}
