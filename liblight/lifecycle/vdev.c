/* vdev.c - a virtual block device name (xvda, xvdb1, hdc, sda2, or a decimal number) to the
 * virtual-device number of the store's frontend and backend paths, with the encoding of Xen's
 * xen-vbd-interface(7): xvd disks 0-15 202<<8|disk<<4|part, larger xvd 1<<28|disk<<8|part,
 * sd 8<<8|disk<<4|part, hd 3<<8 (disks 0-1) and 22<<8 (disks 2-3) |disk<<6|part. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lc_int.h"

#define VDEV_EXTENDED (1u << 28)
#define VDEV_RESERVED (2u << 28)

/* "a".."z", "aa".. as a bijective base-26 number; digits after it a partition (no leading 0). */
static int letters_and_part(const char *s, unsigned long max_disk, unsigned long max_part,
                            unsigned long *disk, unsigned long *part)
{
    unsigned long d = 0, p = 0;
    const char *q = s;

    for (; *q >= 'a' && *q <= 'z'; q++) {
        d = d * 26 + (unsigned long)(*q - 'a' + 1);
        if (d - 1 > max_disk)
            return -EINVAL;
    }
    if (q == s)
        return -EINVAL;
    if (*q) {
        if (*q == '0')
            return -EINVAL;
        for (; *q; q++) {
            if (*q < '0' || *q > '9')
                return -EINVAL;
            p = p * 10 + (unsigned long)(*q - '0');
            if (p > max_part)
                return -EINVAL;
        }
    }
    *disk = d - 1;
    *part = p;
    return 0;
}

static int numeric(const char *s, uint32_t *devid)
{
    char *end;
    unsigned long v;

    if (*s < '1' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v >= VDEV_RESERVED)
        return -EINVAL;
    *devid = (uint32_t)v;
    return 0;
}

int kl_disk_vdev_to_devid(const char *vdev, uint32_t *devid)
{
    unsigned long disk, part;

    if (!vdev || strlen(vdev) > 16)
        return -EINVAL;
    if (!strncmp(vdev, "xvd", 3)) {
        if (letters_and_part(vdev + 3, (1ul << 20) - 1, 255, &disk, &part) < 0)
            return -EINVAL;
        *devid = disk <= 15 && part <= 15 ? (uint32_t)(202 << 8 | disk << 4 | part)
                                          : (uint32_t)(VDEV_EXTENDED | disk << 8 | part);
        return 0;
    }
    if (!strncmp(vdev, "sd", 2)) {
        if (letters_and_part(vdev + 2, 15, 15, &disk, &part) < 0)
            return -EINVAL;
        *devid = (uint32_t)(8 << 8 | disk << 4 | part);
        return 0;
    }
    if (!strncmp(vdev, "hd", 2)) {
        if (letters_and_part(vdev + 2, 3, 63, &disk, &part) < 0)
            return -EINVAL;
        *devid = disk < 2 ? (uint32_t)(3 << 8 | disk << 6 | part)
                          : (uint32_t)(22 << 8 | (disk - 2) << 6 | part);
        return 0;
    }
    return numeric(vdev, devid);
}
