/* mig_tlsdl.h - OpenSSL loaded when a migration first uses TLS (mig_tlsdl.c): a program that
 * links liblight but never migrates over TLS (xl create and its per-domain monitor) does not
 * map libssl and libcrypto: about 1 ms of process start and 450 KiB of relocated pages in every
 * such process. mig_tls.c's calls go through a table filled by dlopen/dlsym, redirected below
 * by name. Included after every OpenSSL header (the macros would rewrite their declarations). */
#ifndef KEEL_MIG_TLSDL_H
#define KEEL_MIG_TLSDL_H

#include <stddef.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define MT_DL_FUNCS(X) X(ERR_error_string_n) X(ERR_get_error) X(SSL_CTX_check_private_key) \
    X(SSL_CTX_ctrl) X(SSL_CTX_free) X(SSL_CTX_load_verify_locations) X(SSL_CTX_new) \
    X(SSL_CTX_set_default_verify_paths) X(SSL_CTX_set_verify) X(SSL_CTX_use_PrivateKey_file) \
    X(SSL_CTX_use_certificate_chain_file) X(SSL_accept) X(SSL_connect) X(SSL_ctrl) X(SSL_free) \
    X(SSL_get0_param) X(SSL_get_error) X(SSL_get_verify_result) X(SSL_new) X(SSL_pending) \
    X(SSL_read) X(SSL_set1_host) X(SSL_set_fd) X(SSL_shutdown) X(SSL_write) \
    X(TLS_client_method) X(TLS_server_method) X(X509_VERIFY_PARAM_set1_ip_asc) \
    X(X509_verify_cert_error_string)

struct mt_dl_api {
#define MT_DL_FIELD(f) __typeof__(f) *f;
    MT_DL_FUNCS(MT_DL_FIELD)
#undef MT_DL_FIELD
};
extern struct mt_dl_api mt_dl;

/* Load libssl (and with it libcrypto) once, thread-safe: 0, or -ENOENT with why in err. */
int mt_dl_load(char *err, size_t len);

#ifndef MT_DL_NO_REDIRECT
#define ERR_error_string_n (mt_dl.ERR_error_string_n)
#define ERR_get_error (mt_dl.ERR_get_error)
#define SSL_CTX_check_private_key (mt_dl.SSL_CTX_check_private_key)
#define SSL_CTX_ctrl (mt_dl.SSL_CTX_ctrl)
#define SSL_CTX_free (mt_dl.SSL_CTX_free)
#define SSL_CTX_load_verify_locations (mt_dl.SSL_CTX_load_verify_locations)
#define SSL_CTX_new (mt_dl.SSL_CTX_new)
#define SSL_CTX_set_default_verify_paths (mt_dl.SSL_CTX_set_default_verify_paths)
#define SSL_CTX_set_verify (mt_dl.SSL_CTX_set_verify)
#define SSL_CTX_use_PrivateKey_file (mt_dl.SSL_CTX_use_PrivateKey_file)
#define SSL_CTX_use_certificate_chain_file (mt_dl.SSL_CTX_use_certificate_chain_file)
#define SSL_accept (mt_dl.SSL_accept)
#define SSL_connect (mt_dl.SSL_connect)
#define SSL_ctrl (mt_dl.SSL_ctrl)
#define SSL_free (mt_dl.SSL_free)
#define SSL_get0_param (mt_dl.SSL_get0_param)
#define SSL_get_error (mt_dl.SSL_get_error)
#define SSL_get_verify_result (mt_dl.SSL_get_verify_result)
#define SSL_new (mt_dl.SSL_new)
#define SSL_pending (mt_dl.SSL_pending)
#define SSL_read (mt_dl.SSL_read)
#define SSL_set1_host (mt_dl.SSL_set1_host)
#define SSL_set_fd (mt_dl.SSL_set_fd)
#define SSL_shutdown (mt_dl.SSL_shutdown)
#define SSL_write (mt_dl.SSL_write)
#define TLS_client_method (mt_dl.TLS_client_method)
#define TLS_server_method (mt_dl.TLS_server_method)
#define X509_VERIFY_PARAM_set1_ip_asc (mt_dl.X509_VERIFY_PARAM_set1_ip_asc)
#define X509_verify_cert_error_string (mt_dl.X509_verify_cert_error_string)
#endif

#endif
