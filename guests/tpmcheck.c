/* tpmcheck - a guest that exercises its vTPM through the tpmif frontend (rt_tpmfront):
 * TPM2_Startup(CLEAR), PCR_Reset of PCRs 16 and 23, PCR_Extend of measurements of its own code
 * (SHA-256 of the runtime's first 4 KiB of code into PCR 16, of 512 bytes at main into PCR 23),
 * PCR_Read back and a comparison with the values computed in the guest, GetRandom (twice,
 * different, not all zero), NV_DefineSpace / NV_Write / NV_Read of a 32-byte index (its old
 * contents printed first: they survive a destroy and re-create with the same uuid). Prints the
 * PCR values for dom0 to compare with tpm2_pcrread. Result lines (machine-readable):
 *   tpmcheck: pcr 16 sha256 <hex>         tpmcheck: nv before <hex>|none
 *   tpmcheck: random <hex>                tpmcheck: nv after <hex>
 *   tpmcheck: ok                          tpmcheck: FAIL <what> ...
 * keep=1 stays alive: every second PCR 23 is extended with the tick number and read back
 * against the value the guest expects ("tpmcheck: tick N pcr23 <hex> ok"), so a save/restore
 * or migration that lost the TPM's volatile state shows. loop=N: N ticks, then power off.
 * bench=N: N round trips each of GetRandom(32) and PCR_Extend, runs=R rounds; prints
 *   tpmcheck: result getrandom_ns MEDIAN MIN MAX   (and pcr_extend_ns)
 * steal=DOMID: try to read and write the vtpm frontend and backend nodes of domain DOMID
 * ("tpmcheck: steal <op> <path> rc N"; the store must refuse). nv=TEXT (default "keel"),
 * devid=N, timeout=MS (per command, default 10000), nvindex=N (default 0x01500023). */
#include "rt/keel_guest.h"

#define TPM_ST_NO_SESSIONS 0x8001
#define TPM_ST_SESSIONS 0x8002
#define TPM_CC_STARTUP 0x144
#define TPM_CC_PCR_RESET 0x13D
#define TPM_CC_PCR_EXTEND 0x182
#define TPM_CC_PCR_READ 0x17E
#define TPM_CC_GET_RANDOM 0x17B
#define TPM_CC_NV_DEFINE 0x12A
#define TPM_CC_NV_WRITE 0x137
#define TPM_CC_NV_READ 0x14E
#define TPM_RS_PW 0x40000009u
#define TPM_RH_OWNER 0x40000001u
#define TPM_ALG_SHA256 0x000B
#define TPM_RC_INITIALIZE 0x100
#define TPM_RC_NV_DEFINED 0x14C
#define TPM_RC_NV_UNINITIALIZED 0x14A
#define NV_SIZE 32
#define NV_ATTRS 0x02060006u           /* OWNERWRITE|AUTHWRITE|OWNERREAD|AUTHREAD|NO_DA */
#define RUNS_MAX 15

extern char _start[];

static struct rt_tpm *tpm;
static uint64_t timeout_ns;
static uint8_t cmdbuf[4096], rspbuf[4096];
static uint32_t clen;

/* ---- command building (big-endian) ---- */

static void put8(uint8_t v) { cmdbuf[clen++] = v; }
static void put16(uint16_t v) { put8((uint8_t)(v >> 8)); put8((uint8_t)v); }
static void put32(uint32_t v) { put16((uint16_t)(v >> 16)); put16((uint16_t)v); }
static void putb(const void *p, uint32_t n) { memcpy(cmdbuf + clen, p, n); clen += n; }

static void begin(uint16_t tag, uint32_t cc)
{
    clen = 0;
    put16(tag);
    put32(0);                                  /* size, set by send */
    put32(cc);
}

/* The empty password session (authorizationSize, then TPMS_AUTH_COMMAND). */
static void pw_session(void)
{
    put32(9);
    put32(TPM_RS_PW);
    put16(0);
    put8(0);
    put16(0);
}

