/* klog.h - the one logging vocabulary of the Keel tree.
 *
 * Every program and library logs through klog(): a level, a component name and a message.
 * Lines look like "keel-hv[1234]: error: domctl: domain 7: no such domain".
 * Libraries never print on their own; they record errors for the caller (kc_last_error etc.)
 * and use klog only at debug level. Programs set their name once with klog_init(). */
#ifndef KEEL_KLOG_H
#define KEEL_KLOG_H

#include <stdarg.h>
#include <stdio.h>

enum klog_level { KLOG_ERROR = 0, KLOG_WARN = 1, KLOG_INFO = 2, KLOG_DEBUG = 3 };

/* Name the program, choose the threshold and the stream (NULL: stderr). */
void klog_init(const char *progname, enum klog_level threshold, FILE *stream);
/* Threshold from $KEEL_LOG (error|warn|info|debug) if set. */
void klog_init_env(const char *progname, enum klog_level deflt);
void klog_set_level(enum klog_level threshold);
/* Set the threshold from its name (error, warn, info, debug); -1 for an unknown name. */
int klog_set_level_name(const char *name);
enum klog_level klog_get_level(void);
/* Start each line with the local date and time to the millisecond (xl -T); without a call,
 * lines carry them when $KEEL_LOG_TIMESTAMPS is set (so libraries' own copies follow xl -T). */
void klog_set_timestamps(int on);

void klog(enum klog_level lvl, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vklog(enum klog_level lvl, const char *component, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define klog_err(c, ...) klog(KLOG_ERROR, c, __VA_ARGS__)
#define klog_warn(c, ...) klog(KLOG_WARN, c, __VA_ARGS__)
#define klog_info(c, ...) klog(KLOG_INFO, c, __VA_ARGS__)
#define klog_debug(c, ...) klog(KLOG_DEBUG, c, __VA_ARGS__)

#endif
