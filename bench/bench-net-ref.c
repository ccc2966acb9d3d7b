/* bench-net-ref.c - the Domain-0 / network-namespace end of bench-net.sh: bulk UDP and TCP
 * senders and sinks, and an ICMP echo round-trip meter. The same program is the reference side
 * (two namespaces over a veth pair through a bridge) and the dom0 side of the guest runs, so
 * both are measured with one tool and one output format:
 *   udpsink PORT SECS            receive for SECS from the first datagram; prints a sink line
 *   udpsend IP PORT SIZE SECS    send SIZE-byte datagrams as fast as the socket takes them
 *   tcpsink PORT SECS            accept one connection, read for SECS from its first byte
 *   tcpsend IP PORT CHUNK SECS   connect and write CHUNK-byte blocks for SECS
 *   icmprtt IP COUNT             COUNT echo requests, one at a time; median/p10/p90/p99 in us
 * Sinks print "listening: proto=udp|tcp port=P" once bound (the script waits for it).
 * Sink line:  sink: proto=udp pkts=N bytes=B secs=S mbit=M kpps=K
 * Send line:  send: proto=udp pkts=N bytes=B secs=S
 * RTT line:   rtt: count=N lost=L median_us=M p10_us=A p90_us=B p99_us=C */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_DGRAM 65507
#define MAX_RTT 100000

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_addr(const char *ip, const char *port, struct sockaddr_in *sa)
{
    char *end;
    long p = port ? strtol(port, &end, 10) : 0;

    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    if (port && (*end || p < 0 || p > 65535)) {
        fprintf(stderr, "bench-net-ref: bad port '%s'\n", port);
        return -1;
    }
    sa->sin_port = htons((uint16_t)p);
    if (ip && inet_pton(AF_INET, ip, &sa->sin_addr) != 1) {
        fprintf(stderr, "bench-net-ref: bad IPv4 address '%s'\n", ip);
        return -1;
    }
    return 0;
}

static long parse_num(const char *s, long lo, long hi, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (*s == '\0' || *end || v < lo || v > hi) {
        fprintf(stderr, "bench-net-ref: %s '%s' is not in %ld..%ld\n", what, s, lo, hi);
        exit(2);
    }
    return v;
}

static void print_sink(const char *proto, uint64_t pkts, uint64_t bytes, double secs)
{
    if (secs <= 0)
        secs = 1e-9;
    printf("sink: proto=%s pkts=%llu bytes=%llu secs=%.3f mbit=%.1f kpps=%.1f\n", proto,
           (unsigned long long)pkts, (unsigned long long)bytes, secs, bytes * 8.0 / secs / 1e6,
           pkts / secs / 1e3);
}

static int udp_sink(const char *port, double secs)
{
    static char buf[BATCH][2048];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    struct sockaddr_in sa;
    uint64_t pkts = 0, bytes = 0;
    double start = 0, end = 0;
    int s = socket(AF_INET, SOCK_DGRAM, 0), big = 8 << 20;

    if (s < 0 || parse_addr(NULL, port, &sa) < 0)
        return 1;
    setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
    if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("bench-net-ref: udpsink bind");
        return 1;
    }
    printf("listening: proto=udp port=%s\n", port);
    fflush(stdout);
    for (int i = 0; i < BATCH; i++) {
        iov[i] = (struct iovec){buf[i], sizeof(buf[i])};
        memset(&msgs[i], 0, sizeof(msgs[i]));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    for (;;) {
        struct pollfd p = {s, POLLIN, 0};
        int to = start == 0 ? 30000 : (int)((start + secs - now_s()) * 1000);

        if (start != 0 && to <= 0)
            break;
        if (poll(&p, 1, to) <= 0)
            break;
        int n = recvmmsg(s, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            continue;
        end = now_s();
        if (start == 0)
            start = end;
        for (int i = 0; i < n; i++)
            bytes += msgs[i].msg_len;
        pkts += (uint64_t)n;
    }
    close(s);
    print_sink("udp", pkts, bytes, end - start);
    return pkts ? 0 : 1;
}

static int udp_send(const char *ip, const char *port, long size, double secs)
{
    static char buf[MAX_DGRAM];
    struct mmsghdr msgs[BATCH];
    struct iovec iov;
    struct sockaddr_in sa;
    uint64_t pkts = 0;
    int s = socket(AF_INET, SOCK_DGRAM, 0), big = 8 << 20;

    if (s < 0 || parse_addr(ip, port, &sa) < 0)
        return 1;
    setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("bench-net-ref: udpsend connect");
        return 1;
    }
    memset(buf, 0x5a, sizeof(buf));
    iov = (struct iovec){buf, (size_t)size};
    for (int i = 0; i < BATCH; i++) {
        memset(&msgs[i], 0, sizeof(msgs[i]));
        msgs[i].msg_hdr.msg_iov = &iov;
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    double start = now_s(), end = start + secs;
    while (now_s() < end) {
        int n = sendmmsg(s, msgs, BATCH, 0);
        if (n > 0)
            pkts += (uint64_t)n;
        else if (errno != ENOBUFS && errno != ECONNREFUSED && errno != EAGAIN) {
            perror("bench-net-ref: udpsend");
            return 1;
        }
    }
    printf("send: proto=udp pkts=%llu bytes=%llu secs=%.3f\n", (unsigned long long)pkts,
           (unsigned long long)(pkts * (uint64_t)size), now_s() - start);
    close(s);
    return 0;
}

static int tcp_sink(const char *port, double secs)
{
    static char buf[1 << 17];
    struct sockaddr_in sa;
    uint64_t bytes = 0, reads = 0;
    double start = 0, end = 0;
    int one = 1, l = socket(AF_INET, SOCK_STREAM, 0), c;

    if (l < 0 || parse_addr(NULL, port, &sa) < 0)
        return 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0) {
        perror("bench-net-ref: tcpsink listen");
        return 1;
    }
    printf("listening: proto=tcp port=%s\n", port);
    fflush(stdout);
    struct pollfd p = {l, POLLIN, 0};
    if (poll(&p, 1, 30000) <= 0 || (c = accept(l, NULL, NULL)) < 0) {
        fprintf(stderr, "bench-net-ref: tcpsink: no connection within 30 s\n");
        return 1;
    }
    for (;;) {
        ssize_t n = read(c, buf, sizeof(buf));
        if (n <= 0)
            break;
        end = now_s();
        if (start == 0)
            start = end;
        bytes += (uint64_t)n;
        reads++;
        if (end - start >= secs)
            break;
    }
    close(c);
    close(l);
    print_sink("tcp", reads, bytes, end - start);
    return bytes ? 0 : 1;
}