static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* Send the command: the response code, or a negative errno (*rlen: response bytes). */
static int64_t send(const char *what, uint32_t *rlen)
{
    int n;

    cmdbuf[2] = (uint8_t)(clen >> 24);
    cmdbuf[3] = (uint8_t)(clen >> 16);
    cmdbuf[4] = (uint8_t)(clen >> 8);
    cmdbuf[5] = (uint8_t)clen;
    n = rt_tpm_cmd(tpm, 0, cmdbuf, clen, rspbuf, sizeof(rspbuf), timeout_ns);
    if (n < 0) {
        rt_printf("tpmcheck: FAIL %s: frontend error %d\n", what, n);
        return n;
    }
    if (n < 10 || get32(rspbuf + 2) != (uint32_t)n) {
        rt_printf("tpmcheck: FAIL %s: response of %d bytes says %u\n", what, n,
                  n >= 6 ? get32(rspbuf + 2) : 0);
        return -71;
    }
    if (rlen)
        *rlen = (uint32_t)n;
    return get32(rspbuf + 6);
}

static void hex(char *out, const uint8_t *p, uint32_t n)
{
    static const char d[] = "0123456789abcdef";

    for (uint32_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = 0;
}

static int expect_ok(const char *what, int64_t rc)
{
    if (rc == 0)
        return 0;
    if (rc > 0)
        rt_printf("tpmcheck: FAIL %s: TPM response code 0x%llx\n", what, (unsigned long long)rc);
    return -1;
}

/* ---- TPM commands ---- */

static int startup(void)
{
    int64_t rc;

    begin(TPM_ST_NO_SESSIONS, TPM_CC_STARTUP);
    put16(0);                                  /* TPM_SU_CLEAR */
    rc = send("startup", NULL);
    rt_printf("tpmcheck: startup rc 0x%llx%s\n", (unsigned long long)rc,
              rc == TPM_RC_INITIALIZE ? " (already started)" : "");
    return rc == TPM_RC_INITIALIZE ? 0 : expect_ok("startup", rc);
}

static int pcr_reset(uint32_t pcr)
{
    begin(TPM_ST_SESSIONS, TPM_CC_PCR_RESET);
    put32(pcr);
    pw_session();
    return expect_ok("pcr_reset", send("pcr_reset", NULL));
}

static int pcr_extend(uint32_t pcr, const uint8_t digest[32])
{
    begin(TPM_ST_SESSIONS, TPM_CC_PCR_EXTEND);
    put32(pcr);
    pw_session();
    put32(1);
    put16(TPM_ALG_SHA256);
    putb(digest, 32);
    return expect_ok("pcr_extend", send("pcr_extend", NULL));
}

/* Read the SHA-256 banks of two PCRs (a < b). */
static int pcr_read2(uint32_t a, uint32_t b, uint8_t va[32], uint8_t vb[32])
{
    uint8_t sel[3] = { 0, 0, 0 };
    uint32_t rlen, off, nsel, ndig;
    int64_t rc;

    sel[a / 8] |= (uint8_t)(1u << (a % 8));
    sel[b / 8] |= (uint8_t)(1u << (b % 8));
    begin(TPM_ST_NO_SESSIONS, TPM_CC_PCR_READ);
    put32(1);
    put16(TPM_ALG_SHA256);
    put8(3);
    putb(sel, 3);
    if (expect_ok("pcr_read", rc = send("pcr_read", &rlen)) < 0)
        return -1;
    off = 10 + 4;                              /* header, pcrUpdateCounter */
    if (off + 4 > rlen || (nsel = get32(rspbuf + off)) != 1)
        goto bad;
    off += 4 + 2;                              /* count, hash */
    if (off + 1 > rlen || rspbuf[off] > 4)
        goto bad;
    off += 1u + rspbuf[off];
    if (off + 4 > rlen || (ndig = get32(rspbuf + off)) != 2)
        goto bad;
    off += 4;
    for (int i = 0; i < 2; i++) {
        if (off + 2 + 32 > rlen || get16(rspbuf + off) != 32)
            goto bad;
        memcpy(i ? vb : va, rspbuf + off + 2, 32);
        off += 34;
    }
    return 0;
bad:
    rt_printf("tpmcheck: FAIL pcr_read: malformed response (%u bytes)\n", rlen);
    return -1;
}

static int get_random(uint8_t *out, uint16_t n)
{
    uint32_t rlen;

    begin(TPM_ST_NO_SESSIONS, TPM_CC_GET_RANDOM);
    put16(n);
    if (expect_ok("get_random", send("get_random", &rlen)) < 0)
        return -1;
    if (rlen < 12 || get16(rspbuf + 10) != n || 12u + n > rlen) {
        rt_printf("tpmcheck: FAIL get_random: %u bytes asked, response of %u bytes\n", n, rlen);
        return -1;
    }
    memcpy(out, rspbuf + 12, n);
    return 0;
}

static int64_t nv_define(uint32_t index)
{
    begin(TPM_ST_SESSIONS, TPM_CC_NV_DEFINE);
    put32(TPM_RH_OWNER);
    pw_session();
    put16(0);                                  /* auth: empty */
    put16(4 + 2 + 4 + 2 + 2);                  /* TPM2B_NV_PUBLIC size */
    put32(index);
    put16(TPM_ALG_SHA256);
    put32(NV_ATTRS);
    put16(0);                                  /* authPolicy: empty */
    put16(NV_SIZE);
    return send("nv_define", NULL);
}

static int nv_write(uint32_t index, const uint8_t *data)
{
    begin(TPM_ST_SESSIONS, TPM_CC_NV_WRITE);
    put32(TPM_RH_OWNER);
    put32(index);
    pw_session();
    put16(NV_SIZE);
    putb(data, NV_SIZE);
    put16(0);                                  /* offset */
    return expect_ok("nv_write", send("nv_write", NULL));
}

/* The response code (NV_UNINITIALIZED before the first write), data in out on 0. */
static int64_t nv_read(uint32_t index, uint8_t *out)
{
    uint32_t rlen;
    int64_t rc;

    begin(TPM_ST_SESSIONS, TPM_CC_NV_READ);
    put32(TPM_RH_OWNER);
    put32(index);
    pw_session();
    put16(NV_SIZE);
    put16(0);
    if ((rc = send("nv_read", &rlen)) != 0)
        return rc;
    /* header, parameterSize, TPM2B_MAX_NV_BUFFER */
    if (rlen < 16 + NV_SIZE || get16(rspbuf + 14) != NV_SIZE) {
        rt_printf("tpmcheck: FAIL nv_read: malformed response (%u bytes)\n", rlen);
        return -71;
    }
    memcpy(out, rspbuf + 16, NV_SIZE);
    return 0;
}

/* ---- checks ---- */

static int sha_selftest(void)
{
    static const uint8_t want[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };
    uint8_t got[32];

    rt_sha256("abc", 3, got);
    if (memcmp(got, want, 32)) {
        rt_printf("tpmcheck: FAIL sha256 self-test\n");
        return -1;
    }
    return 0;
}

/* new = SHA-256(old || digest), the PCR extend rule. */
static void extend_value(uint8_t pcr[32], const uint8_t digest[32])
{
    struct rt_sha256 c;

    rt_sha256_init(&c);
    rt_sha256_update(&c, pcr, 32);
    rt_sha256_update(&c, digest, 32);
    rt_sha256_final(&c, pcr);
}

static uint8_t want16[32], want23[32];

static int check_pcrs(const char *label)
{
    uint8_t v16[32], v23[32];
    char h[65], w[65];

    if (pcr_read2(16, 23, v16, v23) < 0)
        return -1;
    hex(h, v16, 32);
    rt_printf("tpmcheck: %s pcr 16 sha256 %s\n", label, h);
    hex(h, v23, 32);
    rt_printf("tpmcheck: %s pcr 23 sha256 %s\n", label, h);
    for (int i = 0; i < 2; i++) {
        const uint8_t *got = i ? v23 : v16, *want = i ? want23 : want16;
        if (memcmp(got, want, 32)) {
            hex(h, got, 32);
            hex(w, want, 32);
            rt_printf("tpmcheck: FAIL pcr %d got %s want %s\n", i ? 23 : 16, h, w);
            return -1;
        }
    }
    return 0;
}

static int measure_and_check(void)
{
    uint8_t m16[32], m23[32];
    char h[65];

    rt_sha256(_start, 4096, m16);
    rt_sha256((const void *)(uintptr_t)main, 512, m23);
    hex(h, m16, 32);
    rt_printf("tpmcheck: measurement 16 %s\n", h);
    hex(h, m23, 32);
    rt_printf("tpmcheck: measurement 23 %s\n", h);
    if (pcr_reset(16) < 0 || pcr_reset(23) < 0)
        return -1;
    memset(want16, 0, 32);
    memset(want23, 0, 32);
    extend_value(want16, m16);
    extend_value(want23, m23);
    if (pcr_extend(16, m16) < 0 || pcr_extend(23, m23) < 0)
        return -1;
    if (check_pcrs("final") < 0)
        return -1;
    rt_printf("tpmcheck: pcr ok\n");
    return 0;
}

static int check_random(void)
{
    uint8_t a[32], b[32], zero[32];
    char h[65];

    memset(zero, 0, 32);
    if (get_random(a, 32) < 0 || get_random(b, 32) < 0)
        return -1;
    hex(h, a, 32);
    rt_printf("tpmcheck: random %s\n", h);
    if (!memcmp(a, b, 32) || !memcmp(a, zero, 32)) {
        rt_printf("tpmcheck: FAIL random: repeated or zero bytes\n");
        return -1;
    }
    return 0;
}

static int check_nv(uint32_t index, const char *text)
{
    uint8_t data[NV_SIZE], back[NV_SIZE];
    char h[2 * NV_SIZE + 1];
    int64_t rc = nv_define(index);

    if (rc != 0 && rc != TPM_RC_NV_DEFINED)
        return expect_ok("nv_define", rc);
    rt_printf("tpmcheck: nv index 0x%x %s\n", index, rc ? "already defined" : "defined");
    rc = nv_read(index, back);
    if (rc == 0) {
        hex(h, back, NV_SIZE);
        rt_printf("tpmcheck: nv before %s\n", h);
    } else if (rc == TPM_RC_NV_UNINITIALIZED) {
        rt_printf("tpmcheck: nv before none\n");
    } else {
        return expect_ok("nv_read", rc);
    }
    memset(data, 0, sizeof(data));
    memcpy(data, text, strlen(text) < NV_SIZE ? strlen(text) : NV_SIZE);
    if (nv_write(index, data) < 0 || expect_ok("nv_read", nv_read(index, back)) < 0)
        return -1;
    hex(h, back, NV_SIZE);
    rt_printf("tpmcheck: nv after %s\n", h);
    if (memcmp(data, back, NV_SIZE)) {
        rt_printf("tpmcheck: FAIL nv: read back differs from what was written\n");
        return -1;
    }
    return 0;
}

/* ---- modes ---- */

static void steal(uint32_t other)
{
    static const char *const fmt[] = { "/local/domain/%u/device/vtpm/0/ring-ref",
                                       "/local/domain/0/backend/vtpm/%u/0/uuid",
                                       "/local/domain/0/backend/vtpm/%u/0/state" };
    char path[96], buf[64];

    for (int i = 0; i < 3; i++) {
        rt_snprintf(path, sizeof(path), fmt[i], other);
        rt_printf("tpmcheck: steal read %s rc %d\n", path, rt_xs_read(path, buf, sizeof(buf)));
        rt_printf("tpmcheck: steal write %s rc %d\n", path, rt_xs_write(path, "8"));
    }
}

static void sort(uint64_t *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

static void result(const char *name, uint64_t *v, int n)
{
    sort(v, n);
    rt_printf("tpmcheck: result %s %llu %llu %llu\n", name, (unsigned long long)v[n / 2],
              (unsigned long long)v[0], (unsigned long long)v[n - 1]);
}

static int bench(uint64_t n, int runs)
{
    uint64_t gr[RUNS_MAX], ex[RUNS_MAX];
    uint8_t r[32], d[32];

    memset(d, 0x5a, 32);
    for (int k = 0; k < runs; k++) {
        uint64_t t0 = rt_now();
        for (uint64_t i = 0; i < n; i++)
            if (get_random(r, 32) < 0)
                return -1;
        uint64_t t1 = rt_now();
        for (uint64_t i = 0; i < n; i++)
            if (pcr_extend(23, d) < 0)
                return -1;
        uint64_t t2 = rt_now();
        gr[k] = (t1 - t0) / n;
        ex[k] = (t2 - t1) / n;
        rt_printf("tpmcheck: run %d getrandom_ns=%llu pcr_extend_ns=%llu\n", k + 1,
                  (unsigned long long)gr[k], (unsigned long long)ex[k]);
    }
    result("getrandom_ns", gr, runs);
    result("pcr_extend_ns", ex, runs);
    rt_printf("tpmcheck: done\n");
    return 0;
}

/* Every second: PCR 23 extended with the tick number, read back against the expected value. */
static int keep(uint64_t ticks)
{
    uint64_t next = rt_now();

    for (uint64_t t = 1; !ticks || t <= ticks; t++) {
        uint8_t m[32], v16[32], v23[32];
        char h[65];
        next += 1000000000ULL;
        rt_sleep_until(next);
        memset(m, 0, 32);
        memcpy(m, &t, sizeof(t));
        extend_value(want23, m);
        if (pcr_extend(23, m) < 0 || pcr_read2(16, 23, v16, v23) < 0)
            return -1;
        hex(h, v23, 32);
        if (memcmp(v23, want23, 32) || memcmp(v16, want16, 32)) {
            rt_printf("tpmcheck: FAIL tick %llu pcr23 %s: the TPM lost its PCR state\n",
                      (unsigned long long)t, h);
            return -1;
        }
        rt_printf("tpmcheck: tick %llu pcr23 %s ok\n", (unsigned long long)t, h);
    }
    return 0;
}

int main(void)
{
    uint64_t nbench = rt_arg_u64("bench", 0), runs = rt_arg_u64("runs", 5);
    uint32_t index = (uint32_t)rt_arg_u64("nvindex", 0x01500023);
    const char *nv = rt_arg("nv");
    char nvtext[NV_SIZE + 1];
    int err = 0;

    timeout_ns = rt_arg_u64("timeout", 10000) * 1000000ULL;
    if (sha_selftest() < 0)
        return 1;
    if (rt_arg("steal")) {
        if (rt_xs_init() < 0)
            return 1;
        steal((uint32_t)rt_arg_u64("steal", 0));
    }
    if (!(tpm = rt_tpm_open((uint32_t)rt_arg_u64("devid", 0), &err))) {
        rt_printf("tpmcheck: FAIL open: %d\n", err);
        return 1;
    }
    rt_printf("tpmcheck: vtpm connected\n");
    if (startup() < 0)
        return 1;
    if (nbench) {
        if (runs < 1 || runs > RUNS_MAX)
            runs = 5;
        return bench(nbench, (int)runs) < 0;
    }
    /* nv= up to its first blank or the 32 bytes of the index */
    uint32_t l = 0;
    for (; nv && nv[l] && nv[l] != ' ' && l < NV_SIZE; l++)
        nvtext[l] = nv[l];
    if (!nv)
        memcpy(nvtext, "keel", l = 4);
    nvtext[l] = 0;
    if (measure_and_check() < 0 || check_random() < 0 || check_nv(index, nvtext) < 0)
        return 1;
    rt_printf("tpmcheck: ok\n");
    if (rt_arg_u64("keep", 0) || rt_arg("loop"))
        return keep(rt_arg_u64("loop", 0)) < 0;
    return 0;
}
