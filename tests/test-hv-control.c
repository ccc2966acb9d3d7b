/* test-hv-control - the control socket treats every message as hostile: malformed headers,
 * impossible sizes, truncated messages and wrong argument sizes end that connection or return
 * an error, and the core keeps serving everyone else. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hvhost.h"
#include "keel/privcmd.h"
#include "tap.h"

static struct hvhost host;

static int raw_connect(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", host.rundir, KEEL_PRIVCMD_SOCKET);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Send bytes; 1 if the core closed the connection without a reply. */
static int closes_on(const void *msg, size_t len)
{
    struct timeval tv = { 5, 0 };
    char buf[64];
    int fd = raw_connect(), closed;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (write(fd, msg, len) != (ssize_t)len) {
        close(fd);
        return 0;
    }
    shutdown(fd, SHUT_WR);
    closed = read(fd, buf, sizeof(buf)) <= 0;
    close(fd);
    return closed;
}

static int alive(void)
{
    uint32_t maj, min;

    return kc_version(host.h, &maj, &min) == 0;
}

int main(void)
{
    struct keel_privcmd_req rq = { .magic = KEEL_PRIVCMD_MAGIC, .version = KEEL_PRIVCMD_VERSION };
    struct keel_domctl dc = { .cmd = KEEL_DOMCTL_GETDOMAININFO };
    char garbage[256];
    long rc;

    if (hvhost_start(&host) < 0)
        tap_bail("cannot start the hypervisor core");
    rq.magic = 0x12345678;
    tap_ok(closes_on(&rq, sizeof(rq)), "a bad magic closes the connection");
    rq.magic = KEEL_PRIVCMD_MAGIC;
    rq.version = 99;
    tap_ok(closes_on(&rq, sizeof(rq)), "an unknown protocol version closes the connection");
    rq.version = KEEL_PRIVCMD_VERSION;
    rq.arg_len = 1U << 30;
    tap_ok(closes_on(&rq, sizeof(rq)), "a 1 GiB argument closes the connection");
    rq.arg_len = 0;
    rq.extra_out_max = 0xffffffffU;
    tap_ok(closes_on(&rq, sizeof(rq)), "an impossible output size closes the connection");
    rq.extra_out_max = 0;
    rq.arg_len = 100;
    {
        char msg[sizeof(rq) + 10];
        memcpy(msg, &rq, sizeof(rq));
        memset(msg + sizeof(rq), 0, 10);
        tap_ok(closes_on(msg, sizeof(msg)), "a truncated message closes the connection");
    }
    memset(garbage, 0xa5, sizeof(garbage));
    tap_ok(closes_on(garbage, sizeof(garbage)), "random bytes close the connection");
    tap_ok(alive(), "the core still serves other connections");
    rc = kc_hypercall(host.h, KH_DOMCTL, 0, &dc, sizeof(dc) - 8, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    tap_is_int(rc, -EINVAL, "a domctl of the wrong size is refused");
    dc.interface_version = 77;
    rc = kc_hypercall(host.h, KH_DOMCTL, 0, &dc, sizeof(dc), NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    tap_is_int(rc, -EACCES, "a domctl of another interface version is refused");
    rc = kc_hypercall(host.h, 9999, 0, NULL, 0, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
    tap_is_int(rc, -ENOSYS, "an unknown hypercall gets ENOSYS");
    rc = kc_hypercall(host.h, KH_SCHED_OP, KEEL_SCHEDOP_BLOCK, NULL, 0, NULL, 0, NULL, 0, NULL,
                      NULL, 0, NULL);
    tap_is_int(rc, -EINVAL, "guest-only hypercalls are refused to the toolstack");
    tap_ok(alive(), "the core is still alive at the end");
    hvhost_stop(&host);
    return tap_done();
}
