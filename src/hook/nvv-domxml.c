/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The domain XML a libvirt hook reads on stdin, parsed with libxml2. Element and attribute
 * names are libvirt's (https://libvirt.org/formatdomain.html, "Host device assignment": an
 * mdev is <hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address
 * uuid='...'/></source></hostdev>; "General metadata": <metadata> holds elements of other
 * namespaces only). libvirt's own elements carry no namespace.
 */
#include <dlfcn.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <pthread.h>
#include <string.h>

#include "nvv-domxml.h"
#include "nvv-escape.h"
#include "nvv-ipc.h"
#include "util.h"

/* libxml2 is loaded when a domain's XML is first parsed, or nvv_domxml_load() (dlopen), not
 * linked: libvirt runs the hook at every step of every domain, and loading libxml2 and the ICU
 * libraries it pulls in costs a run some 1.2 ms (bench-hook). nvvgpud loads it once at its
 * start and reads the XML the hook hands it; the hook loads it only when it reads the XML
 * itself. Its headers still give the types and constants. */
static struct {
        __typeof__(xmlNewParserCtxt) *NewParserCtxt;
        __typeof__(xmlFreeParserCtxt) *FreeParserCtxt;
        __typeof__(xmlCtxtReadMemory) *CtxtReadMemory;
        __typeof__(xmlFreeDoc) *FreeDoc;
        __typeof__(xmlDocGetRootElement) *DocGetRootElement;
        __typeof__(xmlGetNoNsProp) *GetNoNsProp;
        __typeof__(xmlNodeGetContent) *NodeGetContent;
        __typeof__(xmlCtxtGetLastError) *CtxtGetLastError;
        xmlFreeFunc *Free; /* the variable xmlFree */
} xl;
static char xl_error[160];

static void xl_load_once(void)
{
        /* The soname of libxml2 2.x. Lazy: every symbol used is looked up (and checked)
         * below, and binding all of libxml2's at load cost 0.15 ms more of each prepare. */
        void *h = dlopen("libxml2.so.2", RTLD_LAZY | RTLD_LOCAL);
        void (*init)(void);

        if (!h) {
                snprintf(xl_error, sizeof(xl_error), "%s", dlerror());
                return;
        }
        xl.NewParserCtxt = dlsym(h, "xmlNewParserCtxt");
        xl.FreeParserCtxt = dlsym(h, "xmlFreeParserCtxt");
        xl.CtxtReadMemory = dlsym(h, "xmlCtxtReadMemory");
        xl.FreeDoc = dlsym(h, "xmlFreeDoc");
        xl.DocGetRootElement = dlsym(h, "xmlDocGetRootElement");
        xl.GetNoNsProp = dlsym(h, "xmlGetNoNsProp");
        xl.NodeGetContent = dlsym(h, "xmlNodeGetContent");
        xl.CtxtGetLastError = dlsym(h, "xmlCtxtGetLastError");
        xl.Free = dlsym(h, "xmlFree");
        init = dlsym(h, "xmlInitParser");
        /* All or nothing. */
        if (!xl.NewParserCtxt || !xl.FreeParserCtxt || !xl.CtxtReadMemory || !xl.FreeDoc || !xl.DocGetRootElement ||
            !xl.GetNoNsProp || !xl.NodeGetContent || !xl.CtxtGetLastError || !xl.Free || !*xl.Free || !init) {
                memset(&xl, 0, sizeof(xl));
                snprintf(xl_error, sizeof(xl_error), "libxml2.so.2 lacks a function nvvgpu uses");
                return;
        }
        /* Its global state set up once, here: nvvgpud parses in several threads (libxml2's
         * "thread safety" notes ask for xmlInitParser() before). */
        init();
}

int nvv_domxml_load(char **reterr_msg)
{
        static pthread_once_t once = PTHREAD_ONCE_INIT;

        pthread_once(&once, xl_load_once);
        if (!xl.NewParserCtxt)
                return nvv_fail_errno(-ENOENT, reterr_msg, "domain XML: cannot load libxml2: %s", xl_error);
        return 0;
}

static inline void xml_freep(xmlChar **p)
{
        if (*p)
                (*xl.Free)(*p);
        *p = NULL;
}
#define _cleanup_xml_ _cleanup_(xml_freep)

static inline void doc_freep(xmlDocPtr *p)
{
        if (*p)
                xl.FreeDoc(*p);
        *p = NULL;
}

static inline void ctxt_freep(xmlParserCtxtPtr *p)
{
        if (*p)
                xl.FreeParserCtxt(*p);
        *p = NULL;
}

