/* keel/io/xenbus.h - the xenbus device states that a frontend and its backend publish in their
 * store directories as decimal strings (`state`), as Xen numbers them. */
#ifndef KEEL_IO_XENBUS_H
#define KEEL_IO_XENBUS_H

enum keel_xenbus_state {
    KEEL_XB_UNKNOWN = 0,
    KEEL_XB_INITIALISING = 1,
    KEEL_XB_INITWAIT = 2,        /* early setup done; waiting for the peer or the hotplug script */
    KEEL_XB_INITIALISED = 3,     /* waiting for the peer to connect */
    KEEL_XB_CONNECTED = 4,
    KEEL_XB_CLOSING = 5,
    KEEL_XB_CLOSED = 6,
    KEEL_XB_RECONFIGURING = 7,
    KEEL_XB_RECONFIGURED = 8,
};

#endif
