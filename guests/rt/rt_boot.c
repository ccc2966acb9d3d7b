/* rt_boot.c - guest boot: reads the flattened device tree the builder wrote, sets up the boot
 * vCPU's per-CPU data and event callback, runs main(), powers off. */
#include "keel_guest.h"

struct rt_boot rt_boot;
const void *rt_boot_fdt;                 /* where the builder put the device tree (rt_mem.c) */
extern char rt_upcall_entry[] __attribute__((visibility("hidden")));
void rt_start(const void *fdt) __attribute__((noreturn));
void rt_percpu_init(uint32_t vcpu);

static char cmdline_copy[1024];

static uint32_t be32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint64_t be64(const void *p)
{
    return (uint64_t)be32(p) << 32 | be32((const uint8_t *)p + 4);
}

/* Walk the structure block; call fn(node name at depth, prop name, value, len). */
static void fdt_walk(const uint8_t *fdt, void (*fn)(const char *, const char *, const uint8_t *, uint32_t))
{
    const uint8_t *st, *strs, *p;
    const char *node[8] = { "" };
    int depth = 0;

    if (be32(fdt) != 0xd00dfeed)
        rt_panic("boot: no device tree (magic %x)", be32(fdt));
    st = fdt + be32(fdt + 8);
    strs = fdt + be32(fdt + 12);
    for (p = st;;) {
        uint32_t tok = be32(p);
        p += 4;
        if (tok == 1) {                             /* BEGIN_NODE */
            const char *name = (const char *)p;
            if (depth < 7)
                node[++depth] = name;
            p += (strlen(name) + 4) & ~3UL;
        } else if (tok == 2) {                      /* END_NODE */
            depth--;
        } else if (tok == 3) {                      /* PROP */
            uint32_t len = be32(p), off = be32(p + 4);
            fn(node[depth], (const char *)strs + off, p + 8, len);
            p += 8 + ((len + 3) & ~3U);
        } else if (tok == 4) {                      /* NOP */
            continue;
        } else {
            break;                                  /* END */
        }
    }
}

static void on_prop(const char *node, const char *prop, const uint8_t *val, uint32_t len)
{
    if (!strcmp(node, "chosen") && !strcmp(prop, "bootargs") && len) {
        size_t n = len < sizeof(cmdline_copy) ? len : sizeof(cmdline_copy) - 1;
        memcpy(cmdline_copy, val, n);
        cmdline_copy[n] = 0;
    } else if (!strncmp(node, "memory", 6) && !strcmp(prop, "reg") && len == 16) {
        rt_boot.mem_bytes = be64(val + 8);
    } else if (!strcmp(node, "hypervisor") && !strcmp(prop, "keel,domid") && len == 4) {
        rt_boot.domid = be32(val);
    } else if (!strcmp(node, "cpus") && !strcmp(prop, "keel,max-vcpus") && len == 4) {
        rt_boot.nr_vcpus = be32(val);
    }
}

const char *rt_arg(const char *key)
{
    size_t k = strlen(key);
    const char *p = rt_boot.cmdline;

    while (p && *p) {
        while (*p == ' ')
            p++;
        if (!strncmp(p, key, k) && p[k] == '=')
            return p + k + 1;
        while (*p && *p != ' ')
            p++;
    }
    return NULL;
}

uint64_t rt_arg_u64(const char *key, uint64_t deflt)
{
    const char *v = rt_arg(key);
    uint64_t n = 0;

    if (!v || *v < '0' || *v > '9')
        return deflt;
    while (*v >= '0' && *v <= '9')
        n = n * 10 + (uint64_t)(*v++ - '0');
    return n;
}

void rt_start(const void *fdt)
{
    rt_boot_fdt = fdt;
    fdt_walk(fdt, on_prop);
    rt_boot.cmdline = cmdline_copy;
    if (!rt_boot.nr_vcpus)
        rt_boot.nr_vcpus = SHARED_INFO->nr_vcpus;
    rt_percpu_init(0);
    rt_shutdown(main() == 0 ? KEEL_SHUTDOWN_POWEROFF : KEEL_SHUTDOWN_CRASH);
}
