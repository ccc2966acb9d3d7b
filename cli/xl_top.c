/* xl_top.c - xl top: Xen's xentop over liblight. The columns, widths, state letters, sorting
 * and options of xentop (-b batch, -i iterations, -d delay, -n -x -v -r -f -z); the
 * interactive mode redraws the terminal with ANSI sequences (no curses) and takes xentop's keys:
 * n b v r toggle networks/vbds/vcpus/repeated header, s next sort column, d delay prompt,
 * Up/Down scroll, ^L repaint, q or Esc quit. Block devices are counted, their request counters
 * are shown as '-' (keel-blkback publishes none), as xentop shows a vbd whose statistics it
 * cannot read. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "keel/kl_ops.h"
#include "xl.h"

struct dom {
    kl_dominfo i;
    int nvcpus;
    kl_vcpuinfo *vcpus;
    int nnets;
    kl_nicstats *nets;
    int nvbds;
    double cpu_pct;
};

struct sample {
    struct timeval at;
    kl_hostinfo host;
    int n;
    struct dom *d;
};

enum { F_NAME, F_STATE, F_CPU, F_CPU_PCT, F_MEM, F_MEM_PCT, F_MAXMEM, F_MAX_PCT, F_VCPUS, F_NETS,
       F_NET_TX, F_NET_RX, F_VBDS, F_VBD_OO, F_VBD_RD, F_VBD_WR, F_VBD_RSECT, F_VBD_WSECT,
       F_SSID, NFIELDS };
static const struct { const char *hdr; unsigned width; } fields[NFIELDS] = {
    { "NAME", 10 }, { "STATE", 6 }, { "CPU(sec)", 10 }, { "CPU(%)", 6 }, { "MEM(k)", 10 },
    { "MEM(%)", 6 }, { "MAXMEM(k)", 10 }, { "MAXMEM(%)", 9 }, { "VCPUS", 5 }, { "NETS", 4 },
    { "NETTX(k)", 8 }, { "NETRX(k)", 8 }, { "VBDS", 4 }, { "VBD_OO", 8 }, { "VBD_RD", 8 },
    { "VBD_WR", 8 }, { "VBD_RSECT", 10 }, { "VBD_WSECT", 10 }, { "SSID", 4 },
};

static struct {
    unsigned delay, iterations;
    bool batch, loop, vcpus, nets, vbds, repeat, fullname, dom0_first;
    int sort;
    unsigned first;                  /* scroll position (interactive) */
    unsigned name_w, tx_w, rx_w;
    bool interactive;
    int rows, lines;                 /* lines printed, terminal height (interactive) */
} o = { .delay = 3, .loop = true };

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

/* Print, stopping at the terminal's last line in interactive mode (as xentop). */
static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
    va_list ap;

    if (o.interactive && o.rows >= o.lines - 1)
        return;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (o.interactive && strchr(fmt, '\n')) {
        fputs("\033[K", stdout);   /* nothing stays of a longer earlier line */
        o.rows++;
    }
}

static uint64_t net_total(const struct dom *d, bool rx)
{
    uint64_t t = 0;
    for (int i = 0; i < d->nnets; i++)
        t += rx ? d->nets[i].rx_bytes : d->nets[i].tx_bytes;
    return t;
}

static int cmp_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }

static bool st(const kl_dominfo *i, char c)
{
    switch (c) {
    case 'd': return i->dying;
    case 's': return i->shutdown && i->shutdown_reason != KEEL_SHUTDOWN_CRASH;
    case 'b': return i->blocked;
    case 'c': return i->shutdown && i->shutdown_reason == KEEL_SHUTDOWN_CRASH;
    case 'p': return i->paused;
    default: return i->running;
    }
}

static int cmp_state(const kl_dominfo *a, const kl_dominfo *b)
{
    for (const char *c = "dsbcpr"; *c; c++)
        if (st(a, *c) != st(b, *c))
            return st(a, *c) ? -1 : 1;
    return 0;
}

