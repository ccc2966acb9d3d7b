/* test-state.c - keel-vtpmd's sealed state files (vt_state.c): host key creation and checks,
 * seal/unseal round trip, every kind of damage refused with a reason (a flipped bit anywhere,
 * truncation, padding, another uuid, another key, a wrong version), and atomic replacement:
 * a writer killed (SIGKILL) after each step of vt_state_save leaves the old or the new state,
 * never a torn one, and the next load authenticates. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "vt_state.h"

static const char uuid[37] = "0b6f2e0c-4a43-4c5e-9a1e-5c1f6c1f3a11";
static const char other[37] = "11111111-2222-4333-8444-555555555555";
static char dir[256];
static int kill_at;

static void die_at(int step)
{
    if (step == kill_at)
        raise(SIGKILL);
}

static int write_file(const char *p, const uint8_t *b, size_t n)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int ok = fd >= 0 && write(fd, b, n) == (ssize_t)n;

    if (fd >= 0)
        close(fd);
    return ok ? 0 : -1;
}

static void fill(uint8_t *b, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 7 + (size_t)seed * 13);
}

static void test_key(uint8_t key[VT_KEY_LEN])
{
    char p[300], err[300];
    uint8_t k2[VT_KEY_LEN];
    struct stat st;

    tap_ok(vt_key_load(dir, key, err, sizeof(err)) == 0, "a host key is created on first start");
    snprintf(p, sizeof(p), "%s/host.key", dir);
    tap_ok(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == VT_KEY_LEN,
           "host.key is 32 bytes, mode 0600");
    tap_ok(vt_key_load(dir, k2, err, sizeof(err)) == 0 && !memcmp(key, k2, VT_KEY_LEN),
           "the same key is read on the next start");
    chmod(p, 0644);
    tap_ok(vt_key_load(dir, k2, err, sizeof(err)) == -EPERM && strstr(err, "0600"),
           "a key readable by others is refused (%s)", err);
    chmod(p, 0600);
}

static void test_seal(const uint8_t key[VT_KEY_LEN])
{
    uint8_t pt[5000], *img, *out, *bad, key2[VT_KEY_LEN];
    size_t n, on;
    char err[300];
    int flips_ok = 1;

    fill(pt, sizeof(pt), 1);
    tap_ok(vt_state_seal(key, uuid, pt, sizeof(pt), &img, &n) == 0 &&
           n == sizeof(pt) + VT_STATE_HDR + VT_STATE_TAG, "seal gives header + data + tag");
    tap_ok(memmem(img, n, pt, 64) == NULL, "the sealed image does not hold the plaintext");
    tap_ok(vt_state_unseal(key, uuid, img, n, &out, &on, err, sizeof(err)) == 0 &&
           on == sizeof(pt) && !memcmp(out, pt, on), "unseal gives the state back");
    free(out);
    {
        uint8_t *img2;
        size_t n2;
        vt_state_seal(key, uuid, pt, sizeof(pt), &img2, &n2);
        tap_ok(memcmp(img + 48, img2 + 48, 12) != 0, "every seal uses a new nonce");
        free(img2);
    }
    bad = malloc(n);
    for (size_t i = 0; i < n; i += (i < VT_STATE_HDR ? 1 : 97)) {
        memcpy(bad, img, n);
        bad[i] ^= 0x10;
        if (vt_state_unseal(key, uuid, bad, n, &out, &on, err, sizeof(err)) != -EBADMSG ||
            out)
            flips_ok = 0;
    }
    tap_ok(flips_ok, "a flipped bit in the header, the data or the tag is refused");
    memcpy(bad, img, n);
    bad[VT_STATE_HDR + 100] ^= 1;
    vt_state_unseal(key, uuid, bad, n, &out, &on, err, sizeof(err));
    tap_ok(strstr(err, "authentication failed") != NULL, "tampered data: '%s'", err);
    tap_ok(vt_state_unseal(key, uuid, img, n - 1, &out, &on, err, sizeof(err)) == -EBADMSG &&
           strstr(err, "truncated"), "a truncated file is refused: '%s'", err);
    tap_ok(vt_state_unseal(key, uuid, img, 30, &out, &on, err, sizeof(err)) == -EBADMSG &&
           strstr(err, "truncated"), "a file shorter than the header is refused: '%s'", err);
    tap_ok(vt_state_unseal(key, other, img, n, &out, &on, err, sizeof(err)) == -EBADMSG &&
           strstr(err, "belongs to uuid"), "another uuid's file is refused: '%s'", err);
    memcpy(key2, key, VT_KEY_LEN);
    key2[0] ^= 1;
    tap_ok(vt_state_unseal(key2, uuid, img, n, &out, &on, err, sizeof(err)) == -EBADMSG,
           "a file sealed with another host key is refused");
    memcpy(bad, img, n);
    bad[8] = 2;
    tap_ok(vt_state_unseal(key, uuid, bad, n, &out, &on, err, sizeof(err)) == -EBADMSG &&
           strstr(err, "version"), "another format version is refused: '%s'", err);
    free(bad);
    free(img);
}

static void test_files(const uint8_t key[VT_KEY_LEN])
{
    uint8_t a[3000], b[4000], *out;
    size_t on;
    char err[300], p[300];
    struct stat st;

    fill(a, sizeof(a), 2);
    fill(b, sizeof(b), 3);
    tap_ok(vt_state_load(dir, key, uuid, &out, &on, err, sizeof(err)) == -ENOENT,
           "no state file yet: -ENOENT (a new TPM)");
    tap_ok(vt_state_save(dir, key, uuid, a, sizeof(a), err, sizeof(err)) == 0,
           "a state is saved");
    snprintf(p, sizeof(p), "%s/%s.state", dir, uuid);
    tap_ok(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600, "the state file is 0600");
    tap_ok(vt_state_load(dir, key, uuid, &out, &on, err, sizeof(err)) == 0 && on == sizeof(a) &&
           !memcmp(out, a, on), "it loads back");
    free(out);
    /* truncate the file on disk: refused, with a clear reason, and left as it is */
    truncate(p, (off_t)st.st_size - 5);
    tap_ok(vt_state_load(dir, key, uuid, &out, &on, err, sizeof(err)) == -EBADMSG &&
           strstr(err, "refused") && strstr(err, "truncated"),
           "a truncated state file is refused: '%s'", err);
    {
        struct stat st2;
        stat(p, &st2);
        tap_ok(st2.st_size == st.st_size - 5, "the refused file is not overwritten by the load");
    }
    vt_state_save(dir, key, uuid, a, sizeof(a), err, sizeof(err));
    /* kill the writer between every two steps of a save of b over a */
    for (kill_at = 1; kill_at <= 4; kill_at++) {
        pid_t pid;
        int status, which;
        vt_state_save(dir, key, uuid, a, sizeof(a), err, sizeof(err));
        if ((pid = fork()) == 0) {
            vt_state_step_hook = die_at;
            vt_state_save(dir, key, uuid, b, sizeof(b), err, sizeof(err));
            _exit(0);
        }
        waitpid(pid, &status, 0);
        which = 0;
        if (vt_state_load(dir, key, uuid, &out, &on, err, sizeof(err)) == 0)
            which = on == sizeof(a) && !memcmp(out, a, on) ? 1 :
                    on == sizeof(b) && !memcmp(out, b, on) ? 2 : 0;
        free(out);
        tap_ok(WIFSIGNALED(status) && which == (kill_at <= 2 ? 1 : 2),
               "writer killed after step %d: the %s state loads, whole", kill_at,
               kill_at <= 2 ? "old" : "new");
    }
    {
        /* a torn temporary file left by a crash does not disturb the next save or load */
        char tmp[320];
        snprintf(tmp, sizeof(tmp), "%s.tmp", p);
        write_file(tmp, (const uint8_t *)"garbage", 7);
        tap_ok(vt_state_load(dir, key, uuid, &out, &on, err, sizeof(err)) == 0,
               "a leftover temporary file is ignored by the load");
        free(out);
        tap_ok(vt_state_save(dir, key, uuid, a, sizeof(a), err, sizeof(err)) == 0 &&
               access(tmp, F_OK) != 0, "the next save replaces it");
    }
}

int main(void)
{
    uint8_t key[VT_KEY_LEN];
    char u[37];

    snprintf(dir, sizeof(dir), "/tmp/keel-test-state.%d", (int)getpid());
    test_key(key);
    test_seal(key);
    test_files(key);
    tap_ok(vt_uuid_norm("0B6F2E0C-4A43-4C5E-9A1E-5C1F6C1F3A11", u) == 0 && !strcmp(u, uuid),
           "uuids are compared in lower case");
    tap_ok(vt_uuid_norm("0b6f2e0c-4a43-4c5e-9a1e-5c1f6c1f3a1", u) < 0 &&
           vt_uuid_norm("0b6f2e0c-4a43-4c5e-9a1e/5c1f6c1f3a11", u) < 0 &&
           vt_uuid_norm("../../../../etc/passwd-aaaaaaaaaaaaaa", u) < 0,
           "malformed uuids (short, wrong separator, a path) are refused");
    {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            tap_diag("cannot remove %s", dir);
    }
    return tap_done();
}
