/* vt_engine.c - one vTPM instance: the process keel-vtpmd forks per device, running the libtpms
 * TPM 2.0 engine (libtpms keeps global state: one TPM per process). It is confined before it
 * reads anything (vt_confine.c: only its socketpair, an unprivileged uid, no_new_privs, limits)
 * and loads its seccomp filter once libtpms is started, before the first command. It owns no
 * file: its starting state comes in the INIT message, and libtpms's NV writes (the nvram store
 * callback) go back to the manager as NVSTORE messages, which seals them to disk before the
 * response of the command that changed them reaches the guest. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>
#include <libtpms/tpm_memory.h>
#include <libtpms/tpm_nvfilename.h>

#include "klog.h"
#include "vt_confine.h"
#include "vt_proto.h"

static int eng_fd = -1;
static uint32_t eng_locality;
static int eng_store_failed;
static const char *eng_name = "vtpm";
static unsigned char *eng_perm;          /* the permanent state as last stored (or given) */
static uint32_t eng_perm_len;

static int eng_keep(const unsigned char *data, uint32_t len)
{
    unsigned char *c = malloc(len ? len : 1);

    if (!c)
        return -1;
    memcpy(c, data, len);
    free(eng_perm);
    eng_perm = c;
    eng_perm_len = len;
    return 0;
}

static TPM_RESULT eng_nv_init(void)
{
    return TPM_SUCCESS;
}

/* The permanent state as last given or stored (libtpms reads it back after manufacturing);
 * none yet: TPM_RETRY, and libtpms manufactures a new TPM. */
static TPM_RESULT eng_nv_load(unsigned char **data, uint32_t *length, uint32_t tpm_number,
                              const char *name)
{
    (void)tpm_number;
    if (strcmp(name, TPM_PERMANENT_ALL_NAME) || !eng_perm)
        return TPM_RETRY;
    if (TPM_Malloc(data, eng_perm_len) != TPM_SUCCESS)
        return TPM_FAIL;
    memcpy(*data, eng_perm, eng_perm_len);
    *length = eng_perm_len;
    return TPM_SUCCESS;
}

static TPM_RESULT eng_nv_store(const unsigned char *data, uint32_t length, uint32_t tpm_number,
                               const char *name)
{
    (void)tpm_number;
    if (strcmp(name, TPM_PERMANENT_ALL_NAME))
        return TPM_SUCCESS;              /* volatile state travels only through GETSTATE */
    if (eng_keep(data, length) < 0)
        return TPM_FAIL;
    if (vt_msg_send(eng_fd, VT_M_NVSTORE, data, length, NULL, 0) < 0) {
        eng_store_failed = 1;
        return TPM_FAIL;
    }
    return TPM_SUCCESS;
}

static TPM_RESULT eng_nv_delete(uint32_t tpm_number, const char *name, TPM_BOOL must_exist)
{
    (void)tpm_number;
    (void)name;
    (void)must_exist;
    return TPM_SUCCESS;
}

static TPM_RESULT eng_io_init(void)
{
    return TPM_SUCCESS;
}

static TPM_RESULT eng_get_locality(TPM_MODIFIER_INDICATOR *loc, uint32_t tpm_number)
{
    (void)tpm_number;
    *loc = eng_locality;
    return TPM_SUCCESS;
}

static TPM_RESULT eng_pp(TPM_BOOL *pp, uint32_t tpm_number)
{
    (void)tpm_number;
    *pp = 0;
    return TPM_SUCCESS;
}

static uint32_t eng_get32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