/* xentop's orders: name and state ascending, the figures descending, ssid ascending. */
static int cmp_dom(const void *pa, const void *pb)
{
    const struct dom *a = pa, *b = pb;

    switch (o.sort) {
    case F_NAME: return strcasecmp(a->i.name, b->i.name);
    case F_STATE: return cmp_state(&a->i, &b->i);
    case F_CPU: return -cmp_u64(a->i.cpu_time_ns, b->i.cpu_time_ns);
    case F_CPU_PCT: return -((a->cpu_pct > b->cpu_pct) - (a->cpu_pct < b->cpu_pct));
    case F_MEM: case F_MEM_PCT: return -cmp_u64(a->i.current_memkb, b->i.current_memkb);
    case F_MAXMEM: case F_MAX_PCT: return -cmp_u64(a->i.max_memkb, b->i.max_memkb);
    case F_VCPUS: return -cmp_u64(a->i.vcpu_online, b->i.vcpu_online);
    case F_NETS: return -cmp_u64((uint64_t)a->nnets, (uint64_t)b->nnets);
    case F_NET_TX: return -cmp_u64(net_total(a, false), net_total(b, false));
    case F_NET_RX: return -cmp_u64(net_total(a, true), net_total(b, true));
    case F_VBDS: return -cmp_u64((uint64_t)a->nvbds, (uint64_t)b->nvbds);
    case F_SSID: return cmp_u64(a->i.ssidref, b->i.ssidref);
    default: return 0;               /* vbd request counters: none published, all equal */
    }
}

static void header(void)
{
    for (int f = 0; f < NFIELDS; f++) {
        unsigned w = f == F_NAME ? o.name_w : f == F_NET_TX ? o.tx_w : f == F_NET_RX ? o.rx_w
                                                                      : fields[f].width;
        if (o.interactive && f == o.sort)
            out("%s\033[1m%*s\033[22m", f ? " " : "", (int)w, fields[f].hdr);
        else
            out("%s%*s", f ? " " : "", (int)w, fields[f].hdr);
    }
    out("\n");
}

static void row(const struct dom *d, const kl_hostinfo *h)
{
    const kl_dominfo *i = &d->i;
    double tot = h->total_kb ? (double)h->total_kb : 1;
    char state[7];

    for (int k = 0; k < 6; k++)
        state[k] = st(i, "dsbcpr"[k]) ? "dsbcpr"[k] : '-';
    state[6] = 0;
    if (o.fullname)
        out("%*s", (int)o.name_w, i->name);
    else
        out("%10.10s", i->name);
    out(" %s %10llu %6.1f %10llu %6.1f %10llu %9.1f %5u %4d %*llu %*llu %4d",
        state, (unsigned long long)(i->cpu_time_ns / 1000000000ULL), d->cpu_pct,
        (unsigned long long)i->current_memkb, (double)i->current_memkb / tot * 100,
        (unsigned long long)i->max_memkb, (double)i->max_memkb / tot * 100, i->vcpu_online,
        d->nnets, (int)o.tx_w, (unsigned long long)(net_total(d, false) / 1024),
        (int)o.rx_w, (unsigned long long)(net_total(d, true) / 1024), d->nvbds);
    if (d->nvbds)
        out(" %8c %8c %8c %10c %10c", '-', '-', '-', '-', '-');
    else
        out(" %8u %8u %8u %10u %10u", 0, 0, 0, 0, 0);
    out(" %4u\n", i->ssidref);
}

static void vcpu_lines(const struct dom *d)
{
    out("VCPUs(sec): ");
    for (int k = 0; k < d->nvcpus; k++) {
        if (!d->vcpus[k].online)
            continue;
        if (k && k % 5 == 0)
            out("\n        ");
        out(" %2u: %10llus", d->vcpus[k].vcpu,
            (unsigned long long)(d->vcpus[k].cpu_time_ns / 1000000000ULL));
    }
    out("\n");
}

static void net_lines(const struct dom *d)
{
    for (int k = 0; k < d->nnets; k++) {
        const kl_nicstats *s = &d->nets[k];
        out("Net%d RX: %8llubytes %8llupkts %8lluerr %8lludrop  ", k,
            (unsigned long long)s->rx_bytes, (unsigned long long)s->rx_packets,
            (unsigned long long)s->rx_errors, (unsigned long long)s->rx_dropped);
        out("TX: %8llubytes %8llupkts %8lluerr %8lludrop\n", (unsigned long long)s->tx_bytes,
            (unsigned long long)s->tx_packets, (unsigned long long)s->tx_errors,
            (unsigned long long)s->tx_dropped);
    }
}

