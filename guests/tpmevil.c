/* tpmevil - a hostile vTPM frontend for keel-vtpmd's tests. It connects through rt_tpmfront,
 * sends well-formed commands (TPM2_Startup, TPM2_GetRandom, TPM2_PCR_Extend of PCR 16), then
 * writes malformed requests straight into the shared page (lying length and size fields,
 * oversize lengths, too many extra pages, an extra page never granted, a bad locality, garbage
 * bytes, an unknown command code) and checks that each gets a TPM error response (never a hang,
 * never success), then that the vTPM still answers GetRandom. Lines on the console:
 *   tpmevil: startup rc=0x0 | getrandom ok N | pcr_extend rc=0x0
 *   tpmevil: attempt=NAME rc=0xRC expect=0xRC ok|UNHANDLED
 *   tpmevil: alive getrandom ok | failed
 *   tpmevil: done pass=P fail=F
 * devid=N picks the vtpm. */
#include "rt/keel_guest.h"

#include "keel/io/tpmif.h"

#define WAIT_NS (10 * 1000000000ULL)

static struct rt_tpm *tpm;
static int pass, fail;

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One command through the frontend: the response code, or 0xffffffff on a transport error. */
static uint32_t cmd(const uint8_t *c, uint32_t len, uint8_t *rsp, uint32_t rsize, int *rlen)
{
    int n = rt_tpm_cmd(tpm, 0, c, len, rsp, rsize, WAIT_NS);

    if (rlen)
        *rlen = n;
    if (n < 10) {
        rt_printf("tpmevil: transport error %d\n", n);
        return 0xffffffffu;
    }
    return rd32(rsp + 6);
}

static int getrandom(void)
{
    uint8_t c[12] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7b, 0, 16 }, r[64];
    int n = 0;

    return cmd(c, 12, r, sizeof(r), &n) == 0 && n == 10 + 2 + 16 && r[10] == 0 && r[11] == 16;
}

static void wellformed(void)
{
    uint8_t start[12] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0 }, r[256], x[65];
    uint32_t rc = cmd(start, 12, r, sizeof(r), NULL);

    rt_printf("tpmevil: startup rc=0x%x\n", rc);
    rt_printf("tpmevil: getrandom %s 16\n", getrandom() ? "ok" : "failed");
    /* PCR_Extend(PCR 16, sha256 of nothing in particular) with a password session */
    memset(x, 0, sizeof(x));
    x[0] = 0x80;
    x[1] = 0x02;
    be32(x + 2, sizeof(x));
    be32(x + 6, 0x182);
    be32(x + 10, 16);
    be32(x + 14, 9);                     /* authorization area */
    be32(x + 18, 0x40000009);            /* TPM_RS_PW, empty nonce, attributes 0, empty hmac */
    be32(x + 27, 1);                     /* TPML_DIGEST_VALUES: one */
    x[31] = 0x00;
    x[32] = 0x0b;                        /* sha256 */
    for (int i = 0; i < 32; i++)
        x[33 + i] = (uint8_t)(0xa0 + i);
    rc = cmd(x, sizeof(x), r, sizeof(r), NULL);
    rt_printf("tpmevil: pcr_extend rc=0x%x\n", rc);
}

/* Write a raw request into the page and wait for FINISH: the response code, 0xffffffff none. */
static uint32_t raw(uint32_t length, uint8_t locality, uint8_t nr_extra, uint32_t extra_ref,
                    const uint8_t *data, uint32_t dlen)
{
    volatile struct keel_tpmif_shared_page *pg = rt_tpm_page(tpm);
    volatile uint8_t *b = (volatile uint8_t *)pg;
    uint32_t off = keel_tpmif_data_offset(nr_extra);
    uint64_t until = rt_now() + WAIT_NS;
    uint8_t rsp[10];

    for (uint32_t i = 0; i < dlen && off + i < 4096; i++)
        b[off + i] = data[i];
    for (uint32_t i = 0; i < nr_extra && 8 + 4 * i < off; i++) {
        volatile uint32_t *ref = (volatile uint32_t *)(b + 8 + 4 * i);
        *ref = extra_ref;
    }
    pg->length = length;
    pg->locality = locality;
    pg->nr_extra_pages = nr_extra;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    pg->state = KEEL_TPMIF_STATE_SUBMIT;
    rt_notify(rt_tpm_port(tpm));
    while (pg->state != KEEL_TPMIF_STATE_FINISH) {
        if (rt_now() > until) {
            pg->nr_extra_pages = 0;
            return 0xffffffffu;
        }
        rt_sleep_until(rt_now() + 1000000ULL);
    }
    for (int i = 0; i < 10; i++)
        rsp[i] = b[off + (uint32_t)i];
    pg->state = KEEL_TPMIF_STATE_IDLE;
    pg->nr_extra_pages = 0;
    if (pg->length != 10 || rsp[0] != 0x80 || rd32(rsp + 2) != 10)
        return 0xfffffffeu;
    return rd32(rsp + 6);
}

static void attempt(const char *name, uint32_t rc, uint32_t expect)
{
    int good = rc == expect;

    good ? pass++ : fail++;
    rt_printf("tpmevil: attempt=%s rc=0x%x expect=0x%x %s\n", name, rc, expect,
              good ? "ok" : "UNHANDLED");
}

static void hostile(void)
{
    uint8_t c[64], g[64];

    memcpy(c, (const uint8_t[]){ 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7b, 0, 16 }, 12);
    be32(c + 2, 200);                    /* says 200, length says 12 */
    attempt("size-lies", raw(12, 0, 0, 0, c, 12), 0x142);
    be32(c + 2, 10);                     /* says 10, length says 12 */
    attempt("size-short", raw(12, 0, 0, 0, c, 12), 0x142);
    be32(c + 2, 12);
    attempt("length-beyond-page", raw(5000, 0, 0, 0, c, 12), 0x142);
    attempt("length-huge", raw(0xffffffffu, 0, 0, 0, c, 12), 0x142);
    attempt("length-tiny", raw(4, 0, 0, 0, c, 12), 0x142);
    attempt("extra-pages-200", raw(12, 0, 200, 0, c, 12), 0x142);
    attempt("extra-page-not-granted", raw(12, 0, 1, 0xfffff0u, c, 12), 0x101);
    attempt("locality-7", raw(12, 7, 0, 0, c, 12), 0x907);
    for (int i = 0; i < 64; i++)
        g[i] = (uint8_t)(i * 37 + 11);
    attempt("garbage", raw(64, 0, 0, 0, g, 64), 0x01e);
    be32(c + 6, 0xdeadbeef);             /* a well-formed header, an unknown command */
    attempt("unknown-command", raw(12, 0, 0, 0, c, 12), 0x143);
}

int main(void)
{
    int err = 0;

    rt_enable_events();
    if (!(tpm = rt_tpm_open((uint32_t)rt_arg_u64("devid", 0), &err))) {
        rt_printf("tpmevil: no vtpm (%d)\n", err);
        rt_shutdown(0);
    }
    wellformed();
    hostile();
    {
        int alive = getrandom();
        alive ? pass++ : fail++;
        rt_printf("tpmevil: alive getrandom %s\n", alive ? "ok" : "failed");
    }
    rt_printf("tpmevil: done pass=%d fail=%d\n", pass, fail);
    rt_tpm_close(tpm);
    rt_shutdown(0);
}
