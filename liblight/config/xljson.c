/* xljson.c - the {"domid": ..., "config": {...}} wrapper xl prints around a domain config,
 * built by nesting the beautified config JSON one level deeper. */
#include <stdlib.h>
#include <string.h>

#include "keel/kl_config.h"
#include "kl_internal.h"

char *kl_domain_config_to_xl_json(const kl_domain_config *dc, int domid)
{
    char *cfg = kl_domain_config_to_json(dc);
    kl__buf b = { 0 };

    if (!cfg)
        return NULL;
    kl__buf_add(&b, "{\n    \"domid\": ");
    if (domid < 0)
        kl__buf_add(&b, "null");
    else
        kl__buf_add(&b, "%d", domid);
    kl__buf_add(&b, ",\n    \"config\": ");
    for (const char *p = cfg; *p; p++) {
        kl__buf_add(&b, "%c", *p);
        if (*p == '\n' && p[1])
            kl__buf_add(&b, "    ");
    }
    kl__buf_add(&b, "%s}\n", cfg[0] && cfg[strlen(cfg) - 1] == '\n' ? "" : "\n");
    free(cfg);
    return kl__buf_take(&b);
}
