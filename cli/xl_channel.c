/* xl_channel.c - xl channel-list: a domain's PV channels (channel=[...], consoles with a name
 * served by keel-consoled) over liblight's kl_channel_list, in Xen's columns (Idx, BE, state,
 * evt-ch, ring-ref, connection and, for a pty, the pty's path). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "xl.h"

int xl_cmd_channel_list(int argc, char **argv)
{
    kl_ctx *ctx;
    int c;

    while ((c = xl_getopt(argc, argv, "", "channel-list", 1)) != -1)
        return 2;
    if (!(ctx = xl_open()))
        return 1;
    printf("%-3s %-2s %-5s %-6s %8s %-10s %-30s\n", "Idx", "BE", "state", "evt-ch", "ring-ref",
           "connection", "");
    for (int a = optind; a < argc; a++) {
        kl_channelinfo *l;
        uint32_t domid;
        int n;
        if (kl_domain_qualify(ctx, argv[a], &domid) < 0) {
            fprintf(stderr, "%s is an invalid domain identifier\n", argv[a]);
            continue;
        }
        if ((n = kl_channel_list(ctx, domid, &l)) < 0)
            continue;
        for (int i = 0; i < n; i++) {
            printf("%-3u %-2u %-5d %-6d %-8d %-10s ", l[i].devid, l[i].backend_id, l[i].state,
                   l[i].evtch, l[i].ring_ref, kl_channel_connection_to_string(l[i].connection));
            if (l[i].connection == KL_CHANNEL_CONNECTION_PTY)
                printf("%-30s ", l[i].tty[0] ? l[i].tty : "/NO-SUCH-PATH");
            printf("\n");
        }
        free(l);
    }
    kl_ctx_close(ctx);
    return 0;
}
