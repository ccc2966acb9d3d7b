/* xml_dl.h - libxml2 loaded when first needed (xml_dl.c): a program that links liblight but
 * never converts XML (xl create and its per-domain monitor, keeld) does not map libxml2 and
 * what it pulls in (ICU, libstdc++, liblzma): about 1.4 ms of process start and 200 KiB of
 * relocated pages in every process. The calls of liblight's XML code go through a table filled
 * by dlopen/dlsym, redirected below by name, so the code reads as plain libxml2 calls.
 * Included last, after every libxml2 header (the macros would rewrite their declarations). */
#ifndef KEEL_XML_DL_H
#define KEEL_XML_DL_H

#include <stddef.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#define KX_DL_FUNCS(X) X(xmlBufferContent) X(xmlBufferCreate) X(xmlBufferFree) \
    X(xmlCtxtGetLastError) X(xmlCtxtReadMemory) X(xmlDocGetRootElement) \
    X(xmlDocSetRootElement) X(xmlFreeDoc) X(xmlFreeNode) X(xmlFreeParserCtxt) X(xmlGetLineNo) \
    X(xmlGetNoNsProp) X(xmlInitParser) X(xmlNewChild) X(xmlNewDoc) X(xmlNewDocNode) \
    X(xmlNewNs) X(xmlNewParserCtxt) X(xmlNewProp) X(xmlNewTextChild) X(xmlNodeDump) \
    X(xmlNodeGetContent) X(xmlSetGenericErrorFunc) X(xmlSetNs) X(xmlStopParser) \
    X(xmlUnlinkNode) X(__xmlGenericError) X(__xmlGenericErrorContext)

struct kx_dl_api {
#define KX_DL_FIELD(f) __typeof__(f) *f;
    KX_DL_FUNCS(KX_DL_FIELD)
#undef KX_DL_FIELD
    xmlFreeFunc *free_var;       /* libxml2's xmlFree: a variable holding the function */
};
extern struct kx_dl_api kx_dl;

/* Load libxml2 once (thread-safe): 0, or -ENOENT with why in err (dlerror's text). */
int kx_dl_load(char *err, size_t len);

#ifndef KX_DL_NO_REDIRECT
#undef xmlFree
#define xmlFree (*kx_dl.free_var)
#define xmlBufferContent (kx_dl.xmlBufferContent)
#define xmlBufferCreate (kx_dl.xmlBufferCreate)
#define xmlBufferFree (kx_dl.xmlBufferFree)
#define xmlCtxtGetLastError (kx_dl.xmlCtxtGetLastError)
#define xmlCtxtReadMemory (kx_dl.xmlCtxtReadMemory)
#define xmlDocGetRootElement (kx_dl.xmlDocGetRootElement)
#define xmlDocSetRootElement (kx_dl.xmlDocSetRootElement)
#define xmlFreeDoc (kx_dl.xmlFreeDoc)
#define xmlFreeNode (kx_dl.xmlFreeNode)
#define xmlFreeParserCtxt (kx_dl.xmlFreeParserCtxt)
#define xmlGetLineNo (kx_dl.xmlGetLineNo)
#define xmlGetNoNsProp (kx_dl.xmlGetNoNsProp)
#define xmlInitParser (kx_dl.xmlInitParser)
#define xmlNewChild (kx_dl.xmlNewChild)
#define xmlNewDoc (kx_dl.xmlNewDoc)
#define xmlNewDocNode (kx_dl.xmlNewDocNode)
#define xmlNewNs (kx_dl.xmlNewNs)
#define xmlNewParserCtxt (kx_dl.xmlNewParserCtxt)
#define xmlNewProp (kx_dl.xmlNewProp)
#define xmlNewTextChild (kx_dl.xmlNewTextChild)
#define xmlNodeDump (kx_dl.xmlNodeDump)
#define xmlNodeGetContent (kx_dl.xmlNodeGetContent)
#define xmlSetGenericErrorFunc (kx_dl.xmlSetGenericErrorFunc)
#define xmlSetNs (kx_dl.xmlSetNs)
#define xmlStopParser (kx_dl.xmlStopParser)
#define xmlUnlinkNode (kx_dl.xmlUnlinkNode)
#define __xmlGenericError (kx_dl.__xmlGenericError)
#define __xmlGenericErrorContext (kx_dl.__xmlGenericErrorContext)
#endif

#endif
