/* vt_inst.c - keel-vtpmd's side of the instance processes: one per device (forked by the
 * instance launcher, vt_zyg.c, confined, then vt_engine_main), give it its state, pass it commands one at a time, seal the permanent state it
 * reports after each change, and supervise it: an instance that dies is logged, its command in
 * flight answered with TPM_RC_FAILURE (never left hanging), and it is started again from its
 * last sealed state (with TPM2_Startup(CLEAR) re-sent if the TPM had been started); after
 * VT_MAX_RESTARTS crashes in a row the device is closed. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "klog.h"
#include "vt_confine.h"
#include "vt_int.h"
#include "vt_proto.h"
#include "vt_zyg.h"

static void vt_inst_dead(struct vt_dev *d, const char *why);

static void vt_seal(struct vt_dev *d, const uint8_t *perm, uint32_t len)
{
    char err[300];
    uint8_t *copy;

    if (d->released || len == 0)
        return;
    if (vt_state_save(vt.statedir, vt.key, d->uuid, perm, len, err, sizeof(err)) < 0) {
        klog_err(d->name, "state of %s NOT saved: %s", d->uuid, err);
        return;
    }
    if ((copy = malloc(len))) {
        memcpy(copy, perm, len);
        free(d->perm);
        d->perm = copy;
        d->perm_len = len;
    }
    klog_debug(d->name, "state of %s sealed (%u bytes)", d->uuid, len);
}

static const uint8_t vt_startup_clear[12] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0 };

/* Whether a command/response pair was a TPM2_Startup that left the TPM started. */
static void vt_note_startup(struct vt_dev *d, const uint8_t *cmd, const uint8_t *resp,
                            uint32_t rlen)
{
    uint32_t rc;

    if (rlen < 10 || cmd[6] || cmd[7] || cmd[8] != 0x01 || cmd[9] != 0x44)
        return;
    rc = (uint32_t)resp[6] << 24 | (uint32_t)resp[7] << 16 | (uint32_t)resp[8] << 8 | resp[9];
    if (rc == 0 || rc == 0x100)          /* success, or TPM_RC_INITIALIZE: started already */
        d->started = 1;
}

/* One message from the instance. 0, or a negative errno (the instance is then dead). */
static int vt_inst_msg(struct vt_dev *d, int timeout_ms)
{
    uint32_t type, len;
    uint8_t *m;
    int rc, src;

    if ((rc = vt_msg_recv(d->fd, &type, &m, &len, timeout_ms)) < 0)
        return rc;
    switch (type) {
    case VT_M_NVSTORE:
        vt_seal(d, m, len);
        break;
    case VT_M_RESP:
        src = d->busy;
        d->busy = VT_SRC_NONE;
        if (!vt_resp_ok(m, len)) {
            uint8_t e[10];
            klog_warn(d->name, "instance gave no valid response (%u bytes): TPM_RC_FAILURE", len);
            vt_err_resp(e, VT_RC_FAILURE);
            vt_deliver(d, src, e, 10);
        } else {
            d->restarts = 0;
            if (src == VT_SRC_GUEST)
                vt_note_startup(d, d->gcmd, m, len);
            else if (src == VT_SRC_SOCK)
                vt_note_startup(d, d->scmd, m, len);
            else if (src == VT_SRC_INTERNAL)
                d->started = 1;
            vt_deliver(d, src, m, len);
        }
        break;
    default:
        free(m);
        return -EPROTO;
    }
    free(m);
    return 0;
}

void vt_inst_readable(struct vt_dev *d)
{
    int rc;

    if (d->fd < 0)
        return;
    if ((rc = vt_inst_msg(d, 2000)) < 0)
        vt_inst_dead(d, rc == -ECONNRESET ? "its connection closed" : strerror(-rc));
    else
        vt_kick(d);
}

/* Fault injection for tests/test-vtpm.sh only: $KEEL_VTPMD_TEST_KILL_CC (a command code, e.g.
 * 0x17b) makes the manager SIGKILL the instance as it hands it the first command with that
 * code (the signal is pending before the command is written: the instance never runs it),
 * so the crash of an instance with a command in flight can be checked. */