static void vbd_lines(kl_ctx *ctx, const struct dom *d)
{
    kl_diskinfo *dk = NULL;
    int n = d->nvbds ? kl_disk_list(ctx, d->i.domid, &dk) : 0;

    for (int k = 0; k < n; k++)
        out("VBD BlkBack %4u [%2x:%2x]  OO: %8c   RD: %8c   WR: %8c   RSECT: %10c   "
            "WSECT: %10c\n", dk[k].devid, (dk[k].devid >> 8) & 0xff, dk[k].devid & 0xff,
            '-', '-', '-', '-', '-');
    free(dk);
}

static void sample_free(struct sample *s)
{
    for (int k = 0; k < s->n; k++) {
        free(s->d[k].vcpus);
        free(s->d[k].nets);
    }
    free(s->d);
    memset(s, 0, sizeof(*s));
}

static int sample_take(kl_ctx *ctx, struct sample *s, const struct sample *prev)
{
    kl_dominfo *l;
    int n;

    memset(s, 0, sizeof(*s));
    gettimeofday(&s->at, NULL);
    if ((n = kl_host_info(ctx, &s->host)) < 0 || (n = kl_domain_list(ctx, &l)) < 0)
        return n;
    if (!(s->d = calloc(n ? (size_t)n : 1, sizeof(*s->d)))) {
        free(l);
        return -ENOMEM;
    }
    s->n = n;
    for (int k = 0; k < n; k++) {
        struct dom *d = &s->d[k];
        kl_diskinfo *dk = NULL;
        d->i = l[k];
        if (!d->i.name[0])
            snprintf(d->i.name, sizeof(d->i.name), "(null)");
        if ((d->nvcpus = kl_vcpu_list(ctx, l[k].domid, &d->vcpus)) < 0)
            d->nvcpus = 0;
        if (l[k].domid == 0 || (d->nnets = kl_nic_stats(ctx, l[k].domid, &d->nets)) < 0)
            d->nnets = 0;
        if (l[k].domid && (d->nvbds = kl_disk_list(ctx, l[k].domid, &dk)) >= 0)
            free(dk);                    /* allocated even for no disk */
        if (d->nvbds < 0)
            d->nvbds = 0;
        for (int p = 0; prev && p < prev->n; p++) {
            double us = (double)(s->at.tv_sec - prev->at.tv_sec) * 1e6 +
                        (double)(s->at.tv_usec - prev->at.tv_usec);
            if (prev->d[p].i.domid == l[k].domid && us > 0 &&
                l[k].cpu_time_ns >= prev->d[p].i.cpu_time_ns)
                d->cpu_pct = (double)(l[k].cpu_time_ns - prev->d[p].i.cpu_time_ns) / 10.0 / us;
        }
    }
    free(l);
    return 0;
}

static unsigned digits(uint64_t v) { return (unsigned)log10((double)v) + 1; }

static void widths(const struct sample *s)
{
    o.name_w = fields[F_NAME].width;
    o.tx_w = fields[F_NET_TX].width;
    o.rx_w = fields[F_NET_RX].width;
    for (int k = (int)o.first; k < s->n; k++) {
        const struct dom *d = &s->d[k];
        if (o.fullname && strlen(d->i.name) > o.name_w)
            o.name_w = (unsigned)strlen(d->i.name);
        if (digits(net_total(d, false) / 1024 + 1) > o.tx_w)
            o.tx_w = digits(net_total(d, false) / 1024 + 1);
        if (digits(net_total(d, true) / 1024 + 1) > o.rx_w)
            o.rx_w = digits(net_total(d, true) / 1024 + 1);
    }
}

static void summary(const struct sample *s)
{
    unsigned run = 0, blk = 0, pau = 0, crash = 0, dying = 0, sd = 0;
    char ts[16];
    time_t t = s->at.tv_sec;

    strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&t));
    out("xentop - %s   Keel %u.%u\n", ts, s->host.abi_major, s->host.abi_minor);
    for (int k = 0; k < s->n; k++) {
        const kl_dominfo *i = &s->d[k].i;
        if (st(i, 'r')) run++;
        else if (st(i, 'b')) blk++;
        else if (st(i, 'p')) pau++;
        else if (st(i, 's')) sd++;
        else if (st(i, 'c')) crash++;
        else if (st(i, 'd')) dying++;
    }
    out("%d domains: %u running, %u blocked, %u paused, %u crashed, %u dying, %u shutdown \n",
        s->n, run, blk, pau, crash, dying, sd);
    out("Mem: %lluk total, %lluk used, %lluk free    CPUs: %u @ %uMHz\n",
        (unsigned long long)s->host.total_kb,
        (unsigned long long)(s->host.total_kb - s->host.free_kb),
        (unsigned long long)s->host.free_kb, s->host.nr_cpus, s->host.cpu_khz / 1000);
}