static int tcp_send(const char *ip, const char *port, long chunk, double secs)
{
    static char buf[1 << 17];
    struct sockaddr_in sa;
    uint64_t bytes = 0;
    int s = socket(AF_INET, SOCK_STREAM, 0);

    if (s < 0 || parse_addr(ip, port, &sa) < 0)
        return 1;
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("bench-net-ref: tcpsend connect");
        return 1;
    }
    memset(buf, 0xa5, sizeof(buf));
    double start = now_s(), end = start + secs;
    while (now_s() < end) {
        ssize_t n = write(s, buf, (size_t)chunk);
        if (n <= 0)
            break;
        bytes += (uint64_t)n;
    }
    printf("send: proto=tcp pkts=0 bytes=%llu secs=%.3f\n", (unsigned long long)bytes,
           now_s() - start);
    close(s);
    return 0;
}

static uint16_t csum(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint32_t sum = 0;

    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (n & 1)
        sum += (uint32_t)b[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return htons((uint16_t)~sum);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One echo request with sequence seq; its round trip in us, or -1 when no reply came in 1 s. */
static double one_echo(int s, const struct sockaddr_in *sa, uint16_t seq)
{
    uint8_t pkt[64] = {0}, in[1500];
    struct icmphdr *h = (struct icmphdr *)pkt;

    h->type = ICMP_ECHO;
    h->un.echo.id = htons((uint16_t)getpid());
    h->un.echo.sequence = htons(seq);
    h->checksum = csum(pkt, sizeof(pkt));
    double t0 = now_s();
    if (sendto(s, pkt, sizeof(pkt), 0, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
        return -1;
    while (now_s() - t0 < 1.0) {
        struct pollfd p = {s, POLLIN, 0};
        if (poll(&p, 1, 1000 - (int)((now_s() - t0) * 1000)) <= 0)
            return -1;
        ssize_t n = recv(s, in, sizeof(in), 0);
        if (n < 28)
            continue;
        size_t ihl = (size_t)(in[0] & 15) * 4;
        if ((size_t)n < ihl + 8)
            continue;
        struct icmphdr *r = (struct icmphdr *)(in + ihl);
        if (r->type == ICMP_ECHOREPLY && r->un.echo.id == h->un.echo.id &&
            r->un.echo.sequence == h->un.echo.sequence)
            return (now_s() - t0) * 1e6;
    }
    return -1;
}

static int icmp_rtt(const char *ip, long count)
{
    static double rtt[MAX_RTT];
    struct sockaddr_in sa;
    long got = 0, lost = 0;
    int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);

    if (s < 0) {
        perror("bench-net-ref: icmprtt raw socket");
        return 1;
    }
    if (parse_addr(ip, NULL, &sa) < 0)
        return 1;
    for (long i = 0; i < count; i++) {
        double r = one_echo(s, &sa, (uint16_t)i);
        if (r < 0)
            lost++;
        else
            rtt[got++] = r;
    }
    close(s);
    if (got == 0) {
        printf("rtt: count=%ld lost=%ld\n", count, lost);
        return 1;
    }
    qsort(rtt, (size_t)got, sizeof(rtt[0]), cmp_d);
    printf("rtt: count=%ld lost=%ld median_us=%.1f p10_us=%.1f p90_us=%.1f p99_us=%.1f\n", count,
           lost, rtt[got / 2], rtt[got / 10], rtt[got * 9 / 10], rtt[got * 99 / 100]);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench-net-ref udpsink PORT SECS | udpsend IP PORT SIZE SECS |\n"
                    "       tcpsink PORT SECS | tcpsend IP PORT CHUNK SECS | icmprtt IP COUNT\n");
    return 2;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 4 && strcmp(argv[1], "udpsink") == 0)
        return udp_sink(argv[2], (double)parse_num(argv[3], 1, 3600, "seconds"));
    if (argc == 6 && strcmp(argv[1], "udpsend") == 0)
        return udp_send(argv[2], argv[3], parse_num(argv[4], 1, MAX_DGRAM, "size"),
                        (double)parse_num(argv[5], 1, 3600, "seconds"));
    if (argc == 4 && strcmp(argv[1], "tcpsink") == 0)
        return tcp_sink(argv[2], (double)parse_num(argv[3], 1, 3600, "seconds"));
    if (argc == 6 && strcmp(argv[1], "tcpsend") == 0)
        return tcp_send(argv[2], argv[3], parse_num(argv[4], 1, 1 << 17, "chunk"),
                        (double)parse_num(argv[5], 1, 3600, "seconds"));
    if (argc == 4 && strcmp(argv[1], "icmprtt") == 0)
        return icmp_rtt(argv[2], parse_num(argv[3], 1, MAX_RTT, "count"));
    return usage();
}