static void vt_test_fault(struct vt_dev *d, const uint8_t *cmd, uint32_t len)
{
    static int done;
    const char *e = getenv("KEEL_VTPMD_TEST_KILL_CC");
    uint32_t cc;

    if (done || !e || !*e || len < 10)
        return;
    cc = (uint32_t)cmd[6] << 24 | (uint32_t)cmd[7] << 16 | (uint32_t)cmd[8] << 8 | cmd[9];
    if (cc != (uint32_t)strtoul(e, NULL, 0))
        return;
    done = 1;
    klog_warn(d->name, "test fault: killing instance %d with command 0x%x in flight", (int)d->pid,
              cc);
    vt_zyg_kill(d->pid, 0, NULL);
}

static int vt_inst_send_cmd(struct vt_dev *d, int src, uint8_t locality, const uint8_t *cmd,
                            uint32_t len)
{
    int rc;

    d->busy = src;
    d->cmds++;
    vt_test_fault(d, cmd, len);          /* before the send: the instance never runs it */
    if ((rc = vt_msg_send(d->fd, VT_M_CMD, &locality, 1, cmd, len)) < 0) {
        vt_inst_dead(d, "a command could not be sent");
        return rc;
    }
    return 0;
}

/* Start the next waiting command: the guest's first, then the socket's. */
void vt_kick(struct vt_dev *d)
{
    if (d->fd < 0 || d->busy || d->frozen || d->closed)
        return;
    if (d->guest_pending) {
        d->guest_pending = 0;
        vt_inst_send_cmd(d, VT_SRC_GUEST, d->req.locality, d->gcmd, d->req.len);
    } else if (d->sock_pending) {
        d->sock_pending = 0;
        vt_inst_send_cmd(d, VT_SRC_SOCK, 0, d->scmd, d->sock_len);
    }
}

int vt_inst_wait_idle(struct vt_dev *d)
{
    int rc;

    while (d->fd >= 0 && d->busy) {
        if ((rc = vt_inst_msg(d, VT_WAIT_MS)) < 0) {
            vt_inst_dead(d, strerror(-rc));
            return rc;
        }
    }
    return d->fd >= 0 ? 0 : -ESRCH;
}

void vt_inst_drop_cache(struct vt_dev *d)
{
    free(d->st_cache);
    d->st_cache = NULL;
    d->st_cache_len = 0;
}

/* The cached state while no command ran since it was taken (a copy in *st). */
static int cached_state(struct vt_dev *d, uint8_t **st, uint32_t *len)
{
    if (!d->st_cache || d->st_cache_cmds != d->cmds)
        return 0;
    if (!(*st = malloc(d->st_cache_len)))
        return -ENOMEM;
    memcpy(*st, d->st_cache, d->st_cache_len);
    *len = d->st_cache_len;
    return 1;
}

static void keep_state(struct vt_dev *d, const uint8_t *st, uint32_t len)
{
    vt_inst_drop_cache(d);
    if ((d->st_cache = malloc(len))) {
        memcpy(d->st_cache, st, len);
        d->st_cache_len = len;
        d->st_cache_cmds = d->cmds;
    }
}

int vt_inst_getstate(struct vt_dev *d, uint8_t **st, uint32_t *len)
{
    uint32_t type;
    int rc;

    *st = NULL;
    if ((rc = vt_inst_wait_idle(d)) < 0 || (rc = cached_state(d, st, len)) != 0)
        return rc < 0 ? rc : 0;
    if ((rc = vt_msg_send(d->fd, VT_M_GETSTATE, NULL, 0, NULL, 0)) < 0 ||
        (rc = vt_msg_recv(d->fd, &type, st, len, VT_WAIT_MS)) < 0) {
        vt_inst_dead(d, "no state came back");
        return rc;
    }
    if (type != VT_M_STATE || *len < 8) {
        free(*st);
        *st = NULL;
        vt_inst_dead(d, "a malformed state message");
        return -EPROTO;
    }
    keep_state(d, *st, *len);
    return 0;
}

