/* xml_dl.c - libxml2 loaded at the first XML conversion (see xml_dl.h): dlopen of the library
 * the headers belong to, its functions looked up into kx_dl. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include <libxml/xmlversion.h>

#define KX_DL_NO_REDIRECT
#include "xml_dl.h"

/* the soname of the libxml2 the headers describe (it changed with 2.14) */
#if LIBXML_VERSION >= 21400
#define KX_DL_SONAME "libxml2.so.16"
#else
#define KX_DL_SONAME "libxml2.so.2"
#endif

struct kx_dl_api kx_dl;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char why[256];

static void load(void)
{
    void *h = dlopen(KX_DL_SONAME, RTLD_NOW | RTLD_LOCAL);
    const char *missing = NULL;

    if (!h) {
        snprintf(why, sizeof(why), "cannot load %s: %s", KX_DL_SONAME, dlerror());
        return;
    }
#define KX_DL_SYM(f) \
    if (!(kx_dl.f = (__typeof__(kx_dl.f))dlsym(h, #f)) && !missing) missing = #f;
    KX_DL_FUNCS(KX_DL_SYM)
#undef KX_DL_SYM
    if (!(kx_dl.free_var = (xmlFreeFunc *)dlsym(h, "xmlFree")) && !missing)
        missing = "xmlFree";
    if (missing)
        snprintf(why, sizeof(why), "%s has no %s", KX_DL_SONAME, missing);
}

int kx_dl_load(char *err, size_t len)
{
    pthread_once(&once, load);
    if (!why[0])
        return 0;
    snprintf(err, len, "%s", why);
    return -ENOENT;
}
