/* xl_dumpcore.c - xl dump-core <Domain> <filename>: an ELF core file of the domain's memory and
 * every vCPU's registers (kl_domain_core_dump), which gdb opens together with the guest's image. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "keel/kl_ops.h"
#include "xl.h"

int xl_cmd_dump_core(int argc, char **argv)
{
    uint32_t domid;
    kl_ctx *ctx;
    int c, rc;

    while ((c = xl_getopt(argc, argv, "", "dump-core", 2)) != -1)
        return 2;
    if (!(ctx = xl_open_domain(argv[optind], &domid)))
        return 1;
    if ((rc = kl_domain_core_dump(ctx, domid, argv[optind + 1])) < 0)
        fprintf(stderr, "core dump failed (rc=%d): %s\n", rc, kl_ctx_error(ctx));
    kl_ctx_close(ctx);
    return rc < 0;
}
