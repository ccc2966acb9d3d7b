/* kcd_xs_parse.c - the watch-path parsing of keel-consoled's store client: a pure function
 * over untrusted bytes (the fuzz target's subject; the framing is common/kxs.c's). */
#include "config.h"

#include <string.h>

#include "kcd_chan.h"
#include "kcd_xs.h"

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

/* A decimal number without leading zeros in [lo, hi] at path[*i]; -1 if none. */
static long kcd_chan_num(const char *path, size_t len, size_t *i, long lo, long hi)
{
    long v = 0;
    size_t s = *i;

    if (s >= len || path[s] < '0' || path[s] > '9' ||
        (path[s] == '0' && s + 1 < len && path[s + 1] != '/'))
        return -1;
    for (; *i < len && path[*i] >= '0' && path[*i] <= '9'; (*i)++)
        if ((v = v * 10 + (path[*i] - '0')) > hi)
            return -1;
    return v < lo ? -1 : v;
}

int kcd_chan_path(const char *path, size_t len, uint32_t *domid, uint32_t *cons)
{
    static const char be[] = "/local/domain/0/backend/console/";
    static const char pre[] = "/local/domain/", fe[] = "/device/console/";
    size_t i;
    long d, n;

    if (len > sizeof(be) - 1 && !memcmp(path, be, sizeof(be) - 1)) {
        i = sizeof(be) - 1;
        if ((d = kcd_chan_num(path, len, &i, 1, 0x7fef)) < 0 || i >= len || path[i++] != '/')
            return -1;
    } else if (len > sizeof(pre) - 1 && !memcmp(path, pre, sizeof(pre) - 1)) {
        i = sizeof(pre) - 1;
        if ((d = kcd_chan_num(path, len, &i, 1, 0x7fef)) < 0 || len - i <= sizeof(fe) - 1 ||
            memcmp(path + i, fe, sizeof(fe) - 1))
            return -1;
        i += sizeof(fe) - 1;
    } else {
        return -1;
    }
    if ((n = kcd_chan_num(path, len, &i, 1, 65536)) < 0 || (i < len && path[i] != '/'))
        return -1;
    *domid = (uint32_t)d;
    *cons = (uint32_t)n;
    return 0;
}
