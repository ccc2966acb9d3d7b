/* rt_tpmfront.c - the vTPM frontend of the guest runtime: Xen's tpmif protocol v2 over one
 * shared page (include/keel/io/tpmif.h, docs/device-vtpm.md). Open: find device/vtpm/<devid>,
 * wait for the backend's InitWait (it has started the TPM instance and offers
 * feature-protocol-v2), grant one page to the backend domain, allocate an unbound event channel
 * toward it, publish ring-ref / event-channel / feature-protocol-v2=1, go Initialised, wait for
 * the backend's Connected with ready=1, go Connected. A command: written after the page header,
 * length and locality set, state SUBMIT, a notification; the backend answers with FINISH (or
 * IDLE after a cancel). The page is read once per field and checked (state, length against the
 * page and the caller's buffer). A command the backend does not answer in time is cancelled
 * (state CANCEL, a notification, a short wait for IDLE/FINISH). The event handler only counts. */
#include "keel_guest.h"

#include "keel/io/ring.h"
#include "keel/io/tpmif.h"
#include "keel/io/xenbus.h"

#define E_NOMEM 12
#define E_BUSY 16
#define E_NODEV 19
#define E_INVAL 22
#define E_MSGSIZE 90
#define E_PROTO 71
#define E_TIMEDOUT 110

#define TPM_CONNECT_NS (30 * 1000000000ULL)
#define TPM_CANCEL_NS (2 * 1000000000ULL)
#define TPM_DATA_OFF keel_tpmif_data_offset(0)
#define TPM_MAX_DATA ((uint32_t)KEEL_PAGE_SIZE - TPM_DATA_OFF)

struct rt_tpm {
    struct rt_xb_dev xb;
    volatile struct keel_tpmif_shared_page *page;
    uint32_t ref, port, devid, be_id;
    volatile uint32_t kicks;
    int connected, broken;
    uint64_t cancels;
};

static void tpm_event(uint32_t port, void *data)
{
    (void)port;
    ((struct rt_tpm *)data)->kicks++;
}

static int grant_table_ready(void)
{
    static int ready;

    if (ready)
        return 0;
    for (uint32_t frames = 32; frames; frames /= 2) {
        int rc = rt_gnttab_init(frames);
        if (rc == 0 || rc == -E_INVAL) {       /* EINVAL: someone (blkfront) set it up */
            ready = 1;
            return 0;
        }
    }
    return -E_NOMEM;
}

/* Sleep until an event or deadline (ns). No busy spin here: rt_block polls (yielding the CPU
 * between looks) before it blocks, and on a small host a spinning vCPU takes the CPU the
 * manager and its instance need (a 30 us spin made round trips 3x slower). */
static void tpm_sleep(struct rt_tpm *t, uint8_t waiting_in, uint64_t deadline)
{
    volatile struct keel_vcpu_info *vi = rt_this_cpu()->vi;
    uint64_t wake;

    vi->evtchn_upcall_mask = 1;
    keel_mb();
    if (t->page->state != waiting_in) {
        rt_enable_events();
        return;
    }
    wake = rt_now() + 100000000ULL;
    if (deadline && deadline < wake)
        wake = deadline;
    rt_set_timer(wake);
    rt_block();
    rt_enable_events();
}

/* Wait while the page's state is `in`; the new state, or -ETIMEDOUT. */
static int wait_state_change(struct rt_tpm *t, uint8_t in, uint64_t deadline)
{
    for (;;) {
        uint8_t st = t->page->state;
        if (st != in)
            return st;
        if (rt_now() >= deadline)
            return -E_TIMEDOUT;
        tpm_sleep(t, in, deadline);
    }
}

static int cancel(struct rt_tpm *t)
{
    int st;

    t->cancels++;
    t->page->state = KEEL_TPMIF_STATE_CANCEL;
    keel_mb();
    rt_notify(t->port);
    st = wait_state_change(t, KEEL_TPMIF_STATE_CANCEL, rt_now() + TPM_CANCEL_NS);
    if (st != KEEL_TPMIF_STATE_IDLE && st != KEEL_TPMIF_STATE_FINISH) {
        rt_printf("tpmfront: vtpm %u: the backend did not acknowledge a cancel (state %d): "
                  "device unusable\n", t->devid, st);
        t->broken = 1;
    }
    return -E_TIMEDOUT;
}

int rt_tpm_cmd(struct rt_tpm *t, uint8_t locality, const void *cmd, uint32_t len, void *rsp,
               uint32_t rsp_size, uint64_t timeout_ns)
{
    volatile uint8_t *data;
    uint32_t rlen;
    int st;

    if (!t->connected || t->broken)
        return -E_NODEV;
    if (len < 10 || len > TPM_MAX_DATA)
        return -E_MSGSIZE;
    st = t->page->state;
    if (st != KEEL_TPMIF_STATE_IDLE && st != KEEL_TPMIF_STATE_FINISH)
        return -E_BUSY;                        /* a cancelled command still in the backend */
    data = (volatile uint8_t *)t->page + TPM_DATA_OFF;
    memcpy((void *)data, cmd, len);
    t->page->length = len;
    t->page->locality = locality;
    t->page->nr_extra_pages = 0;
    keel_wmb();
    t->page->state = KEEL_TPMIF_STATE_SUBMIT;
    keel_mb();
    rt_notify(t->port);
    st = wait_state_change(t, KEEL_TPMIF_STATE_SUBMIT,
                           timeout_ns ? rt_now() + timeout_ns : UINT64_MAX);
    if (st == -E_TIMEDOUT)
        return cancel(t);
    if (st != KEEL_TPMIF_STATE_FINISH) {
        rt_printf("tpmfront: vtpm %u: the backend answered with state %d\n", t->devid, st);
        return -E_PROTO;
    }
    keel_rmb();
    rlen = t->page->length;                    /* read once */
    if (rlen < 10 || rlen > TPM_MAX_DATA || rlen > rsp_size) {
        rt_printf("tpmfront: vtpm %u: response length %u refused (page %u, buffer %u)\n",
                  t->devid, rlen, TPM_MAX_DATA, rsp_size);
        return -E_PROTO;
    }
    memcpy(rsp, (const void *)data, rlen);
    return (int)rlen;
}

