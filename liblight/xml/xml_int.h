/* xml_int.h - declarations shared by liblight's libvirt domain XML part (not installed):
 * the import state (the xl.cfg text being written, with the XML line of every cfg line),
 * safe parsing, and the helpers import and export share. */
#ifndef KEEL_XML_INT_H
#define KEEL_XML_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "keel/kl_xml.h"
#include "kl_internal.h"
#include "xml_dl.h"                     /* last: libxml2 through a table loaded at first use */

/* One device spec collected while walking <devices>, emitted as a list item later. */
struct kx_item {
    char *spec;
    int xline;
    char elem[24];
};

struct kx_list {
    struct kx_item *v;
    size_t n, cap;
};

/* Where a line of the generated xl.cfg came from. */
struct kx_origin {
    int xline;
    char elem[24];
};

typedef struct kx_imp {
    const char *src;       /* document name in diagnostics */
    unsigned flags;        /* KL_CONV_* */
    kl_diag *d;
    int errors;
    kl__buf cfg;           /* the xl.cfg text */
    int cfglines;          /* lines written to cfg */
    struct kx_origin *org; /* org[i]: origin of cfg line i + 1 */
    size_t norg, caporg;
    xmlNodePtr keel;       /* <keel:config> in <metadata>, or NULL */
    /* domain-wide values combined after the walk */
    xmlNodePtr mem, cur, vcpu;
    struct kx_list cpus;   /* vcpupin cpusets by vCPU (spec = cpuset) */
    struct kx_list disks, vifs, p9s, channels, pci;
    bool xl_lines;         /* <keel:xl> lines present: Xen-only elements are mirrors */
    kl__buf boot;          /* <os><boot dev=...> as xl's boot= letters */
    xmlNodePtr boot_node;  /* the first <boot> */
} kx_imp;

/* Safe parse (no network, no DTD, no entities, size limit); errors name source and line. */
xmlDocPtr kx_parse(const char *source, const char *xml, size_t len, kl_diag *d);

/* Diagnostics at a node: "SRC:LINE:0: <elem>: message". */
void kx_err(kx_imp *im, xmlNodePtr n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void kx_warn(kx_imp *im, xmlNodePtr n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A libvirt element Keel's configuration cannot hold: warning, error under KL_CONV_STRICT. */
void kx_unsupported(kx_imp *im, xmlNodePtr n, const char *why);

/* Attribute / trimmed text of a node, malloc'd (NULL if absent). */
char *kx_prop(xmlNodePtr n, const char *name);
char *kx_text(xmlNodePtr n);
bool kx_is(xmlNodePtr n, const char *name);         /* element in no namespace */
bool kx_is_keel(xmlNodePtr n, const char *name);    /* element in KL_XML_NS */

/* Writing the cfg: one `key = "value"` line, and list items. */
void kx_kv(kx_imp *im, xmlNodePtr n, const char *key, const char *value);
int kx_list_add(kx_imp *im, struct kx_list *l, xmlNodePtr n, char *spec); /* takes spec */
void kx_list_emit(kx_imp *im, const char *key, const struct kx_list *l);
void kx_list_free(struct kx_list *l);

/* The extra spec fragment for a device from <keel:config> (<keel:ELEM ATTR='VAL' spec=.../>),
 * malloc'd, or NULL. */
char *kx_keel_spec(kx_imp *im, const char *elem, const char *attr, const char *val);

/* The cfg line just written came from node n. */
void kx_origin_line(kx_imp *im, xmlNodePtr n);

/* Xen-only settings (xml_xen.c) */
void kx_export_xen_only(const kl_domain_config *dc, xmlNodePtr root, xmlNodePtr keel);
bool kx_has_xl_lines(kx_imp *im);
void kx_import_xl_lines(kx_imp *im);
void kx_kv_raw(kx_imp *im, xmlNodePtr n, const char *key, const char *number); /* unquoted */
void kx_import_features(kx_imp *im, xmlNodePtr n);
void kx_import_boot(kx_imp *im, xmlNodePtr boot, kl__buf *letters);
bool kx_import_xen_device(kx_imp *im, xmlNodePtr c, struct kx_list *pci);

/* <devices> children, in xml_import_dev.c */
void kx_import_devices(kx_imp *im, xmlNodePtr devices);

/* Export helpers (xml_export_dev.c) */
xmlNodePtr kx_child(xmlNodePtr parent, const char *name, const char *text);
void kx_export_devices(const kl_domain_config *dc, xmlNodePtr devices, xmlNodePtr keel);

#endif
