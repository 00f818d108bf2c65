/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What nvvgpu needs from a libvirt domain XML (the one libvirt gives its hooks on stdin):
 * its UUID, the mdevs its <hostdev mode='subsystem' type='mdev'> elements name, the PCI
 * functions its <hostdev mode='subsystem' type='pci'> elements name (a VF may hold a vGPU), and the vGPUs
 * its metadata asks for by type (nvvgpu-hook(8)):
 *
 *   <metadata>
 *     <nvvgpu:vgpu xmlns:nvvgpu='urn:nvvgpu:libvirt:1' type='L40S-8Q' count='2'/>
 *   </metadata>
 * where a uuid='...' attribute (instead of count) names the mdev to make, the one a
 * <hostdev type='mdev'> of the domain refers to, so that QEMU is given it;
 * or, for several types, one container (libvirt keeps only the first element of each
 * namespace in <metadata>: virXMLNodeSanitizeNamespaces() in libvirt's src/util/virxml.c):
 *   <metadata>
 *     <nvvgpu:vgpus xmlns:nvvgpu='urn:nvvgpu:libvirt:1'>
 *       <nvvgpu:vgpu type='L40S-8Q' count='2'/>
 *       <nvvgpu:vgpu type='L40S-4Q'/>
 *     </nvvgpu:vgpus>
 *   </metadata>
 *
 * The document comes from outside the process: it is read with a size limit, without a DTD,
 * entities or the network, and everything in nvvgpu's namespace is checked strictly (unknown
 * elements and attributes refused). Elements of other namespaces are ignored.
 */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

#define NVV_DOMXML_NAMESPACE "urn:nvvgpu:libvirt:1"
#define NVV_DOMXML_MAX_SIZE (4u * 1024u * 1024u)      /* bytes of domain XML */
#define NVV_DOMXML_MAX_MDEVS 16                         /* mdev hostdevs (NVV_IPC_MAX_UUIDS) */
#define NVV_DOMXML_MAX_PCI 64                           /* PCI hostdevs (NVV_IPC_MAX_PCI) */
#define NVV_DOMXML_MAX_REQUESTS 16                      /* <nvvgpu:vgpu> elements */
#define NVV_DOMXML_MAX_VGPUS 16                         /* vGPUs asked for by type, in all */
#define NVV_DOMXML_TYPE_MAX 32                          /* "L40S-8Q" (NVV_IPC_TYPE_MAX) */
/* "TYPE*16," per request: the longest request list nvv_domxml_request_spec() writes. */
#define NVV_DOMXML_SPEC_MAX (NVV_DOMXML_MAX_REQUESTS * (NVV_DOMXML_TYPE_MAX + 4) + 1)

struct nvv_domxml_request {
        char type[NVV_DOMXML_TYPE_MAX];
        unsigned count;                         /* 1..NVV_DOMXML_MAX_VGPUS; 1 with a uuid */
        char uuid[37];                          /* the mdev to make ("" for any): the one a
                                                 * <hostdev type='mdev'> names, lowercase */
};

struct nvv_domxml {
        char uuid[37];                          /* the domain's, lowercase; "" without <uuid> */
        size_t n_mdevs;
        char mdevs[NVV_DOMXML_MAX_MDEVS][37];   /* in document order, lowercase, no repeats */
        /* <hostdev mode='subsystem' type='pci'>: "0000:43:00.4", in document order, no repeats.
         * Which of them are VFs holding vGPUs only nvvgpud knows. */
        size_t n_pci;
        char pci[NVV_DOMXML_MAX_PCI][13];
        size_t n_requests;
        struct nvv_domxml_request requests[NVV_DOMXML_MAX_REQUESTS];
        unsigned n_vgpus;                       /* the sum of the requests' counts */
};

/* Parse a domain XML document of size bytes (not NUL-terminated). -EINVAL with a message
 * naming what is wrong ("domain XML: line 3: ...", "metadata: <nvvgpu:vgpu> count 'x': ..."),
 * -EFBIG past NVV_DOMXML_MAX_SIZE, -ENOMEM. */
int nvv_domxml_parse(const char *data, size_t size, struct nvv_domxml *ret, char **reterr_msg);

/* Whether the domain uses a vGPU for sure (an mdev hostdev or a request); a PCI hostdev may be
 * one too (a VF holding a vGPU). */
bool nvv_domxml_wants_vgpus(const struct nvv_domxml *dx);

/* Whether a domain XML document may use a vGPU, without parsing it: only an element <hostdev>
 * or <metadata> of libvirt's (no namespace prefix) can name one, and such an element's name
 * is spelled out in the text (XML has no escapes for names). false: nvv_domxml_parse() would
 * find no mdev, no PCI hostdev and no request. */
bool nvv_domxml_may_want_vgpus(const char *data, size_t size);

/* libxml2 loaded now rather than at the first parse (nvvgpud: a prepare should not pay for
 * it). -ENOENT with why when it cannot be. */
int nvv_domxml_load(char **reterr_msg);

/* The requests without a uuid as a plan request list, "L40S-8Q*2,L40S-4Q" ("" for none), into
 * buf. -ENOBUFS when it does not fit (never with NVV_DOMXML_SPEC_MAX bytes). */
int nvv_domxml_request_spec(const struct nvv_domxml *dx, char *buf, size_t len);