/* INIT: choose TPM 2, register the callbacks, set the given state, start. */
static TPM_RESULT eng_start(const uint8_t *m, uint32_t len)
{
    static struct libtpms_callbacks cb = {
        .sizeOfStruct = sizeof(struct libtpms_callbacks),
        .tpm_nvram_init = eng_nv_init,
        .tpm_nvram_loaddata = eng_nv_load,
        .tpm_nvram_storedata = eng_nv_store,
        .tpm_nvram_deletename = eng_nv_delete,
        .tpm_io_init = eng_io_init,
        .tpm_io_getlocality = eng_get_locality,
        .tpm_io_getphysicalpresence = eng_pp,
    };
    uint32_t pl, vl;
    TPM_RESULT rc;

    if (len < 8)
        return TPM_FAIL;
    pl = eng_get32(m);
    vl = eng_get32(m + 4);
    if ((uint64_t)pl + vl != len - 8)
        return TPM_FAIL;
    if ((rc = TPMLIB_ChooseTPMVersion(TPMLIB_TPM_VERSION_2)) != TPM_SUCCESS ||
        (rc = TPMLIB_RegisterCallbacks(&cb)) != TPM_SUCCESS)
        return rc;
    if (pl && eng_keep(m + 8, pl) < 0)
        return TPM_FAIL;
    if (pl && (rc = TPMLIB_SetState(TPMLIB_STATE_PERMANENT, m + 8, pl)) != TPM_SUCCESS) {
        klog_err(eng_name, "libtpms refused the permanent state (%u bytes): 0x%x", pl, rc);
        return rc;
    }
    if (vl && (rc = TPMLIB_SetState(TPMLIB_STATE_VOLATILE, m + 8 + pl, vl)) != TPM_SUCCESS) {
        klog_err(eng_name, "libtpms refused the volatile state (%u bytes): 0x%x", vl, rc);
        return rc;
    }
    rc = TPMLIB_MainInit();
    if (rc != TPM_SUCCESS)
        klog_err(eng_name, "libtpms did not start: 0x%x", rc);
    return rc;
}

static int eng_getstate(void)
{
    unsigned char *perm = NULL, *vol = NULL;
    uint32_t pl = 0, vl = 0, lens[2];
    int rc;

    if (TPMLIB_GetState(TPMLIB_STATE_PERMANENT, &perm, &pl) != TPM_SUCCESS ||
        TPMLIB_GetState(TPMLIB_STATE_VOLATILE, &vol, &vl) != TPM_SUCCESS) {
        free(perm);
        free(vol);
        lens[0] = lens[1] = 0;
        return vt_msg_send(eng_fd, VT_M_STATE, lens, 8, NULL, 0);
    }
    lens[0] = pl;
    lens[1] = vl;
    {
        uint8_t *b = malloc((size_t)pl + vl + 8);
        if (!b) {
            free(perm);
            free(vol);
            return -ENOMEM;
        }
        memcpy(b, lens, 8);
        memcpy(b + 8, perm, pl);
        memcpy(b + 8 + pl, vol, vl);
        rc = vt_msg_send(eng_fd, VT_M_STATE, b, pl + vl + 8, NULL, 0);
        free(b);
    }
    free(perm);
    free(vol);
    return rc;
}

int vt_engine_main(int fd, const char *name)
{
    unsigned char *rbuf = NULL;
    uint32_t rlen = 0, rsize = 0, type, len, st;
    uint8_t *m;
    char err[200];
    int rc;

    eng_fd = fd;
    eng_name = name;
    if (vt_msg_recv(fd, &type, &m, &len, -1) < 0 || type != VT_M_INIT)
        return 1;
    st = eng_start(m, len);
    free(m);
    if (vt_msg_send(fd, VT_M_READY, &st, 4, NULL, 0) < 0 || st != TPM_SUCCESS)
        return 1;
    if (vt_confine_filter(err, sizeof(err)) < 0) {
        klog_err(name, "%s", err);
        return 1;
    }
    for (;;) {
        if ((rc = vt_msg_recv(fd, &type, &m, &len, -1)) < 0)
            return rc == -ECONNRESET ? 0 : 1;
        if (type == VT_M_CMD && len >= 1 + 10 && len <= 1 + VT_TPM_BUF) {
            eng_locality = m[0];
            rlen = 0;
            if (TPMLIB_Process(&rbuf, &rlen, &rsize, m + 1, len - 1) != TPM_SUCCESS)
                rlen = 0;
            rc = vt_msg_send(fd, VT_M_RESP, rbuf, rlen, NULL, 0);
        } else if (type == VT_M_GETSTATE) {
            rc = eng_getstate();
        } else {
            rc = -EPROTO;
        }
        free(m);
        if (rc < 0 || eng_store_failed)
            return 1;
    }
}
