/* xml_util.c - safe parsing of a libvirt domain XML document with libxml2 (no network, no
 * DTD, no entity substitution, a size limit, and a refused DOCTYPE so that no entity is ever
 * declared), diagnostics positioned at an element's line, node accessors, and the writer of
 * the intermediate xl.cfg text with its line-to-element map. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "xml_int.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static void init_libxml(void) { xmlInitParser(); }

bool kl_text_is_xml(const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n')
            continue;
        return data[i] == '<';
    }
    return false;
}

struct parse_state {
    int doctype_line; /* > 0 once a DOCTYPE was seen */
};

/* SAX hook: the first DOCTYPE stops the parser (no internal subset, no entities, ever). */
static void on_internal_subset(void *vctx, const xmlChar *name, const xmlChar *eid,
                               const xmlChar *sid)
{
    xmlParserCtxtPtr ctxt = vctx;
    struct parse_state *st = ctxt->_private;

    (void)name, (void)eid, (void)sid;
    if (st && !st->doctype_line)
        st->doctype_line = ctxt->input ? ctxt->input->line : 1;
    xmlStopParser(ctxt);
}

static void no_entity(void *vctx, const xmlChar *name, int type, const xmlChar *pid,
                      const xmlChar *sid, xmlChar *content)
{
    (void)name, (void)type, (void)pid, (void)sid, (void)content;
    xmlStopParser(vctx);
}

__attribute__((format(printf, 2, 3)))
static void silent(void *ctx, const char *msg, ...)
{
    (void)ctx, (void)msg;
}

xmlDocPtr kx_parse(const char *source, const char *xml, size_t len, kl_diag *d)
{
    kl__pos at = { source, 0, 0 };
    struct parse_state st = { 0 };
    xmlParserCtxtPtr ctxt;
    xmlDocPtr doc = NULL;
    const xmlError *e;

    xmlGenericErrorFunc old_err;
    void *old_ctx;
    char why[256];

    if (kx_dl_load(why, sizeof(why)) < 0) {      /* libxml2 is loaded at first use */
        kl__diag_add(d, KL_SEV_ERROR, &at, "XML support: %s", why);
        return NULL;
    }
    pthread_once(&init_once, init_libxml);
    if (len > KL_XML_MAX_SIZE || len > (size_t)0x7fffffff) {
        kl__diag_add(d, KL_SEV_ERROR, &at, "XML document of %zu bytes is larger than the "
                     "limit of %u", len, KL_XML_MAX_SIZE);
        return NULL;
    }
    if (!(ctxt = xmlNewParserCtxt())) {
        kl__diag_add(d, KL_SEV_ERROR, &at, "out of memory");
        return NULL;
    }
    /* libxml2 reports some errors (encoding conversion) to its per-thread generic handler,
     * stderr by default: silenced while parsing; they reach the caller as the parse error */
    old_err = xmlGenericError;
    old_ctx = xmlGenericErrorContext;
    xmlSetGenericErrorFunc(NULL, silent);
    ctxt->_private = &st;
    ctxt->sax->internalSubset = on_internal_subset;
    ctxt->sax->externalSubset = on_internal_subset;
    ctxt->sax->entityDecl = no_entity;
    /* XML_PARSE_NONET: no network; and neither XML_PARSE_NOENT, _DTDLOAD, _DTDATTR nor _HUGE */
    doc = xmlCtxtReadMemory(ctxt, xml, (int)len, source, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                            XML_PARSE_NOCDATA);
    if (st.doctype_line) {
        at.line = st.doctype_line;
        kl__diag_add(d, KL_SEV_ERROR, &at, "<!DOCTYPE>: a document type declaration is not "
                     "allowed in a domain XML (no DTDs or entities are read)");
    } else if (!doc || !ctxt->wellFormed) {
        e = xmlCtxtGetLastError(ctxt);
        at.line = e && e->line > 0 ? e->line : 1;
        at.col = e && e->int2 > 0 ? e->int2 : 0;
        kl__diag_add(d, KL_SEV_ERROR, &at, "XML parsing error: %.*s",
                     e && e->message ? (int)strcspn(e->message, "\n") : 18,
                     e && e->message ? e->message : "malformed document");
    }
    if ((st.doctype_line || !ctxt->wellFormed) && doc) {
        xmlFreeDoc(doc);
        doc = NULL;
    } else if (doc && (doc->intSubset || doc->extSubset)) {
        xmlFreeDoc(doc); /* cannot happen with the hook above; refused all the same */
        doc = NULL;
    }
    xmlFreeParserCtxt(ctxt);
    xmlSetGenericErrorFunc(old_ctx, old_err);
    return doc;
}

static const char *elem_name(xmlNodePtr n)
{
    return n && n->name ? (const char *)n->name : "?";
}

__attribute__((format(printf, 4, 0)))
static void node_msg(kx_imp *im, enum kl_severity sev, xmlNodePtr n, const char *fmt,
                     va_list ap)
{
    kl__pos at = { im->src, n ? (int)xmlGetLineNo(n) : 0, 0 };
    char msg[700];

    vsnprintf(msg, sizeof msg, fmt, ap);
    if (at.line < 0)
        at.line = 0;
    kl__diag_add(im->d, sev, &at, "<%.40s>: %s", elem_name(n), msg);
    if (sev == KL_SEV_ERROR)
        im->errors++;
}

