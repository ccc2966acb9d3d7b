/* xl_flask.c - xl's FLASK commands: getenforce, setenforce, loadpolicy (as Xen's xl prints them). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/ctrl.h"
#include "xl.h"


static kc_handle *open_core(void)
{
    kc_handle *h = NULL;

    if (kc_open(&h, NULL) < 0) {
        fprintf(stderr, "%s\n", kc_error(h));
        return NULL;
    }
    return h;
}

int xl_cmd_getenforce(int argc, char **argv)
{
    kc_handle *h;
    int rc;

    if (xl_getopt(argc, argv, "", "getenforce", 0) == XL_USAGE_ERROR)
        return 2;
    if (!(h = open_core()))
        return 1;
    rc = kc_flask_getenforce(h);
    if (rc == -ENOSYS)
        printf("Flask XSM Disabled\n");
    else if (rc < 0)
        fprintf(stderr, "Failed to get enforcing mode: %s\n", kc_error(h));
    else
        printf("%s\n", rc ? "Enforcing" : "Permissive");
    kc_close(h);
    return rc < 0 && rc != -ENOSYS ? 1 : 0;
}

int xl_cmd_setenforce(int argc, char **argv)
{
    const char *mode;
    kc_handle *h;
    int on, rc;

    if (xl_getopt(argc, argv, "", "setenforce", 1) == XL_USAGE_ERROR)
        return 2;
    mode = argv[optind];
    if (!strcmp(mode, "1") || !strcmp(mode, "Enforcing"))
        on = 1;
    else if (!strcmp(mode, "0") || !strcmp(mode, "Permissive"))
        on = 0;
    else {
        xl_help("setenforce");
        return 2;
    }
    if (!(h = open_core()))
        return 1;
    rc = kc_flask_setenforce(h, on);
    if (rc == -ENOSYS)
        fprintf(stderr, "Flask XSM disabled\n");
    else if (rc < 0)
        fprintf(stderr, "error occured while setting enforcing mode (%s)\n", kc_error(h));
    kc_close(h);
    return rc < 0 ? 1 : 0;
}

int xl_cmd_loadpolicy(int argc, char **argv)
{
    const char *file;
    FILE *f;
    char *buf;
    size_t len;
    kc_handle *h;
    int rc;

    if (xl_getopt(argc, argv, "", "loadpolicy", 1) == XL_USAGE_ERROR)
        return 2;
    file = argv[optind];
    if (!(f = fopen(file, "rb"))) {
        fprintf(stderr, "Error: opening policy file %s: %s\n", file, strerror(errno));
        return 1;
    }
    buf = malloc(1 << 20);
    len = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    if (!buf || !len) {
        fprintf(stderr, "Error: reading policy file %s\n", file);
        free(buf);
        return 1;
    }
    if (!(h = open_core())) {
        free(buf);
        return 1;
    }
    rc = kc_flask_load(h, buf, len);
    if (rc == -ENOSYS)
        fprintf(stderr, "Flask XSM disabled\n");
    else if (rc < 0)
        fprintf(stderr, "error occured while loading policy (%s)\n", kc_error(h));
    kc_close(h);
    free(buf);
    return rc < 0 ? 1 : 0;
}
