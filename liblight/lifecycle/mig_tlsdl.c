/* mig_tlsdl.c - OpenSSL loaded at the first TLS migration (see mig_tlsdl.h): dlopen of the libssl
 * the headers belong to, its functions (and libcrypto's, a dependency) looked up into mt_dl. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include <openssl/opensslv.h>

#define MT_DL_NO_REDIRECT
#include "mig_tlsdl.h"

#define MT_STR2(x) #x
#define MT_STR(x) MT_STR2(x)
/* OpenSSL 3's sonames carry the major version */
#define MT_DL_SONAME "libssl.so." MT_STR(OPENSSL_VERSION_MAJOR)

struct mt_dl_api mt_dl;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char why[256];

static void load(void)
{
    void *h = dlopen(MT_DL_SONAME, RTLD_NOW | RTLD_LOCAL);
    const char *missing = NULL;

    if (!h) {
        snprintf(why, sizeof(why), "cannot load %s: %s", MT_DL_SONAME, dlerror());
        return;
    }
#define MT_DL_SYM(f) \
    if (!(mt_dl.f = (__typeof__(mt_dl.f))dlsym(h, #f)) && !missing) missing = #f;
    MT_DL_FUNCS(MT_DL_SYM)
#undef MT_DL_SYM
    if (missing)
        snprintf(why, sizeof(why), "%s has no %s", MT_DL_SONAME, missing);
}

int mt_dl_load(char *err, size_t len)
{
    pthread_once(&once, load);
    if (!why[0])
        return 0;
    snprintf(err, len, "%s", why);
    return -ENOENT;
}
