/* kxs_err.c - the xenstore error names (the wire carries "ENOENT", not a number) and their
 * errno values: the one table, used by the store daemon and by every client (kxs.h). */
#include <errno.h>
#include <string.h>

#include "kxs.h"

static const struct { int num; const char *name; } kxs_errs[] = {
    { EINVAL, "EINVAL" }, { EACCES, "EACCES" }, { EEXIST, "EEXIST" }, { EISDIR, "EISDIR" },
    { ENOENT, "ENOENT" }, { ENOMEM, "ENOMEM" }, { ENOSPC, "ENOSPC" }, { EIO, "EIO" },
    { ENOTEMPTY, "ENOTEMPTY" }, { ENOSYS, "ENOSYS" }, { EROFS, "EROFS" }, { EBUSY, "EBUSY" },
    { EAGAIN, "EAGAIN" }, { EISCONN, "EISCONN" }, { E2BIG, "E2BIG" }, { EPERM, "EPERM" },
};

#define KXS_NERRS (sizeof(kxs_errs) / sizeof(kxs_errs[0]))

const char *kxs_errname(int err)
{
    for (size_t i = 0; i < KXS_NERRS; i++)
        if (kxs_errs[i].num == err)
            return kxs_errs[i].name;
    return "EINVAL";
}

int kxs_errnum(const char *name, size_t len)
{
    size_t n = strnlen(name, len);

    for (size_t i = 0; i < KXS_NERRS; i++)
        if (strlen(kxs_errs[i].name) == n && !memcmp(kxs_errs[i].name, name, n))
            return kxs_errs[i].num;
    return 0;
}