static void show(kl_ctx *ctx, struct sample *s)
{
    int start = 0;

    if (!o.batch)
        summary(s);
    if (o.dom0_first)
        for (int k = 0; k < s->n; k++)
            if (!strcmp(s->d[k].i.name, "Domain-0")) {
                struct dom t = s->d[0];
                s->d[0] = s->d[k];
                s->d[k] = t;
                start = 1;
                break;
            }
    if (s->n > start)
        qsort(s->d + start, (size_t)(s->n - start), sizeof(*s->d), cmp_dom);
    if (s->n && o.first >= (unsigned)s->n)
        o.first = (unsigned)s->n - 1;
    widths(s);
    for (int k = (int)o.first; k < s->n; k++) {
        if (o.interactive && o.rows >= o.lines - 1)
            break;
        if (k == (int)o.first || o.repeat)
            header();
        row(&s->d[k], &s->host);
        if (o.vcpus)
            vcpu_lines(&s->d[k]);
        if (o.nets)
            net_lines(&s->d[k]);
        if (o.vbds)
            vbd_lines(ctx, &s->d[k]);
    }
}

/* ---- interactive: raw terminal, ANSI redraw, xentop's keys ---- */
static struct termios saved_tio;
static char prompt[80];
static int prompting;              /* 0 none, else the prompt's text length typed so far + 1 */

static void term_restore(void)
{
    tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
    fputs("\033[?25h\n", stdout);
    fflush(stdout);
}

