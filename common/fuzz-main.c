/* fuzz-main.c - replay driver for libFuzzer targets when libFuzzer is not linked.
 *
 * Links with any file defining LLVMFuzzerTestOneInput and runs it once per file named on the
 * command line (directories are walked one level), so every fuzz target's seed corpus runs as
 * an ordinary test in every build, sanitizers included. Prints TAP. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, int *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long len;

    if (!f) {
        printf("not ok %d - replay %s: cannot open\n", ++*n, path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(len > 0 ? (size_t)len : 1);
    if (!buf || (len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len)) {
        fclose(f);
        free(buf);
        printf("not ok %d - replay %s: cannot read\n", ++*n, path);
        return 1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)len);
    free(buf);
    printf("ok %d - replay %s without a crash\n", ++*n, path);
    return 0;
}

static int run_path(const char *path, int *n)
{
    struct stat st;
    struct dirent **ents;
    int fails = 0, cnt;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        cnt = scandir(path, &ents, NULL, alphasort);
        for (int i = 0; i < cnt; i++) {
            char sub[4096];
            if (ents[i]->d_name[0] != '.') {
                snprintf(sub, sizeof sub, "%s/%s", path, ents[i]->d_name);
                fails += run_file(sub, n);
            }
            free(ents[i]);
        }
        if (cnt >= 0)
            free(ents);
        return fails;
    }
    return run_file(path, n);
}

int main(int argc, char **argv)
{
    int n = 0, fails = 0;

    for (int i = 1; i < argc; i++)
        fails += run_path(argv[i], &n);
#ifdef FUZZ_DEFAULT_CORPUS
    if (argc < 2)
        fails += run_path(FUZZ_DEFAULT_CORPUS, &n);   /* as a plain `make check` test */
#endif
    printf("1..%d\n", n);
    return fails ? 1 : 0;
}
