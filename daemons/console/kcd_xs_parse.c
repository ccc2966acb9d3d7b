/* kcd_xs_parse.c - the watch-path parsing of keel-consoled's store client: a pure function
 * over untrusted bytes (the fuzz target's subject; the framing is common/kxs.c's). */
#include "config.h"

#include <string.h>

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
