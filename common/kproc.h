/* kproc.h - run `sh -c COMMAND` with pipes for its standard input and output (the stream of
 * xl migrate/remus -s '' and of keeld's command targets). */
#ifndef KEEL_KPROC_H
#define KEEL_KPROC_H

#include <sys/types.h>

/* Start the command; *to writes its standard input, *from reads its standard output (both
 * close-on-exec). Only descriptors 0-2 reach it. Returns its pid, or -1 with errno set. */
pid_t kproc_spawn_pipes(const char *cmd, int *to, int *from);

#endif
