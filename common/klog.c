/* klog.c - implementation of the shared logging vocabulary (see klog.h). */
#include "klog.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <unistd.h>

static const char *log_prog = "keel";
static enum klog_level log_threshold = KLOG_INFO;
static FILE *log_stream;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void klog_init(const char *progname, enum klog_level threshold, FILE *stream)
{
    if (progname)
        log_prog = progname;
    log_threshold = threshold;
    log_stream = stream;
}

void klog_init_env(const char *progname, enum klog_level deflt)
{
    const char *e = getenv("KEEL_LOG");
    enum klog_level lvl = deflt;

    for (int i = 0; e && i < 4; i++)
        if (!strcasecmp(e, level_names[i]) || (i == 1 && !strcasecmp(e, "warn")))
            lvl = (enum klog_level)i;
    klog_init(progname, lvl, NULL);
}

void klog_set_level(enum klog_level threshold) { log_threshold = threshold; }
enum klog_level klog_get_level(void) { return log_threshold; }

static int log_timestamps = -1;          /* -1: $KEEL_LOG_TIMESTAMPS decides, at first use */

void klog_set_timestamps(int on)
{
    log_timestamps = on;
}

/* Format "[time ]prog[pid]: level: component: message\n" into one buffer, so that the line
 * reaches the stream in one write: processes sharing a log file (a daemon and its workers)
 * then never interleave inside a line. Returns a malloc'd line or NULL. */
static char *klog_format(enum klog_level lvl, const char *component, const char *fmt, va_list ap)
{
    char head[128] = "", *line;
    size_t hl;
    int ml;
    va_list cp;

    if (log_timestamps) {
        struct timespec ts;
        struct tm tm;
        char when[32];
        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(head, sizeof(head), "%s.%03ld ", when, ts.tv_nsec / 1000000);
    }
    hl = strlen(head);
    snprintf(head + hl, sizeof(head) - hl, "%s[%d]: %s: %s: ", log_prog, (int)getpid(),
             level_names[lvl], component ? component : "-");
    hl = strlen(head);
    va_copy(cp, ap);
    ml = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (ml < 0)
        ml = 0;
    line = malloc(hl + (size_t)ml + 2);
    if (!line)
        return NULL;
    memcpy(line, head, hl);
    vsnprintf(line + hl, (size_t)ml + 1, fmt, ap);
    line[hl + (size_t)ml] = '\n';
    line[hl + (size_t)ml + 1] = '\0';
    return line;
}

void vklog(enum klog_level lvl, const char *component, const char *fmt, va_list ap)
{
    FILE *out = log_stream ? log_stream : stderr;
    char *line;

    if (lvl > log_threshold)
        return;
    pthread_mutex_lock(&log_lock);
    if (log_timestamps < 0)
        log_timestamps = getenv("KEEL_LOG_TIMESTAMPS") != NULL;
    line = klog_format(lvl, component, fmt, ap);
    if (line) {
        fflush(out);
        fwrite(line, 1, strlen(line), out);
        fflush(out);
        free(line);
    }
    pthread_mutex_unlock(&log_lock);
}

void klog(enum klog_level lvl, const char *component, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vklog(lvl, component, fmt, ap);
    va_end(ap);
}

int klog_set_level_name(const char *name)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };

    for (int i = 0; i < 4; i++)
        if (!strcmp(name, names[i])) {
            klog_set_level((enum klog_level)i);
            return 0;
        }
    return -1;
}
