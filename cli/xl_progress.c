/* xl_progress.c - the progress line of xl save and xl migrate: pages sent of the domain's total,
 * pre-copy round, stream rate and the expected downtime (the last dirty set at that rate), on
 * one line rewritten with \r while stderr is a terminal (or with the global -t, as Xen's xl). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "xl.h"
#include "xl_progress.h"

static int last_len;      /* length of the line on screen, to blank what a shorter one leaves */

int xl_progress_wanted(void)
{
    return xl_g.progress_cr || isatty(2);
}

static void show(const char *line, int final)
{
    int len = (int)strlen(line);

    fprintf(stderr, "\r%s%*s%s", line, last_len > len ? last_len - len : 0, "", final ? "\n" : "");
    last_len = final ? 0 : len;
    fflush(stderr);
}

void xl_progress_line(const kl_migrate_progress *p, void *arg)
{
    const char *verb = arg ? arg : "Saving";
    char line[256];
    int n;

    if (p->done) {
        snprintf(line, sizeof(line), "%s: %llu pages in %u round%s, %.1f MiB, downtime %.1f ms",
                 verb, (unsigned long long)p->pages_sent, p->round, p->round == 1 ? "" : "s",
                 (double)p->bytes_sent / (1 << 20), p->downtime_ms);
        show(line, 1);
        return;
    }
    n = snprintf(line, sizeof(line), "%s: round %u%s: %llu/%llu pages (%llu sent of %llu), "
                 "%.1f MiB/s", verb, p->round, p->stop_and_copy ? " (stop-and-copy)" : "",
                 (unsigned long long)p->round_sent, (unsigned long long)p->round_pages,
                 (unsigned long long)p->pages_sent, (unsigned long long)p->pages_total,
                 p->rate_mib_s);
    if (p->pages_dirty && n > 0 && (size_t)n < sizeof(line))
        snprintf(line + n, sizeof(line) - (size_t)n, ", dirty %llu, expected downtime %.1f ms",
                 (unsigned long long)p->pages_dirty, p->expected_downtime_ms);
    show(line, 0);
}