/* One of libvirt's own elements (no namespace) named name. */
static bool is_plain(const xmlNode *n, const char *name)
{
        return n->type == XML_ELEMENT_NODE && !n->ns && streq((const char *) n->name, name);
}

static bool is_ours(const xmlNode *n)
{
        return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href && streq((const char *) n->ns->href, NVV_DOMXML_NAMESPACE);
}

static const char *prefix_of(const xmlNode *n)
{
        return n->ns && n->ns->prefix ? (const char *) n->ns->prefix : "";
}

/* Text without the blanks XML puts around it. */
static void trim(char *s)
{
        size_t a = 0, n = strlen(s);

        while (n > 0 && strchr(" \t\r\n", s[n - 1]))
                s[--n] = '\0';
        while (s[a] && strchr(" \t\r\n", s[a]))
                a++;
        memmove(s, s + a, n - a + 1);
}

static int parse_uuid_text(const xmlNode *n, struct nvv_domxml *dx, char **reterr_msg)
{
        _cleanup_xml_ xmlChar *t = NULL;
        _cleanup_free_ char *msg = NULL;

        if (dx->uuid[0])
                return nvv_fail(reterr_msg, "the domain has more than one <uuid>");
        t = xl.NodeGetContent(n);
        if (!t)
                return -ENOMEM;
        trim((char *) t);
        if (nvv_ipc_check_uuid((const char *) t, dx->uuid, &msg) < 0)
                return nvv_fail(reterr_msg, "<uuid>: %s", msg ? msg : "not a UUID");
        return 0;
}

static const xmlNode *first_plain_child(const xmlNode *n, const char *name)
{
        for (const xmlNode *c = n->children; c; c = c->next)
                if (is_plain(c, name))
                        return c;
        return NULL;
}

/* One of <address domain='0x0000' bus='0x43' slot='0x00' function='0x4'/>'s numbers: libvirt
 * writes them in hex with 0x (virPCIDeviceAddressFormat, src/conf/device_conf.c). Decimal is
 * taken too; a leading zero is not, since libvirt's own reader (base 0) would take it as
 * octal. */
static int parse_pci_number(const xmlNode *addr, const char *name, unsigned max, bool required, unsigned *ret)
{
        _cleanup_xml_ xmlChar *v = xl.GetNoNsProp(addr, (const xmlChar *) name);
        uint32_t x;

        *ret = 0;
        if (!v)
                return required ? -ENOENT : 0;
        if (safe_atou32((const char *) v, &x) < 0 || x > max)
                return -EINVAL;
        *ret = x;
        return 0;
}

/* <hostdev mode='subsystem' type='pci'>: its <source><address domain bus slot function/>. */
static int parse_pci_hostdev(const xmlNode *n, size_t index, struct nvv_domxml *dx, char **reterr_msg)
{
        static const struct {
                const char *name;
                unsigned max;
                bool required;
        } parts[] = { { "domain", 0xffff, false }, { "bus", 0xff, true }, { "slot", 0x1f, true }, { "function", 7, true } };
        const xmlNode *src = first_plain_child(n, "source");
        const xmlNode *addr = src ? first_plain_child(src, "address") : NULL;
        unsigned v[ELEMENTSOF(parts)];
        char a[13];

        if (!addr)
                return nvv_fail(reterr_msg, "hostdev %zu (PCI) has no <source><address .../>", index);
        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                int r = parse_pci_number(addr, parts[i].name, parts[i].max, parts[i].required, &v[i]);

                if (r == -ENOENT)
                        return nvv_fail(reterr_msg, "hostdev %zu (PCI): its source address has no %s", index, parts[i].name);
                if (r < 0)
                        return nvv_fail(reterr_msg, "hostdev %zu (PCI): source address %s: expected a number up to 0x%x",
                                        index, parts[i].name, parts[i].max);
        }
        snprintf(a, sizeof(a), "%04x:%02x:%02x.%u", v[0], v[1], v[2], v[3]);
        for (size_t i = 0; i < dx->n_pci; i++)
                if (streq(dx->pci[i], a))
                        return nvv_fail(reterr_msg, "hostdev %zu: PCI device %s is named twice", index, a);
        if (dx->n_pci >= NVV_DOMXML_MAX_PCI)
                return nvv_fail(reterr_msg, "more than %d PCI hostdevs", NVV_DOMXML_MAX_PCI);
        memcpy(dx->pci[dx->n_pci++], a, sizeof(a));
        return 0;
}

/* <hostdev mode='subsystem' type='mdev'>: its <source><address uuid='...'/>; type='pci':
 * parse_pci_hostdev. Other hostdevs (USB, SCSI, capabilities mode) are not ours to look at. */
