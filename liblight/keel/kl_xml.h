/* kl_xml.h - libvirt domain XML (<domain type='xen'>, libvirt's docs/formatdomain.rst) to and
 * from a kl_domain_config, with the element mapping of libvirt's xen-xl converter.
 *
 * Import turns the XML into xl.cfg settings and converts them with kl_domain_config_from_cfg,
 * so an XML domain is validated exactly as the equivalent xl.cfg; every diagnostic names the
 * XML element (and attribute) and its line: "guest.xml:12:0: <disk>: disk: ...". Settings
 * that libvirt's vocabulary lacks but Keel's configuration holds travel in
 * <metadata><keel:config xmlns:keel="http://keel.dev/xmlns/domain/1">. Elements libvirt knows
 * but Keel's configuration cannot hold (graphics, hostdev, HVM features...) are warnings
 * "not supported by Keel; ignored" (errors with KL_CONV_STRICT); unknown elements are errors.
 * Documents are parsed without network access, DTDs or entities (a DOCTYPE is refused). */
#ifndef KEEL_KL_XML_H
#define KEEL_KL_XML_H

#include <stdbool.h>
#include <stddef.h>

#include <keel/kl_config.h>

#define KL_XML_NS "http://keel.dev/xmlns/domain/1"
/* A disk target that is not a path (one the disk's hotplug script reads, e.g. an iSCSI IQN)
 * is written <disk type='volume'><source pool='keel' volume='TARGET'/>. */
#define KL_XML_SCRIPT_POOL "keel"
#define KL_XML_MAX_SIZE (4u << 20) /* larger documents are refused */

/* dc must be initialised; replaced only on success. flags: KL_CONV_STRICT, KL_CONV_NO_UUID.
 * source names the document in diagnostics. 0, -EINVAL, -ENOMEM. */
int kl_domain_config_from_xml(kl_domain_config *dc, const char *source, const char *xml,
                              size_t len, unsigned flags, kl_diag *d);
/* Read a file and convert it. 0, -errno of the read, -EINVAL, -ENOMEM. */
int kl_domain_config_load_xml(kl_domain_config *dc, const char *path, unsigned flags,
                              kl_diag *d);
/* The xl.cfg text an XML document converts to (before validation): what
 * `xl domxml-to-native` prints with --raw. malloc'd; NULL on error (diagnostics in d). */
char *kl_xml_to_cfg_text(const char *source, const char *xml, size_t len, unsigned flags,
                         kl_diag *d);
/* The config as libvirt domain XML; domid >= 0 adds id='DOMID' (a running domain).
 * malloc'd; NULL on ENOMEM. */
char *kl_domain_config_to_xml(const kl_domain_config *dc, int domid);
/* Whether a document looks like XML (first non-blank byte is '<'): how xl and keeld tell an
 * XML domain from an xl.cfg. */
bool kl_text_is_xml(const char *data, size_t len);

#endif
