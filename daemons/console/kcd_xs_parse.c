/* kcd_xs_parse.c - the message framing and watch-path parsing of keel-consoled's store
 * client; pure functions over untrusted bytes (the fuzz target's subject). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "kcd_xs.h"

#define KCD_XS_PAYLOAD_MAX 4096u

int kcd_xs_parse(const char *buf, size_t avail, struct kcd_xs_msg *m)
{
    uint32_t h[4];

    if (avail < sizeof(h))
        return 0;
    memcpy(h, buf, sizeof(h));
    if (h[3] > KCD_XS_PAYLOAD_MAX)
        return -EPROTO;
    if (avail < sizeof(h) + h[3])
        return 0;
    m->type = h[0];
    m->req_id = h[1];
    m->tx_id = h[2];
    m->len = h[3];
    m->body = buf + sizeof(h);
    return (int)(sizeof(h) + h[3]);
}

long kcd_xs_console_domid(const char *path, size_t len)
{
    static const char pre[] = "/local/domain/";
    static const char *const tails[] = { "/console/ring-ref", "/console/port", "/console" };
    size_t i = sizeof(pre) - 1;
    long id = 0;

    if (len <= i || memcmp(path, pre, i))
        return -1;
    if (path[i] < '0' || path[i] > '9' || (path[i] == '0' && i + 1 < len && path[i + 1] != '/'))
        return -1;
    for (; i < len && path[i] >= '0' && path[i] <= '9'; i++) {
        id = id * 10 + (path[i] - '0');
        if (id > 0x7fef)
            return -1;
    }
    for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
        size_t tl = strlen(tails[t]);
        if (len - i == tl && !memcmp(path + i, tails[t], tl))
            return id;
    }
    return -1;
}
