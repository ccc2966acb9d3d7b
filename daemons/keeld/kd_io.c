/* kd_io.c - writing a socket bufferevent's output at once instead of on the loop's next turn.
 * libevent writes a bufferevent's output when its write event fires: adding data arms that
 * event (an epoll_ctl), the next epoll_wait reports the socket writable, the write follows and
 * the event is disarmed again (another epoll_ctl): three system calls and a loop turn more per
 * reply than the write itself. keeld's plain sockets (the channel between its two processes,
 * Unix-socket clients) keep the write event off: what is queued is written at the end of the
 * callback that queued it (kd_io_flush), and only a remainder the socket did not take arms the
 * write event, which is disarmed once the output has drained (kd_io_drained). (The direct writes
 * keeld did before this file wrote nothing: the output's start is frozen, see kd_io_flush.) */
#include "config.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "kd_server.h"

void kd_io_flush(struct bufferevent *bev)
{
    struct evbuffer *out = bufferevent_get_output(bev);

    if (!evbuffer_get_length(out))
        return;
    /* a socket bufferevent keeps its output's start frozen (only it drains it): an
     * evbuffer_write without the thaw writes nothing, as libevent's own write callback does */
    evbuffer_unfreeze(out, 1);
    evbuffer_write(out, bufferevent_getfd(bev));   /* an error: the event callback reports it */
    evbuffer_freeze(out, 1);
    if (evbuffer_get_length(out))
        bufferevent_enable(bev, EV_WRITE);
}

void kd_io_drained(struct bufferevent *bev, void *arg)
{
    (void)arg;
    if (!evbuffer_get_length(bufferevent_get_output(bev)))
        bufferevent_disable(bev, EV_WRITE);
}