static int parse_hostdev(const xmlNode *n, size_t index, struct nvv_domxml *dx, char **reterr_msg)
{
        _cleanup_xml_ xmlChar *mode = xl.GetNoNsProp(n, (const xmlChar *) "mode");
        _cleanup_xml_ xmlChar *type = xl.GetNoNsProp(n, (const xmlChar *) "type");
        _cleanup_xml_ xmlChar *uuid = NULL;
        _cleanup_free_ char *msg = NULL;
        const xmlNode *src, *addr;
        char u[37];

        /* libvirt's default mode is "subsystem"; it always writes it in the XML it hands out. */
        if ((mode && !streq((const char *) mode, "subsystem")) || !type)
                return 0;
        if (streq((const char *) type, "pci"))
                return parse_pci_hostdev(n, index, dx, reterr_msg);
        if (!streq((const char *) type, "mdev"))
                return 0;
        src = first_plain_child(n, "source");
        addr = src ? first_plain_child(src, "address") : NULL;
        uuid = addr ? xl.GetNoNsProp(addr, (const xmlChar *) "uuid") : NULL;
        if (!uuid)
                return nvv_fail(reterr_msg, "hostdev %zu (an mdev) has no <source><address uuid='...'/>", index);
        if (nvv_ipc_check_uuid((const char *) uuid, u, &msg) < 0)
                return nvv_fail(reterr_msg, "hostdev %zu: source address uuid: %s", index, msg ? msg : "not a UUID");
        for (size_t i = 0; i < dx->n_mdevs; i++)
                if (streq(dx->mdevs[i], u))
                        return nvv_fail(reterr_msg, "hostdev %zu: mdev %s is named twice", index, u);
        if (dx->n_mdevs >= NVV_DOMXML_MAX_MDEVS)
                return nvv_fail(reterr_msg, "more than %d mdev hostdevs", NVV_DOMXML_MAX_MDEVS);
        memcpy(dx->mdevs[dx->n_mdevs++], u, sizeof(u));
        return 0;
}