int vt_inst_start(struct vt_dev *d, const uint8_t *perm, uint32_t plen, const uint8_t *vol,
                  uint32_t vlen)
{
    uint32_t lens[2] = { plen, vlen }, type, len;
    uint8_t *m = NULL, *init;
    int sv[2], rc;
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    rc = vt_zyg_spawn(d->name, sv[1], &pid);    /* the launcher forks it (vt_zyg.c) */
    close(sv[1]);
    if (rc < 0) {
        close(sv[0]);
        klog_err(d->name, "no instance: the launcher refused (%s)", strerror(-rc));
        return rc;
    }
    d->pid = pid;
    d->fd = sv[0];
    d->busy = VT_SRC_NONE;
    vt_inst_drop_cache(d);
    if (!(init = malloc(8 + (size_t)plen + vlen))) {
        vt_inst_stop(d);
        return -ENOMEM;
    }
    memcpy(init, lens, 8);
    if (plen)
        memcpy(init + 8, perm, plen);
    if (vlen)
        memcpy(init + 8 + plen, vol, vlen);
    rc = vt_msg_send(d->fd, VT_M_INIT, init, 8 + plen + vlen, NULL, 0);
    free(init);
    /* a new TPM reports its manufactured state (NVSTORE) before READY */
    while (rc == 0 && (rc = vt_msg_recv(d->fd, &type, &m, &len, VT_WAIT_MS)) == 0 &&
           type == VT_M_NVSTORE) {
        vt_seal(d, m, len);
        free(m);
        m = NULL;
    }
    if (rc == 0 && (type != VT_M_READY || len != 4 || memcmp(m, "\0\0\0\0", 4)))
        rc = -EPROTO;
    free(m);
    if (rc < 0) {
        klog_err(d->name, "instance %d did not start (%s)", (int)pid, strerror(-rc));
        vt_inst_stop(d);
        return rc;
    }
    klog_info(d->name, "instance %d serving vTPM %s (%s)", (int)pid, d->uuid,
              vlen ? "resumed state" : plen ? "sealed state" : "new TPM");
    return 0;
}

void vt_inst_stop(struct vt_dev *d)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
    if (d->pid > 0)
        vt_zyg_kill(d->pid, 1, NULL);
    d->pid = 0;
    d->busy = VT_SRC_NONE;
    vt_inst_drop_cache(d);
}

/* The instance died or broke the protocol: answer its command, start it again. */
static void vt_inst_dead(struct vt_dev *d, const char *why)
{
    int status = 0, src = d->busy;
    pid_t pid = d->pid;
    uint8_t e[10];
    char how[64] = "";

    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
    vt_inst_drop_cache(d);
    if (pid > 0 && vt_zyg_kill(pid, 1, &status) == 0) {
        if (WIFSIGNALED(status))
            snprintf(how, sizeof(how), ", killed by signal %d", WTERMSIG(status));
        else if (WIFEXITED(status))
            snprintf(how, sizeof(how), ", exit status %d", WEXITSTATUS(status));
    }
    d->pid = 0;
    d->busy = VT_SRC_NONE;
    if (d->released || d->closed)
        return;
    if (!vt_zyg_alive()) {               /* the manager stops: no restart, no store change */
        if (src) {
            vt_err_resp(e, VT_RC_FAILURE);
            vt_deliver(d, src, e, 10);
        }
        return;
    }
    klog_err(d->name, "instance %d of vTPM %s died (%s%s)%s", (int)pid, d->uuid, why, how,
             src ? ": the command in flight gets TPM_RC_FAILURE" : "");
    if (src) {
        vt_err_resp(e, VT_RC_FAILURE);
        vt_deliver(d, src, e, 10);
    }
    if (++d->restarts > VT_MAX_RESTARTS) {
        klog_err(d->name, "instance crashed %d times in a row: closing the device", d->restarts);
        vt_dev_close(d, 0);
        return;
    }
    if (vt_inst_start(d, d->perm, d->perm_len, NULL, 0) < 0) {
        vt_dev_close(d, 0);
        return;
    }
    klog_info(d->name, "instance restarted from the last sealed state%s",
              d->started ? " (TPM2_Startup(CLEAR) re-sent: PCRs and sessions are reset)" : "");
    if (d->started)
        vt_inst_startup(d);
}

void vt_inst_startup(struct vt_dev *d)
{
    if (d->fd >= 0 && !d->busy)
        vt_inst_send_cmd(d, VT_SRC_INTERNAL, 0, vt_startup_clear, sizeof(vt_startup_clear));
}
