/* kpy_lock.c - the lock that serialises the calls on one Context: a ticket lock (first come,
 * first served), so that a thread looping over short waits (wait_gone, DeathWatch.wait) cannot
 * starve another thread's call on the same context, as an unfair mutex lets it do. Acquired
 * and released only with the GIL released. A thread that already holds it (a callback called
 * from inside a call) is told so instead of deadlocking. */
#include <stdlib.h>

#include "kpy.h"

struct kpy_lock {
    pthread_mutex_t m;
    pthread_cond_t c;
    unsigned long next, serving;
    pthread_t owner;
    int held;
};

kpy_lock *kpy_lock_new(void)
{
    kpy_lock *l = calloc(1, sizeof(*l));

    if (!l)
        return NULL;
    if (pthread_mutex_init(&l->m, NULL) != 0) {
        free(l);
        return NULL;
    }
    if (pthread_cond_init(&l->c, NULL) != 0) {
        pthread_mutex_destroy(&l->m);
        free(l);
        return NULL;
    }
    return l;
}

void kpy_lock_free(kpy_lock *l)
{
    if (!l)
        return;
    pthread_cond_destroy(&l->c);
    pthread_mutex_destroy(&l->m);
    free(l);
}

void kpy_lock_acquire(kpy_lock *l)
{
    unsigned long t;

    pthread_mutex_lock(&l->m);
    t = l->next++;
    while (t != l->serving)
        pthread_cond_wait(&l->c, &l->m);
    l->owner = pthread_self();
    l->held = 1;
    pthread_mutex_unlock(&l->m);
}

void kpy_lock_release(kpy_lock *l)
{
    pthread_mutex_lock(&l->m);
    l->held = 0;
    l->serving++;
    pthread_cond_broadcast(&l->c);
    pthread_mutex_unlock(&l->m);
}

int kpy_lock_mine(kpy_lock *l)
{
    int mine;

    pthread_mutex_lock(&l->m);
    mine = l->held && pthread_equal(l->owner, pthread_self());
    pthread_mutex_unlock(&l->m);
    return mine;
}
