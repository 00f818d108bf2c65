/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What nvvgpu needs from a libvirt domain XML (the one libvirt gives its hooks on stdin):
 * its UUID, the mdevs its <hostdev mode='subsystem' type='mdev'> elements name, and the vGPUs
 * its metadata asks for by type (nvvgpu-hook(8)):
 *
 *   <metadata>
 *     <nvvgpu:vgpu xmlns:nvvgpu='urn:nvvgpu:libvirt:1' type='L40S-8Q' count='2'/>
 *   </metadata>
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
#define NVV_DOMXML_MAX_REQUESTS 16                      /* <nvvgpu:vgpu> elements */
#define NVV_DOMXML_MAX_VGPUS 16                         /* vGPUs asked for by type, in all */
#define NVV_DOMXML_TYPE_MAX 32                          /* "L40S-8Q" (NVV_IPC_TYPE_MAX) */
/* "TYPE*16," per request: the longest request list nvv_domxml_request_spec() writes. */
#define NVV_DOMXML_SPEC_MAX (NVV_DOMXML_MAX_REQUESTS * (NVV_DOMXML_TYPE_MAX + 4) + 1)

struct nvv_domxml_request {
        char type[NVV_DOMXML_TYPE_MAX];
        unsigned count;                         /* 1..NVV_DOMXML_MAX_VGPUS */
};

struct nvv_domxml {
        char uuid[37];                          /* the domain's, lowercase; "" without <uuid> */
        size_t n_mdevs;
        char mdevs[NVV_DOMXML_MAX_MDEVS][37];   /* in document order, lowercase, no repeats */
        size_t n_requests;
        struct nvv_domxml_request requests[NVV_DOMXML_MAX_REQUESTS];
        unsigned n_vgpus;                       /* the sum of the requests' counts */
};

/* Parse a domain XML document of size bytes (not NUL-terminated). -EINVAL with a message
 * naming what is wrong ("domain XML: line 3: ...", "metadata: <nvvgpu:vgpu> count 'x': ..."),
 * -EFBIG past NVV_DOMXML_MAX_SIZE, -ENOMEM. */
int nvv_domxml_parse(const char *data, size_t size, struct nvv_domxml *ret, char **reterr_msg);

/* Whether the domain uses any vGPU (an mdev hostdev or a request). */
bool nvv_domxml_wants_vgpus(const struct nvv_domxml *dx);

/* The requests as a plan request list, "L40S-8Q*2,L40S-4Q" ("" for none), into buf. -ENOBUFS
 * when it does not fit (never with NVV_DOMXML_SPEC_MAX bytes). */
int nvv_domxml_request_spec(const struct nvv_domxml *dx, char *buf, size_t len);
