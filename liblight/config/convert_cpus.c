/* convert_cpus.c - cpus= and cpus_soft=: one CPU list for every vCPU, or a list of CPU lists,
 * one per vCPU, into the build info's hard and soft affinity arrays. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"

/* Parse one CPU list, re-reporting its error at the value's position under key. */
static int one_list(struct kl__conv *cv, const char *key, const kl_cfg_value *v, kl_bitmap *b)
{
    kl_diag *scratch = kl_diag_new();
    int rc;

    if (!scratch) {
        cv->errors++;
        return -ENOMEM;
    }
    rc = kl_cpulist_parse(b, kl_cfg_value_text(v), scratch);
    if (rc)
        kl__conv_err(cv, key, v, "%s", kl_diag_first_error(scratch) ? kl_diag_first_error(scratch)
                                                                   : "invalid CPU list");
    kl_diag_free(scratch);
    return rc;
}

static void affinity(struct kl__conv *cv, const char *key, kl_bitmap **arr, int *count)
{
    const kl_cfg_value *v = kl_cfg_lookup(cv->cfg, key);
    int nvcpus = cv->dc->b_info.max_vcpus, n;
    bool is_list;

    if (!v)
        return;
    is_list = kl_cfg_value_kind(v) == KL_CFG_LIST;
    n = is_list ? (int)kl_cfg_value_count(v) : nvcpus;
    if (is_list && n > nvcpus) {
        kl__conv_err(cv, key, v, "%d CPU lists for %d vCPUs", n, nvcpus);
        return;
    }
    if (n <= 0)
        return;
    *arr = calloc((size_t)n, sizeof(kl_bitmap));
    if (!*arr) {
        cv->errors++;
        return;
    }
    *count = n;
    for (int i = 0; i < n; i++) {
        const kl_cfg_value *item = is_list ? kl_cfg_value_item(v, (size_t)i) : v;
        if (kl_cfg_value_kind(item) == KL_CFG_LIST) {
            kl__conv_err(cv, key, item, "expected a CPU list string, got a list");
            return;
        }
        if (one_list(cv, key, item, &(*arr)[i]))
            return;
    }
}

void kl__conv_cpus(struct kl__conv *cv)
{
    kl_domain_build_info *b = &cv->dc->b_info;

    affinity(cv, "cpus", &b->vcpu_hard_affinity, &b->num_vcpu_hard_affinity);
    affinity(cv, "cpus_soft", &b->vcpu_soft_affinity, &b->num_vcpu_soft_affinity);
}
