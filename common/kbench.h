/* kbench.h - the machine-readable summary line every benchmark prints beside its human output,
 * one per figure, which bench/run-all collects into its table:
 *   RESULT {"id":..,"figure":..,"value":..,"unit":..,"ref":..,"ref_name":..,"ratio":..,"goal":..}
 * `ratio` is value against the reference as the benchmark defines it (its human line says how);
 * `goal` is a condition on the ratio such as ">= 0.95" or "<= 2.0" (NULL: none). */
#ifndef KBENCH_H
#define KBENCH_H

#include <stdio.h>

static inline void kbench_json_str(const char *s)
{
    putchar('"');
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            putchar('\\');
        if ((unsigned char)*s >= 0x20)
            putchar(*s);
    }
    putchar('"');
}

static inline void kbench_result(const char *id, const char *figure, double value,
                                 const char *unit, double ref, const char *ref_name,
                                 double ratio, const char *goal)
{
    printf("RESULT {\"id\":");
    kbench_json_str(id);
    printf(",\"figure\":");
    kbench_json_str(figure);
    printf(",\"value\":%.6g,\"unit\":", value);
    kbench_json_str(unit);
    printf(",\"ref\":%.6g,\"ref_name\":", ref);
    kbench_json_str(ref_name);
    printf(",\"ratio\":%.4g", ratio);
    if (goal) {
        printf(",\"goal\":");
        kbench_json_str(goal);
    }
    printf("}\n");
    fflush(stdout);
}

#endif
