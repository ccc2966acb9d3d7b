/* conecho - the console test guest: on its PV console ring it prints a greeting, then echoes
 * each line of console input as "echo: LINE"; the line "quit" powers it off. */
#include "rt/keel_guest.h"

int main(void)
{
    char line[256];
    int rc;

    if ((rc = rt_cons_init()) < 0) {
        rt_printf("conecho: no console ring (%d)\n", rc);
        return 1;
    }
    rt_cons_printf("conecho: domain %u ready\r\n", rt_boot.domid);
    for (;;) {
        if ((rc = rt_cons_getline(line, sizeof(line), 0)) < 0)
            return 1;
        if (rc == 0)
            continue;
        rt_cons_printf("echo: %s\r\n", line);
        if (!strcmp(line, "quit"))
            return 0;
    }
}