static int term_raw(void)
{
    struct termios t;

    if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
        return -errno;
    t = saved_tio;
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    return tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

static void bottom_line(void)
{
    printf("\033[%d;3H\033[K", o.lines);
    if (prompting)
        printf("Delay(sec): %s", prompt);
    else
        printf("\033[7mD\033[27melay  \033[7mN\033[27metworks  v\033[7mB\033[27mds  "
               "\033[7mV\033[27mCPUs  \033[7mR\033[27mepeat header  \033[7mS\033[27mort order  "
               "\033[7mQ\033[27muit  ");
}

/* One key (escape sequences for the arrows); returns 0 to quit. */
static int handle_key(const char *k, size_t n)
{
    if (prompting) {
        size_t len = strlen(prompt);
        if (k[0] == '\r' || k[0] == '\n') {
            int v = atoi(prompt);
            if (v > 0)
                o.delay = (unsigned)v;
            prompting = 0;
        } else if (k[0] == 0x1b) {
            prompting = 0;
        } else if ((k[0] == 0x7f || k[0] == 8) && len) {
            prompt[len - 1] = 0;
        } else if (k[0] >= 0x20 && k[0] < 0x7f && len + 1 < sizeof(prompt)) {
            prompt[len] = k[0];
            prompt[len + 1] = 0;
        }
        return 1;
    }
    if (n >= 3 && k[0] == 0x1b && k[1] == '[') {
        if (k[2] == 'B')
            o.first++;
        else if (k[2] == 'A' && o.first)
            o.first--;
        return 1;
    }
    switch (k[0]) {
    case 'n': case 'N': o.nets = !o.nets; break;
    case 'b': case 'B': o.vbds = !o.vbds; break;
    case 'r': case 'R': o.repeat = !o.repeat; break;
    case 's': case 'S': o.sort = (o.sort + 1) % NFIELDS; break;
    case 'v': case 'V': o.vcpus = !o.vcpus; break;
    case 'd': case 'D': prompting = 1; prompt[0] = 0; break;
    case 0x0c: printf("\033[2J"); break;
    case 'q': case 'Q': case 0x1b: return 0;
    }
    return 1;
}

static void redraw(kl_ctx *ctx, struct sample *s)
{
    struct winsize ws;

    o.lines = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row ? ws.ws_row : 24;
    o.rows = 0;
    printf("\033[H");
    show(ctx, s);
    printf("\033[J");
    bottom_line();
    fflush(stdout);
}

static int run_interactive(kl_ctx *ctx)
{
    struct sample cur, prev = { 0 };
    int go = 1;

    if (term_raw() < 0) {
        fprintf(stderr, "xl top: the interactive mode needs a terminal (use -b)\n");
        return 1;
    }
    o.interactive = true;
    printf("\033[2J\033[?25l");
    if (sample_take(ctx, &cur, NULL) < 0)
        goto fail;
    while (go && !stop) {
        uint64_t waited_ms = 0;
        redraw(ctx, &cur);
        if (!o.loop && --o.iterations == 0)
            break;
        while (go && !stop && waited_ms < o.delay * 1000ULL) {
            struct pollfd p = { STDIN_FILENO, POLLIN, 0 };
            char k[8];
            ssize_t r;
            if (poll(&p, 1, 500) <= 0) {
                waited_ms += 500;
                continue;
            }
            if ((r = read(STDIN_FILENO, k, sizeof(k))) <= 0) {
                go = 0;
                break;
            }
            for (ssize_t i = 0; go && i < r; ) {   /* each key of what was read */
                size_t n = k[i] == 0x1b && i + 2 < r && k[i + 1] == '[' ? 3 : 1;
                go = handle_key(k + i, n);
                i += (ssize_t)n;
            }
            redraw(ctx, &cur);
            if (!prompting)
                break;       /* a key redraws with a new sample, as xentop */
        }
        if (!go || stop)
            break;
        sample_free(&prev);
        prev = cur;
        if (sample_take(ctx, &cur, &prev) < 0)
            goto fail;
    }
    sample_free(&cur);
    sample_free(&prev);
    term_restore();
    return 0;
fail:
    sample_free(&prev);
    term_restore();
    fprintf(stderr, "Failed to retrieve statistics: %s\n", kl_ctx_error(ctx));
    return 1;
}

static int run_batch(kl_ctx *ctx)
{
    struct sample cur, prev = { 0 };
    int have_prev = 0;

    for (;;) {
        if (sample_take(ctx, &cur, have_prev ? &prev : NULL) < 0) {
            fprintf(stderr, "Failed to retrieve statistics: %s\n", kl_ctx_error(ctx));
            sample_free(&prev);
            return 1;
        }
        show(ctx, &cur);
        fflush(stdout);
        sample_free(&prev);
        prev = cur;
        have_prev = 1;
        if ((!o.loop && --o.iterations == 0) || stop)
            break;
        sleep(o.delay);
        if (stop)
            break;
    }
    sample_free(&prev);
    return 0;
}

int xl_cmd_top(int argc, char **argv)
{
    static const struct option lo[] = {
        { "help", 0, 0, 'h' }, { "version", 0, 0, 'V' }, { "networks", 0, 0, 'n' },
        { "vbds", 0, 0, 'x' }, { "repeat-header", 0, 0, 'r' }, { "vcpus", 0, 0, 'v' },
        { "delay", 1, 0, 'd' }, { "batch", 0, 0, 'b' }, { "iterations", 1, 0, 'i' },
        { "full-name", 0, 0, 'f' }, { "dom0-first", 0, 0, 'z' }, { 0, 0, 0, 0 } };
    struct sigaction sa = { .sa_handler = on_signal };
    kl_ctx *ctx;
    int c, rc;

    while ((c = getopt_long(argc, argv, "+hVnxrvd:bi:fz", lo, NULL)) != -1) {
        switch (c) {
        case 'h': xl_help("top"); return 0;
        case 'V': printf("xl top (xentop 1.0 columns), Keel\n"); return 0;
        case 'n': o.nets = true; break;
        case 'x': o.vbds = true; break;
        case 'r': o.repeat = true; break;
        case 'v': o.vcpus = true; break;
        case 'd': o.delay = (unsigned)atoi(optarg); break;
        case 'b': o.batch = true; break;
        case 'i': o.iterations = (unsigned)atoi(optarg); o.loop = false; break;
        case 'f': o.fullname = true; break;
        case 'z': o.dom0_first = true; break;
        default: xl_help("top"); return 2;
        }
    }
    if (optind < argc) {
        xl_help("top");
        return 2;
    }
    if (!(ctx = xl_open()))
        return 1;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = o.batch ? run_batch(ctx) : run_interactive(ctx);
    kl_ctx_close(ctx);
    return rc;
}
