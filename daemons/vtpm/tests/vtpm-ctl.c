/* vtpm-ctl.c - a command-line front to common/kvtpm.c for tests/test-vtpm.sh:
 *   vtpm-ctl export DOMID DEVID FILE | import DOMID DEVID UUID FILE | release DOMID DEVID |
 *            resume DOMID DEVID
 * (runtime directory from $KEEL_RUNDIR). Prints the error and exits 1 on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvtpm.h"

int main(int argc, char **argv)
{
    char err[400] = "";
    uint8_t *blob = NULL;
    size_t len = 0;
    int rc = -1;

    if (argc < 4)
        goto usage;
    uint32_t domid = (uint32_t)strtoul(argv[2], NULL, 10), devid = (uint32_t)strtoul(argv[3], NULL, 10);
    if (!strcmp(argv[1], "export") && argc == 5) {
        FILE *f;
        if ((rc = kvtpm_export(NULL, domid, devid, &blob, &len, err, sizeof(err))) == 0) {
            if (!(f = fopen(argv[4], "wb")) || fwrite(blob, 1, len, f) != len || fclose(f))
                rc = -1;
        }
    } else if (!strcmp(argv[1], "import") && argc == 6) {
        FILE *f = fopen(argv[5], "rb");
        if (f) {
            blob = malloc(KVTPM_PAYLOAD_MAX);
            len = blob ? fread(blob, 1, KVTPM_PAYLOAD_MAX, f) : 0;
            fclose(f);
            rc = kvtpm_import(NULL, domid, devid, argv[4], blob, len, err, sizeof(err));
        }
    } else if (!strcmp(argv[1], "release") && argc == 4) {
        rc = kvtpm_release(NULL, domid, devid, err, sizeof(err));
    } else if (!strcmp(argv[1], "resume") && argc == 4) {
        rc = kvtpm_resume(NULL, domid, devid, err, sizeof(err));
    } else {
        goto usage;
    }
    free(blob);
    if (rc < 0) {
        fprintf(stderr, "vtpm-ctl: %s\n", err[0] ? err : "failed");
        return 1;
    }
    return 0;
usage:
    fprintf(stderr, "usage: vtpm-ctl export D N FILE | import D N UUID FILE | release D N | resume D N\n");
    return 2;
}
