/* vt_state.h - keel-vtpmd's sealed state files: the host key (<statedir>/vtpm/host.key, 32
 * random bytes, 0600) and per vTPM <statedir>/vtpm/<uuid>.state, libtpms's permanent state
 * encrypted and authenticated with AES-256-GCM (random 96-bit nonce per write; the file's header
 * with the uuid and the format version is the associated data), written atomically (temporary
 * file, fsync, rename, directory fsync). A file that does not authenticate, is truncated or names
 * another uuid is refused with a reason, never used. */
#ifndef VT_STATE_H
#define VT_STATE_H

#include <stddef.h>
#include <stdint.h>

#define VT_KEY_LEN 32
#define VT_STATE_MAGIC "KVTPMST1"
#define VT_STATE_VERSION 1u
#define VT_STATE_HDR 64u                 /* magic 8, version 4, uuid 36, nonce 12, ct_len 4 */
#define VT_STATE_TAG 16u
#define VT_STATE_MAX (4u << 20)          /* plaintext bytes */

/* The directory of state files: $KEEL_STATEDIR/vtpm (default /var/lib/keel/vtpm) into buf. */
int vt_state_dir(char *buf, size_t len);
/* Make dir (0700) and read its host.key, creating it (0600, random) when absent. A key file that
 * is not 32 bytes, not a regular file, or readable by group/others is refused. */
int vt_key_load(const char *dir, uint8_t key[VT_KEY_LEN], char *err, size_t errlen);

/* A uuid as the contract writes it: 36 characters, 8-4-4-4-12 hex digits (any case; stored and
 * compared lower case into out[37]). */
int vt_uuid_norm(const char *in, char out[37]);

/* Encrypt pt into a complete file image (*out malloc'd). */
int vt_state_seal(const uint8_t key[VT_KEY_LEN], const char uuid[37], const uint8_t *pt,
                  size_t ptlen, uint8_t **out, size_t *outlen);
/* Check and decrypt a file image; -EBADMSG (with err) for anything wrong. */
int vt_state_unseal(const uint8_t key[VT_KEY_LEN], const char uuid[37], const uint8_t *in,
                    size_t inlen, uint8_t **pt, size_t *ptlen, char *err, size_t errlen);

/* Seal and write <dir>/<uuid>.state atomically. */
int vt_state_save(const char *dir, const uint8_t key[VT_KEY_LEN], const char uuid[37],
                  const uint8_t *pt, size_t ptlen, char *err, size_t errlen);
/* Read and unseal it: 0, -ENOENT (no state yet: a new TPM), or -EBADMSG / -errno with err. */
int vt_state_load(const char *dir, const uint8_t key[VT_KEY_LEN], const char uuid[37],
                  uint8_t **pt, size_t *ptlen, char *err, size_t errlen);

/* Tests only: called after each step of vt_state_save (1 temporary written, 2 fsync'd,
 * 3 renamed, 4 directory fsync'd), so a test can kill the writer between steps. */
extern void (*vt_state_step_hook)(int step);

#endif