uint32_t rt_tpm_max_cmd(const struct rt_tpm *t)
{
    (void)t;
    return TPM_MAX_DATA;
}

int rt_tpm_connected(const struct rt_tpm *t)
{
    return t->connected && !t->broken;
}

uint32_t rt_tpm_port(const struct rt_tpm *t)
{
    return t->port;
}

/* Grant the page, allocate the event channel, publish the keys, go Initialised. */
static int publish(struct rt_tpm *t)
{
    int ref, port, rc;

    if (!(t->page = rt_page_alloc(1)))
        return -E_NOMEM;
    if ((ref = rt_gnttab_grant(t->be_id, rt_virt_to_gfn((const void *)t->page), 0)) < 0)
        return ref;
    t->ref = (uint32_t)ref;
    if ((port = rt_alloc_unbound(t->be_id, tpm_event, t)) < 0)
        return port;
    t->port = (uint32_t)port;
    if ((rc = rt_xb_printf(&t->xb, "ring-ref", "%u", t->ref)) < 0 ||
        (rc = rt_xb_printf(&t->xb, "event-channel", "%u", t->port)) < 0 ||
        (rc = rt_xb_write(&t->xb, "feature-protocol-v2", "1")) < 0)
        return rc;
    return rt_xb_switch(&t->xb, KEEL_XB_INITIALISED);
}

static int connect(struct rt_tpm *t)
{
    uint32_t gone = 1u << KEEL_XB_CLOSING | 1u << KEEL_XB_CLOSED;
    uint32_t ready = 1u << KEEL_XB_INITWAIT | 1u << KEEL_XB_INITIALISED | 1u << KEEL_XB_CONNECTED;
    int st, rc;

    st = rt_xb_wait_state(&t->xb, ready | gone, rt_now() + TPM_CONNECT_NS);
    if (st < 0 || (gone & (1u << st)))
        return st < 0 ? st : -E_NODEV;
    if (rt_xb_read_u64_or(&t->xb, RT_XB_BACKEND, "feature-protocol-v2", 0) != 1) {
        rt_printf("tpmfront: vtpm %u: the backend does not offer feature-protocol-v2\n", t->devid);
        return -E_PROTO;
    }
    if ((rc = grant_table_ready()) < 0 || (rc = publish(t)) < 0)
        return rc;
    for (;;) {
        st = rt_xb_wait_state(&t->xb, 1u << KEEL_XB_CONNECTED | gone, rt_now() + TPM_CONNECT_NS);
        if (st < 0 || st != KEEL_XB_CONNECTED)
            return st < 0 ? st : -E_NODEV;
        if (rt_xb_read_u64_or(&t->xb, RT_XB_BACKEND, "ready", 0) == 1)
            break;
        rt_printf("tpmfront: vtpm %u: backend Connected without ready=1: refused\n", t->devid);
        return -E_PROTO;
    }
    if ((rc = rt_xb_switch(&t->xb, KEEL_XB_CONNECTED)) < 0)
        return rc;
    t->connected = 1;
    rt_xb_event_pending();                     /* the watch's own events so far */
    return 0;
}

struct rt_tpm *rt_tpm_open(uint32_t devid, int *err)
{
    struct rt_tpm *t;
    int rc;

    if ((rc = rt_xs_init()) < 0)
        goto fail;
    if (!(t = rt_page_alloc(1))) {
        rc = -E_NOMEM;
        goto fail;
    }
    if ((rc = rt_xb_open(&t->xb, "vtpm", devid)) < 0)
        goto fail;
    t->devid = t->xb.devid;
    t->be_id = t->xb.be_id;
    if ((rc = connect(t)) < 0) {
        rt_printf("tpmfront: vtpm %u: connecting to %s failed (%d): backend state %d, frontend "
                  "state %d\n", t->devid, t->xb.be, rc, rt_xb_state(&t->xb, RT_XB_BACKEND),
                  rt_xb_state(&t->xb, RT_XB_FRONTEND));
        if (t->page)                           /* published: tell the backend we give up */
            rt_xb_switch(&t->xb, KEEL_XB_CLOSED);
        goto fail;
    }
    return t;
fail:
    if (err)
        *err = rc;
    return NULL;
}

int rt_tpm_close(struct rt_tpm *t)
{
    uint64_t deadline = rt_now() + 10000000000ULL;

    if (!t->connected)
        return 0;
    t->connected = 0;
    rt_xb_switch(&t->xb, KEEL_XB_CLOSING);
    rt_xb_wait_state(&t->xb, 1u << KEEL_XB_CLOSING | 1u << KEEL_XB_CLOSED, deadline);
    rt_xb_switch(&t->xb, KEEL_XB_CLOSED);
    while (rt_gnttab_end(t->ref) == -E_BUSY && rt_now() < deadline)
        rt_sleep_until(rt_now() + 1000000ULL);
    rt_xb_unwatch_backend(&t->xb);
    return rt_gnttab_in_use(t->ref) ? -E_BUSY : 0;
}

uint64_t rt_tpm_cancels(const struct rt_tpm *t)
{
    return t->cancels;
}

/* Hostile tests: the shared page itself. */
volatile struct keel_tpmif_shared_page *rt_tpm_page(struct rt_tpm *t)
{
    return t->page;
}