void kx_err(kx_imp *im, xmlNodePtr n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    node_msg(im, KL_SEV_ERROR, n, fmt, ap);
    va_end(ap);
}

void kx_warn(kx_imp *im, xmlNodePtr n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    node_msg(im, KL_SEV_WARNING, n, fmt, ap);
    va_end(ap);
}

void kx_unsupported(kx_imp *im, xmlNodePtr n, const char *why)
{
    if (im->flags & KL_CONV_STRICT)
        kx_err(im, n, "not supported by Keel (%s)", why);
    else
        kx_warn(im, n, "not supported by Keel (%s); ignored", why);
}

char *kx_prop(xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
    char *s;

    if (!v)
        return NULL;
    s = strdup((const char *)v);
    xmlFree(v);
    return s;
}

char *kx_text(xmlNodePtr n)
{
    xmlChar *v = xmlNodeGetContent(n);
    const char *b, *e;
    char *s;

    if (!v)
        return NULL;
    for (b = (const char *)v; *b == ' ' || *b == '\t' || *b == '\n' || *b == '\r'; b++)
        ;
    e = b + strlen(b);
    while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        e--;
    s = strndup(b, (size_t)(e - b));
    xmlFree(v);
    return s;
}

bool kx_is(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && !n->ns && !strcmp((const char *)n->name, name);
}

bool kx_is_keel(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           !strcmp((const char *)n->ns->href, KL_XML_NS) &&
           (!name || !strcmp((const char *)n->name, name));
}

/* Record that the cfg line being written came from node n. */
void kx_origin_line(kx_imp *im, xmlNodePtr n)
{
    struct kx_origin *o;

    if (im->norg == im->caporg) {
        size_t ncap = im->caporg ? im->caporg * 2 : 32;
        o = realloc(im->org, ncap * sizeof(*o));
        if (!o) {
            im->cfg.failed = 1;
            return;
        }
        im->org = o;
        im->caporg = ncap;
    }
    o = &im->org[im->norg++];
    o->xline = n ? (int)xmlGetLineNo(n) : 0;
    snprintf(o->elem, sizeof o->elem, "%s", elem_name(n));
    im->cfglines++;
}

void kx_kv(kx_imp *im, xmlNodePtr n, const char *key, const char *value)
{
    kl__buf_add(&im->cfg, "%s = ", key);
    kl__buf_add_quoted(&im->cfg, value ? value : "");
    kl__buf_add(&im->cfg, "\n");
    kx_origin_line(im, n);
}

int kx_list_add(kx_imp *im, struct kx_list *l, xmlNodePtr n, char *spec)
{
    struct kx_item *it;

    if (!spec) {
        im->cfg.failed = 1;
        return -ENOMEM;
    }
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 8;
        it = realloc(l->v, ncap * sizeof(*it));
        if (!it) {
            free(spec);
            im->cfg.failed = 1;
            return -ENOMEM;
        }
        l->v = it;
        l->cap = ncap;
    }
    it = &l->v[l->n++];
    it->spec = spec;
    it->xline = n ? (int)xmlGetLineNo(n) : 0;
    snprintf(it->elem, sizeof it->elem, "%s", elem_name(n));
    return 0;
}

void kx_list_emit(kx_imp *im, const char *key, const struct kx_list *l)
{
    if (!l->n)
        return;
    kl__buf_add(&im->cfg, "%s = [\n", key);
    kx_origin_line(im, NULL);
    if (!im->cfg.failed) { /* the key's line belongs to the first item's element */
        im->org[im->norg - 1].xline = l->v[0].xline;
        snprintf(im->org[im->norg - 1].elem, sizeof im->org[0].elem, "%s", l->v[0].elem);
    }
    for (size_t i = 0; i < l->n; i++) {
        struct kx_origin *o;
        kl__buf_add(&im->cfg, "  ");
        kl__buf_add_quoted(&im->cfg, l->v[i].spec);
        kl__buf_add(&im->cfg, ",\n");
        kx_origin_line(im, NULL);
        if (!im->cfg.failed) {
            o = &im->org[im->norg - 1];
            o->xline = l->v[i].xline;
            snprintf(o->elem, sizeof o->elem, "%s", l->v[i].elem);
        }
    }
    kl__buf_add(&im->cfg, "]\n");
    kx_origin_line(im, NULL);
}

void kx_list_free(struct kx_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].spec);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

char *kx_keel_spec(kx_imp *im, const char *elem, const char *attr, const char *val)
{
    if (!im->keel || !val)
        return NULL;
    for (xmlNodePtr c = im->keel->children; c; c = c->next) {
        char *v;
        bool match;
        if (!kx_is_keel(c, elem))
            continue;
        v = kx_prop(c, attr);
        match = v && !strcmp(v, val);
        free(v);
        if (match)
            return kx_prop(c, "spec");
    }
    return NULL;
}