static int parse_devices(const xmlNode *n, struct nvv_domxml *dx, char **reterr_msg)
{
        size_t index = 0;
        int r;

        for (const xmlNode *c = n->children; c; c = c->next) {
                if (!is_plain(c, "hostdev"))
                        continue;
                r = parse_hostdev(c, ++index, dx, reterr_msg);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* count: decimal 1..NVV_DOMXML_MAX_VGPUS, no sign, no leading zero. */
static int parse_count(const char *s, unsigned *ret)
{
        uint32_t v;

        if (!s[0] || s[0] == '0' || strspn(s, "0123456789") != strlen(s) || safe_atou32(s, &v) < 0 || v > NVV_DOMXML_MAX_VGPUS)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* <nvvgpu:vgpu type='T' count='N'/>, <nvvgpu:vgpu type='T' uuid='U'/> */
static int parse_vgpu(const xmlNode *n, struct nvv_domxml *dx, char **reterr_msg)
{
        _cleanup_xml_ xmlChar *type = NULL, *count = NULL, *uuid = NULL;
        _cleanup_free_ char *msg = NULL;
        struct nvv_domxml_request *q;
        const char *p = prefix_of(n);

        for (const xmlAttr *a = n->properties; a; a = a->next)
                if (a->ns || (!streq((const char *) a->name, "type") && !streq((const char *) a->name, "count") &&
                              !streq((const char *) a->name, "uuid")))
                        return nvv_fail(reterr_msg, "metadata: <%s%svgpu>: unknown attribute '%s%s%s' (it takes type, count and uuid)",
                                        p, *p ? ":" : "", a->ns && a->ns->prefix ? (const char *) a->ns->prefix : "",
                                        a->ns && a->ns->prefix ? ":" : "", (const char *) a->name);
        for (const xmlNode *c = n->children; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE)
                        return nvv_fail(reterr_msg, "metadata: <%s%svgpu> holds no elements (found <%s>)", p, *p ? ":" : "",
                                        (const char *) c->name);
        type = xl.GetNoNsProp(n, (const xmlChar *) "type");
        if (!type)
                return nvv_fail(reterr_msg, "metadata: <%s%svgpu> has no type (type='L40S-8Q')", p, *p ? ":" : "");
        if (nvv_ipc_check_type_name((const char *) type, &msg) < 0)
                return nvv_fail(reterr_msg, "metadata: <%s%svgpu> type: %s", p, *p ? ":" : "", msg ? msg : "not a type name");
        if (dx->n_requests >= NVV_DOMXML_MAX_REQUESTS)
                return nvv_fail(reterr_msg, "metadata: more than %d <%s%svgpu> elements", NVV_DOMXML_MAX_REQUESTS, p,
                                *p ? ":" : "");
        q = &dx->requests[dx->n_requests];
        snprintf(q->type, sizeof(q->type), "%s", (const char *) type);
        q->count = 1;
        count = xl.GetNoNsProp(n, (const xmlChar *) "count");
        if (count && parse_count((const char *) count, &q->count) < 0) {
                _cleanup_free_ char *shown = nvv_escape((const char *) count, NVV_ESCAPE_CONTROL);

                return nvv_fail(reterr_msg, "metadata: <%s%svgpu type='%s'> count '%.16s': expected 1 to %d", p, *p ? ":" : "",
                                q->type, shown ? shown : "?", NVV_DOMXML_MAX_VGPUS);
        }
        uuid = xl.GetNoNsProp(n, (const xmlChar *) "uuid");
        if (uuid) {
                char u[37];

                if (nvv_ipc_check_uuid((const char *) uuid, u, &msg) < 0)
                        return nvv_fail(reterr_msg, "metadata: <%s%svgpu type='%s'> uuid: %s", p, *p ? ":" : "", q->type,
                                        msg ? msg : "not a UUID");
                if (count)
                        return nvv_fail(reterr_msg, "metadata: <%s%svgpu type='%s' uuid='%s'> names one mdev: no count", p,
                                        *p ? ":" : "", q->type, u);
                for (size_t i = 0; i < dx->n_requests; i++)
                        if (streq(dx->requests[i].uuid, u))
                                return nvv_fail(reterr_msg, "metadata: mdev %s is asked for twice", u);
                memcpy(q->uuid, u, sizeof(u));
        } else
                q->uuid[0] = '\0';
        if (dx->n_vgpus + q->count > NVV_DOMXML_MAX_VGPUS)
                return nvv_fail(reterr_msg, "metadata: asks for more than %d vGPUs by type", NVV_DOMXML_MAX_VGPUS);
        dx->n_vgpus += q->count;
        dx->n_requests++;
        return 0;
}

static int parse_metadata(const xmlNode *n, struct nvv_domxml *dx, char **reterr_msg)
{
        const xmlNode *mine = NULL;
        int r;

        for (const xmlNode *c = n->children; c; c = c->next) {
                if (!is_ours(c))
                        continue;
                /* libvirt keeps only the first element of a namespace: a second one here was
                 * not written by libvirt, and would be lost by it. */
                if (mine)
                        return nvv_fail(reterr_msg,
                                        "metadata: more than one element in namespace %s (libvirt keeps only the first: "
                                        "put several <vgpu> in one <vgpus>)",
                                        NVV_DOMXML_NAMESPACE);
                mine = c;
        }
        if (!mine)
                return 0;
        if (streq((const char *) mine->name, "vgpu"))
                return parse_vgpu(mine, dx, reterr_msg);
        if (!streq((const char *) mine->name, "vgpus")) {
                const char *p = prefix_of(mine);

                return nvv_fail(reterr_msg, "metadata: unknown element <%s%s%s> (nvvgpu knows <vgpu> and <vgpus>)", p,
                                *p ? ":" : "", (const char *) mine->name);
        }
        if (mine->properties)
                return nvv_fail(reterr_msg, "metadata: <vgpus> takes no attributes (found '%s')",
                                (const char *) mine->properties->name);
        for (const xmlNode *c = mine->children; c; c = c->next) {
                if (c->type != XML_ELEMENT_NODE)
                        continue;
                if (!is_ours(c) || !streq((const char *) c->name, "vgpu"))
                        return nvv_fail(reterr_msg, "metadata: <vgpus> holds <vgpu> elements of namespace %s only (found <%s>)",
                                        NVV_DOMXML_NAMESPACE, (const char *) c->name);
                r = parse_vgpu(c, dx, reterr_msg);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int syntax_error(xmlParserCtxtPtr ctxt, char **reterr_msg)
{
        const xmlError *e = ctxt ? xl.CtxtGetLastError(ctxt) : NULL;
        char m[256];

        if (!e || !e->message)
                return nvv_fail(reterr_msg, "domain XML: not well-formed");
        snprintf(m, sizeof(m), "%s", e->message);
        /* Some of libxml2's messages run over two lines ("... encoding !\nBytes: 0xFF ..."):
         * the refusal is one. */
        for (char *p = m; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = ' ';
        trim(m);
        return nvv_fail(reterr_msg, "domain XML: line %d: %s", e->line, m);
}

int nvv_domxml_parse(const char *data, size_t size, struct nvv_domxml *ret, char **reterr_msg)
{
        _cleanup_(ctxt_freep) xmlParserCtxtPtr ctxt = NULL;
        _cleanup_(doc_freep) xmlDocPtr doc = NULL;
        struct nvv_domxml dx = {};
        const xmlNode *root;
        int r;

        assert_return(data || size == 0, -EINVAL);
        assert_return(ret, -EINVAL);
        if (size > NVV_DOMXML_MAX_SIZE)
                return nvv_fail_errno(-EFBIG, reterr_msg, "domain XML: larger than %u bytes", NVV_DOMXML_MAX_SIZE);
        if (size == 0)
                return nvv_fail(reterr_msg, "domain XML: empty");
        /* libxml2 may take a NUL for the end of the input and never look at what follows. */
        if (memchr(data, '\0', size))
                return nvv_fail(reterr_msg, "domain XML: has a NUL byte at offset %zu",
                                (size_t) ((const char *) memchr(data, '\0', size) - data));
        r = nvv_domxml_load(reterr_msg);
        if (r < 0)
                return r;
        ctxt = xl.NewParserCtxt();
        if (!ctxt)
                return -ENOMEM;
        /* No network, no DTD loaded, entities left unexpanded in text (XML_PARSE_NOENT is the
         * one that would expand them), no messages of libxml2's own on stderr. libxml2's
         * default limits (nesting depth, entity amplification) stay on: no XML_PARSE_HUGE. */
        doc = xl.CtxtReadMemory(ctxt, data, (int) size, "domain.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc || !ctxt->wellFormed)
                return syntax_error(ctxt, reterr_msg);
        /* libvirt never writes a document type; one here would only bring entities. */
        if (doc->intSubset || doc->extSubset)
                return nvv_fail(reterr_msg, "domain XML: has a <!DOCTYPE> (libvirt writes none)");
        root = xl.DocGetRootElement(doc);
        if (!root || !is_plain(root, "domain"))
                return nvv_fail(reterr_msg, "domain XML: the root element is <%s>, not <domain>",
                                root ? (const char *) root->name : "");
        for (const xmlNode *c = root->children; c; c = c->next) {
                if (is_plain(c, "uuid"))
                        r = parse_uuid_text(c, &dx, reterr_msg);
                else if (is_plain(c, "devices"))
                        r = parse_devices(c, &dx, reterr_msg);
                else if (is_plain(c, "metadata"))
                        r = parse_metadata(c, &dx, reterr_msg);
                else
                        r = 0;
                if (r < 0)
                        return r;
        }
        *ret = dx;
        return 0;
}

bool nvv_domxml_wants_vgpus(const struct nvv_domxml *dx)
{
        return dx && (dx->n_mdevs > 0 || dx->n_vgpus > 0);
}

static bool has_element(const char *data, size_t size, const char *name)
{
        size_t k = strlen(name);

        for (const char *p = data; (p = memchr(p, '<', size - (size_t) (p - data))); p++) {
                size_t left = size - (size_t) (p - data) - 1;

                if (left > k && memcmp(p + 1, name, k) == 0 && p[1 + k] && strchr(" \t\r\n/>", p[1 + k]))
                        return true;
        }
        return false;
}

bool nvv_domxml_may_want_vgpus(const char *data, size_t size)
{
        if (!data)
                return false;
        /* A document too large or not one at all is for nvv_domxml_parse() to refuse. */
        if (size == 0 || size > NVV_DOMXML_MAX_SIZE || memchr(data, '\0', size))
                return true;
        return has_element(data, size, "hostdev") || has_element(data, size, "metadata");
}

int nvv_domxml_request_spec(const struct nvv_domxml *dx, char *buf, size_t len)
{
        size_t o = 0;

        assert_return(dx && buf && len > 0, -EINVAL);
        buf[0] = '\0';
        for (size_t i = 0; i < dx->n_requests; i++) {
                const struct nvv_domxml_request *q = &dx->requests[i];
                int n;

                if (q->uuid[0])
                        continue;

                if (q->count > 1)
                        n = snprintf(buf + o, len - o, "%s%s*%u", o ? "," : "", q->type, q->count);
                else
                        n = snprintf(buf + o, len - o, "%s%s", o ? "," : "", q->type);
                if (n < 0 || (size_t) n >= len - o) {
                        buf[0] = '\0';
                        return -ENOBUFS;
                }
                o += (size_t) n;
        }
        return 0;
}
