/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The domain XML the libvirt hook reads: the mdevs its hostdevs name, the vGPUs its metadata
 * asks for, and every refusal of something libvirt would not write or nvvgpud could not serve,
 * with the message naming it. The documents are shaped as libvirt 9.0 (Debian 12) hands them
 * to its hooks (virsh dumpxml of a running domain, abridged).
 */
#include "nvv-domxml.h"
#include "testutil.h"

#define U1 "6e0f3a52-9d1b-4c7e-8a21-00000000a101"
#define U2 "6e0f3a52-9d1b-4c7e-8a21-00000000a102"
#define DOM_UUID "c7a5fdbd-cdaf-9455-926a-d65c16db1809"

static const char live_domain[] =
        "<domain type='qemu' id='1'>\n"
        "  <name>web</name>\n"
        "  <uuid>" DOM_UUID "</uuid>\n"
        "  <metadata>\n"
        "    <other:thing xmlns:other='urn:example:other'>x</other:thing>\n"
        "    <nvvgpu:vgpu xmlns:nvvgpu='urn:nvvgpu:libvirt:1' type='L40S-8Q' count='2'/>\n"
        "  </metadata>\n"
        "  <memory unit='KiB'>65536</memory>\n"
        "  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>\n"
        "  <devices>\n"
        "    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
        "    <hostdev mode='subsystem' type='pci' managed='yes'>\n"
        "      <source><address domain='0x0000' bus='0x41' slot='0x00' function='0x1'/></source>\n"
        "    </hostdev>\n"
        "    <hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci' display='off'>\n"
        "      <source><address uuid='" U1 "'/></source>\n"
        "      <alias name='hostdev0'/>\n"
        "    </hostdev>\n"
        "    <hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci'>\n"
        "      <source><address uuid='6E0F3A52-9D1B-4C7E-8A21-00000000A102'/></source>\n"
        "    </hostdev>\n"
        "  </devices>\n"
        "  <qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'/>\n"
        "</domain>\n";

static int parse(const char *doc, struct nvv_domxml *dx, char **msg)
{
        free(*msg);
        *msg = NULL;
        memset(dx, 0xa5, sizeof(*dx));
        return nvv_domxml_parse(doc, strlen(doc), dx, msg);
}

static void test_live_domain(void **state)
{
        _cleanup_free_ char *msg = NULL;
        struct nvv_domxml dx;
        char spec[NVV_DOMXML_SPEC_MAX];

        (void) state;
        assert_int_equal(parse(live_domain, &dx, &msg), 0);
        assert_string_equal(dx.uuid, DOM_UUID);
        /* The PCI hostdev is not an mdev (nvvgpud tells whether it is a VF with a vGPU); the
         * second UUID comes back canonical (lowercase). */
        assert_int_equal(dx.n_pci, 1);
        assert_string_equal(dx.pci[0], "0000:41:00.1");
        assert_int_equal(dx.n_mdevs, 2);
        assert_string_equal(dx.mdevs[0], U1);
        assert_string_equal(dx.mdevs[1], U2);
        assert_int_equal(dx.n_requests, 1);
        assert_string_equal(dx.requests[0].type, "L40S-8Q");
        assert_int_equal(dx.requests[0].count, 2);
        assert_int_equal(dx.n_vgpus, 2);
        assert_true(nvv_domxml_wants_vgpus(&dx));
        assert_int_equal(nvv_domxml_request_spec(&dx, spec, sizeof(spec)), 0);
        assert_string_equal(spec, "L40S-8Q*2");
}

static void test_no_vgpus(void **state)
{
        _cleanup_free_ char *msg = NULL;
        struct nvv_domxml dx;
        char spec[8];

        (void) state;
        /* What `virsh define` of a plain guest gives its hooks: nothing for nvvgpu. */
        assert_int_equal(parse("<domain type='qemu'><name>plain</name><uuid>" DOM_UUID "</uuid>"
                               "<devices><hostdev mode='subsystem' type='usb'><source><vendor id='0x1'/></source></hostdev>"
                               "</devices></domain>",
                               &dx, &msg),
                         0);
        assert_false(nvv_domxml_wants_vgpus(&dx));
        assert_int_equal(dx.n_mdevs, 0);
        assert_int_equal(dx.n_pci, 0);
        assert_int_equal(dx.n_requests, 0);
        assert_int_equal(nvv_domxml_request_spec(&dx, spec, sizeof(spec)), 0);
        assert_string_equal(spec, "");
        /* No <uuid>: the request goes without one. */
        assert_int_equal(parse("<domain><name>x</name></domain>", &dx, &msg), 0);
        assert_string_equal(dx.uuid, "");
        assert_false(nvv_domxml_wants_vgpus(&dx));
}

static void test_metadata(void **state)
{
        _cleanup_free_ char *msg = NULL;
        struct nvv_domxml dx;
        char spec[NVV_DOMXML_SPEC_MAX];

        (void) state;
        /* Several types in one container; count defaults to 1; any prefix, or the default
         * namespace, names the same namespace. */
        assert_int_equal(parse("<domain><metadata><n:vgpus xmlns:n='urn:nvvgpu:libvirt:1'>"
                               "<n:vgpu type='L40S-8Q' count='2'/> <!-- a comment --> <n:vgpu type='L40S-4Q'/>"
                               "</n:vgpus></metadata></domain>",
                               &dx, &msg),
                         0);
        assert_int_equal(dx.n_requests, 2);
        assert_int_equal(dx.n_vgpus, 3);
        assert_int_equal(nvv_domxml_request_spec(&dx, spec, sizeof(spec)), 0);
        assert_string_equal(spec, "L40S-8Q*2,L40S-4Q");
        assert_int_equal(parse("<domain><metadata><vgpu xmlns='urn:nvvgpu:libvirt:1' type='A16-2B'/></metadata></domain>", &dx,
                               &msg),
                         0);
        assert_int_equal(dx.n_vgpus, 1);
        assert_string_equal(dx.requests[0].type, "A16-2B");
        /* The most there may be: 16 in all. */
        assert_int_equal(parse("<domain><metadata><n:vgpus xmlns:n='urn:nvvgpu:libvirt:1'>"
                               "<n:vgpu type='L40S-1Q' count='15'/><n:vgpu type='L40S-2Q'/></n:vgpus></metadata></domain>",
                               &dx, &msg),
                         0);
        assert_int_equal(dx.n_vgpus, 16);
        /* A container with nothing in it asks for nothing. */
        assert_int_equal(parse("<domain><metadata><n:vgpus xmlns:n='urn:nvvgpu:libvirt:1'/></metadata></domain>", &dx, &msg),
                         0);
        assert_false(nvv_domxml_wants_vgpus(&dx));
}

static void test_other_namespaces_ignored(void **state)
{
        _cleanup_free_ char *msg = NULL;
        struct nvv_domxml dx;

        (void) state;
        /* Another version's namespace, another vendor's vgpu, an element without namespace
         * (libvirt drops those): none is ours, whatever is in them. */
        assert_int_equal(parse("<domain><metadata>"
                               "<a:vgpu xmlns:a='urn:nvvgpu:libvirt:2' type='L40S-8Q' count='99'/>"
                               "<b:vgpu xmlns:b='http://example.com/vgpu' bogus='1'><x/></b:vgpu>"
                               "<vgpu type='L40S-8Q'/>"
                               "</metadata>"
                               "<devices><c:hostdev xmlns:c='urn:x' mode='subsystem' type='mdev'/></devices></domain>",
                               &dx, &msg),
                         0);
        assert_false(nvv_domxml_wants_vgpus(&dx));
        /* Our element outside <metadata> is nothing either. */
        assert_int_equal(parse("<domain><n:vgpu xmlns:n='urn:nvvgpu:libvirt:1' type='L40S-8Q'/></domain>", &dx, &msg), 0);
        assert_false(nvv_domxml_wants_vgpus(&dx));
}

static void test_refused(void **state)
{
        static const struct {
                const char *doc, *why;
        } bad[] = {
                { "", "domain XML: empty" },
                { "<domain>", "domain XML: line 1: " },
                { "<domain><name>a</name></domian>", "domain XML: line 1: " },
                { "not xml at all", "domain XML: line 1: " },
                /* libxml2 says this one in two lines; the refusal is one (checked below). */
                { "<domain><metadata><n:v\xff\xffgpu/></metadata></domain>", "domain XML: line 1: " },
                { "<network><name>n</name></network>", "the root element is <network>, not <domain>" },
                { "<?xml version='1.0'?><!DOCTYPE domain [<!ENTITY e 'x'>]><domain><name>&e;</name></domain>",
                  "has a <!DOCTYPE>" },
                { "<!DOCTYPE domain SYSTEM 'http://example.com/x.dtd'><domain/>", "has a <!DOCTYPE>" },
                { "<domain><uuid>" DOM_UUID "</uuid><uuid>" DOM_UUID "</uuid></domain>", "more than one <uuid>" },
                { "<domain><uuid>c7a5fdbdcdaf9455926ad65c16db1809</uuid></domain>", "<uuid>: 'c7a5fdbdcdaf9455926ad65c16db1809' is not a UUID" },
                /* hostdevs */
                { "<domain><devices><hostdev mode='subsystem' type='mdev'/></devices></domain>",
                  "hostdev 1 (an mdev) has no <source><address uuid='...'/>" },
                { "<domain><devices><hostdev type='usb'/><hostdev type='mdev'><source><address uuid='xyz'/></source></hostdev>"
                  "</devices></domain>",
                  "hostdev 2: source address uuid: 'xyz' is not a UUID" },
                { "<domain><devices><hostdev mode='subsystem' type='mdev'><source><address uuid='" U1 "'/></source></hostdev>"
                  "<hostdev mode='subsystem' type='mdev'><source><address uuid='" U1 "'/></source></hostdev></devices></domain>",
                  "hostdev 2: mdev " U1 " is named twice" },
                /* metadata */
                { "<domain><metadata><n:vgpu xmlns:n='urn:nvvgpu:libvirt:1' type='L40S-8Q'/>"
                  "<m:vgpu xmlns:m='urn:nvvgpu:libvirt:1' type='L40S-4Q'/></metadata></domain>",
                  "more than one element in namespace urn:nvvgpu:libvirt:1 (libvirt keeps only the first" },
                { "<domain><metadata><n:vgpu xmlns:n='urn:nvvgpu:libvirt:1'/></metadata></domain>",
                  "<n:vgpu> has no type" },
                { "<domain><metadata><n:vgpu xmlns:n='urn:nvvgpu:libvirt:1' type='L40S 8Q'/></metadata></domain>",
                  "<n:vgpu> type: 'L40S 8Q' is not a vGPU type name" },
                { "<domain><metadata><n:vgpu xmlns:n='urn:nvvgpu:libvirt:1' type='AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'/></metadata>"
                  "</domain>",
                  "is not a vGPU type name" },
                { "<domain><metadata><n:vgpu xmlns:n='urn:nvvgpu:libvirt:1' type='L40S-8Q' count='0'/></metadata></domain>",
                  "count '0': expected 1 to 16" },
                { "<domain><metadata><n:vgpu xmlns:n='urn:nvvgpu:libvirt:1' type='L40S-8Q' count='17'/></metadata></domain>",
                  "count '17': expected 1 to 16" },
                { "<domain><metadata><n:vgpu xmlns:n='urn:nvvgpu:libvirt:1' type='L40S-8Q' count='02'/></metadata></domain>",
                  "count '02'" },
                { "<domain><metadata><n:vgpu xmlns:n='urn:nvvgpu:libvirt:1' type='L40S-8Q' count='0x2'/></metadata></domain>",
                  "count '0x2'" },
                { "<domain><metadata><n:vgpu xmlns:n='urn:nvvgpu:libvirt:1' type='L40S-8Q' count=' 2'/></metadata></domain>",
                  "count ' 2'" },
                { "<domain><metadata><n:vgpu xmlns:n='urn:nvvgpu:libvirt:1' type='L40S-8Q' count='-1'/></metadata></domain>",
                  "count '-1'" },
                { "<domain><metadata><n:vgpu xmlns:n='urn:nvvgpu:libvirt:1' type='L40S-8Q' count='99999999999999999999'/>"
                  "</metadata></domain>",
                  "count '9999999999999999': expected 1 to 16" },
                { "<domain><metadata><n:vgpu xmlns:n='urn:nvvgpu:libvirt:1' type='L40S-8Q' cuont='2'/></metadata></domain>",
                  "<n:vgpu>: unknown attribute 'cuont' (it takes type, count and uuid)" },
                { "<domain><metadata><n:vgpu xmlns:n='urn:nvvgpu:libvirt:1' xmlns:o='urn:o' type='L40S-8Q' o:count='2'/>"
                  "</metadata></domain>",
                  "unknown attribute 'o:count'" },
                { "<domain><metadata><n:vgpu xmlns:n='urn:nvvgpu:libvirt:1' type='L40S-8Q'><n:vgpu type='x'/></n:vgpu>"
                  "</metadata></domain>",
                  "<n:vgpu> holds no elements" },
                { "<domain><metadata><n:gpu xmlns:n='urn:nvvgpu:libvirt:1' type='L40S-8Q'/></metadata></domain>",
                  "unknown element <n:gpu> (nvvgpu knows <vgpu> and <vgpus>)" },
                { "<domain><metadata><n:vgpus xmlns:n='urn:nvvgpu:libvirt:1' count='2'/></metadata></domain>",
                  "<vgpus> takes no attributes" },
                { "<domain><metadata><n:vgpus xmlns:n='urn:nvvgpu:libvirt:1'><vgpu type='L40S-8Q'/></n:vgpus></metadata></domain>",
                  "<vgpus> holds <vgpu> elements of namespace urn:nvvgpu:libvirt:1 only (found <vgpu>)" },
                { "<domain><metadata><n:vgpus xmlns:n='urn:nvvgpu:libvirt:1'><n:vgpu type='L40S-1Q' count='16'/>"
                  "<n:vgpu type='L40S-2Q'/></n:vgpus></metadata></domain>",
                  "asks for more than 16 vGPUs by type" },
        };
        _cleanup_free_ char *msg = NULL;
        struct nvv_domxml dx;

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int r = parse(bad[i].doc, &dx, &msg);

                if (r != -EINVAL || !msg || !strstr(msg, bad[i].why))
                        fail_msg("%s: got %d '%s', want '%s'", bad[i].doc, r, msg ? msg : "(none)", bad[i].why);
                /* One line each: it becomes `virsh start`'s error. */
                assert_null(strchr(msg, '\n'));
        }
}

/* PCI hostdevs: libvirt writes hex with 0x (and reads base 0, so decimal too); the address comes
 * back as sysfs names it. What nvvgpud cannot serve is refused with the hostdev named. */
static void test_pci_hostdevs(void **state)
{
        static const struct {
                const char *addr, *want;
        } good[] = {
                { "domain='0x0000' bus='0x43' slot='0x00' function='0x4'", "0000:43:00.4" },
                { "domain='0x0001' bus='0xC1' slot='0x1f' function='0x7'", "0001:c1:1f.7" },
                { "bus='67' slot='0' function='5'", "0000:43:00.5" }, /* domain defaults to 0 */
        };
        static const struct {
                const char *addr, *why;
        } bad[] = {
                { "domain='0x0000' slot='0x00' function='0x4'", "hostdev 1 (PCI): its source address has no bus" },
                { "bus='0x43' slot='0x20' function='0x0'", "source address slot: expected a number up to 0x1f" },
                { "bus='0x43' slot='0x00' function='8'", "source address function: expected a number up to 0x7" },
                { "bus='0x143' slot='0x00' function='0'", "source address bus: expected a number up to 0xff" },
                { "bus='0x' slot='0x00' function='0'", "source address bus" },
                { "bus=' 1' slot='0x00' function='0'", "source address bus" },
                { "bus='-1' slot='0x00' function='0'", "source address bus" },
                /* libvirt would read a leading zero as octal: refused, not taken as decimal. */
                { "bus='010' slot='0x00' function='0'", "source address bus: expected a number up to 0xff" },
                { "domain='0x10000' bus='1' slot='0' function='0'", "source address domain: expected a number up to 0xffff" },
        };
        _cleanup_free_ char *msg = NULL;
        struct nvv_domxml dx;
        char doc[512];

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                snprintf(doc, sizeof(doc),
                         "<domain><devices><hostdev mode='subsystem' type='pci' managed='yes'><source><address %s/>"
                         "</source></hostdev></devices></domain>",
                         good[i].addr);
                assert_int_equal(parse(doc, &dx, &msg), 0);
                assert_int_equal(dx.n_pci, 1);
                assert_string_equal(dx.pci[0], good[i].want);
                /* A PCI hostdev alone is not sure to be a vGPU: nvvgpud decides. */
                assert_false(nvv_domxml_wants_vgpus(&dx));
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int r;

                snprintf(doc, sizeof(doc),
                         "<domain><devices><hostdev mode='subsystem' type='pci'><source><address %s/></source></hostdev>"
                         "</devices></domain>",
                         bad[i].addr);
                r = parse(doc, &dx, &msg);
                if (r != -EINVAL || !msg || !strstr(msg, bad[i].why))
                        fail_msg("%s: got %d '%s', want '%s'", bad[i].addr, r, msg ? msg : "(none)", bad[i].why);
        }
        assert_int_equal(parse("<domain><devices><hostdev mode='subsystem' type='pci'/></devices></domain>", &dx, &msg),
                         -EINVAL);
        assert_string_equal(msg, "hostdev 1 (PCI) has no <source><address .../>");
        assert_int_equal(parse("<domain><devices>"
                               "<hostdev mode='subsystem' type='pci'><source><address bus='0x43' slot='0' function='4'/></source></hostdev>"
                               "<hostdev mode='subsystem' type='pci'><source><address domain='0' bus='67' slot='0x0' function='0x4'/>"
                               "</source></hostdev></devices></domain>",
                               &dx, &msg),
                         -EINVAL);
        assert_string_equal(msg, "hostdev 2: PCI device 0000:43:00.4 is named twice");
        /* 64 at most; a capabilities-mode hostdev is not one. */
        for (int n = 64; n <= 65; n++) {
                char big[16384];
                size_t o = (size_t) snprintf(big, sizeof(big),
                                             "<domain><devices><hostdev mode='capabilities' type='pci'/>");

                for (int i = 0; i < n; i++)
                        o += (size_t) snprintf(big + o, sizeof(big) - o,
                                               "<hostdev mode='subsystem' type='pci'><source><address bus='%d' slot='%d' "
                                               "function='0'/></source></hostdev>",
                                               i / 32, i % 32);
                snprintf(big + o, sizeof(big) - o, "</devices></domain>");
                if (n == 64) {
                        assert_int_equal(parse(big, &dx, &msg), 0);
                        assert_int_equal(dx.n_pci, 64);
                        assert_string_equal(dx.pci[63], "0000:01:1f.0");
                } else {
                        assert_int_equal(parse(big, &dx, &msg), -EINVAL);
                        assert_string_equal(msg, "more than 64 PCI hostdevs");
                }
        }
}

/* The hook's shortcut: no <hostdev> and no <metadata> element, nothing for nvvgpu (the parser
 * agrees); where there may be, the parser is asked. */
static void test_may_want(void **state)
{
        static const struct {
                const char *doc;
                bool may;
        } cases[] = {
                { "<domain type='qemu'><name>plain</name><devices><disk/></devices></domain>", false },
                { "<domain><name>hostdev</name><description>a metadata hostdev</description></domain>", false },
                { "<domain><devices><hostdevice/><x:hostdev xmlns:x='urn:x'/></devices></domain>", false },
                { "<domain><metadatas/></domain>", false },
                { "<domain><devices><hostdev mode='subsystem' type='usb'/></devices></domain>", true },
                { "<domain><devices><hostdev\n mode='subsystem'/></devices></domain>", true },
                { "<domain><metadata/></domain>", true },
                { "<domain><metadata>", true }, /* not well-formed: the parser says so */
                { "", true },
        };
        _cleanup_free_ char *msg = NULL;
        struct nvv_domxml dx;

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                if (nvv_domxml_may_want_vgpus(cases[i].doc, strlen(cases[i].doc)) != cases[i].may)
                        fail_msg("%s: may_want_vgpus %d", cases[i].doc, !cases[i].may);
                /* Where it says no, the parser finds nothing either. */
                if (!cases[i].may) {
                        assert_int_equal(parse(cases[i].doc, &dx, &msg), 0);
                        assert_false(nvv_domxml_wants_vgpus(&dx) || dx.n_pci);
                }
        }
        assert_true(nvv_domxml_may_want_vgpus(live_domain, strlen(live_domain)));
        assert_true(nvv_domxml_may_want_vgpus("<domain>\0<hostdev", 17));
}

/* uuid='...' names the mdev to make (the one a hostdev refers to): one each, no count. */
static void test_named_mdev(void **state)
{
        static const struct {
                const char *vgpus, *why;
        } bad[] = {
                { "<n:vgpu type='L40S-8Q' uuid='" U1 "' count='2'/>", "names one mdev: no count" },
                { "<n:vgpu type='L40S-8Q' uuid='" U1 "' count='1'/>", "names one mdev: no count" },
                { "<n:vgpu type='L40S-8Q' uuid='nope'/>", "<n:vgpu type='L40S-8Q'> uuid: " },
                { "<n:vgpu type='L40S-8Q' uuid='" U1 "'/><n:vgpu type='L40S-4Q' uuid='6E0F3A52-9D1B-4C7E-8A21-00000000A101'/>",
                  "mdev " U1 " is asked for twice" },
        };
        _cleanup_free_ char *msg = NULL;
        struct nvv_domxml dx;
        char doc[1024], spec[NVV_DOMXML_SPEC_MAX];

        (void) state;
        assert_int_equal(parse("<domain><metadata><n:vgpus xmlns:n='urn:nvvgpu:libvirt:1'>"
                               "<n:vgpu type='L40S-8Q' uuid='6E0F3A52-9D1B-4C7E-8A21-00000000A101'/><n:vgpu type='L40S-4Q' count='2'/>"
                               "<n:vgpu type='L40S-8Q' uuid='" U2 "'/></n:vgpus></metadata></domain>",
                               &dx, &msg),
                         0);
        assert_int_equal(dx.n_requests, 3);
        assert_string_equal(dx.requests[0].uuid, U1);
        assert_int_equal(dx.requests[0].count, 1);
        assert_string_equal(dx.requests[1].uuid, "");
        assert_string_equal(dx.requests[2].uuid, U2);
        assert_int_equal(dx.n_vgpus, 4);
        assert_true(nvv_domxml_wants_vgpus(&dx));
        /* The plan request list holds the others only. */
        assert_int_equal(nvv_domxml_request_spec(&dx, spec, sizeof(spec)), 0);
        assert_string_equal(spec, "L40S-4Q*2");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int r;

                snprintf(doc, sizeof(doc), "<domain><metadata><n:vgpus xmlns:n='urn:nvvgpu:libvirt:1'>%s</n:vgpus></metadata></domain>",
                         bad[i].vgpus);
                r = parse(doc, &dx, &msg);
                if (r != -EINVAL || !msg || !strstr(msg, bad[i].why))
                        fail_msg("%s: got %d '%s', want '%s'", bad[i].vgpus, r, msg ? msg : "(none)", bad[i].why);
        }
}

/* Limits on counts: 16 mdevs, 16 request elements; a 17th is refused. */
static void test_count_limits(void **state)
{
        _cleanup_free_ char *msg = NULL;
        char doc[16384];
        struct nvv_domxml dx;
        size_t o;

        (void) state;
        for (int n = 16; n <= 17; n++) {
                o = (size_t) snprintf(doc, sizeof(doc), "<domain><devices>");
                for (int i = 0; i < n; i++)
                        o += (size_t) snprintf(doc + o, sizeof(doc) - o,
                                               "<hostdev mode='subsystem' type='mdev'><source><address "
                                               "uuid='6e0f3a52-9d1b-4c7e-8a21-0000000000%02x'/></source></hostdev>",
                                               i);
                snprintf(doc + o, sizeof(doc) - o, "</devices></domain>");
                if (n == 16) {
                        assert_int_equal(parse(doc, &dx, &msg), 0);
                        assert_int_equal(dx.n_mdevs, 16);
                        assert_string_equal(dx.mdevs[15], "6e0f3a52-9d1b-4c7e-8a21-00000000000f");
                } else {
                        assert_int_equal(parse(doc, &dx, &msg), -EINVAL);
                        assert_non_null(strstr(msg, "more than 16 mdev hostdevs"));
                }
        }
        for (int n = 16; n <= 17; n++) {
                o = (size_t) snprintf(doc, sizeof(doc), "<domain><metadata><n:vgpus xmlns:n='urn:nvvgpu:libvirt:1'>");
                for (int i = 0; i < n; i++)
                        o += (size_t) snprintf(doc + o, sizeof(doc) - o, "<n:vgpu type='AAAAAAAAAAAAAAAAAAAAAAAAAAAA-%02d'/>",
                                               i);
                snprintf(doc + o, sizeof(doc) - o, "</n:vgpus></metadata></domain>");
                if (n == 16) {
                        char spec[NVV_DOMXML_SPEC_MAX];

                        assert_int_equal(parse(doc, &dx, &msg), 0);
                        assert_int_equal(dx.n_requests, 16);
                        /* The longest names there are fit the request list's buffer. */
                        assert_int_equal(nvv_domxml_request_spec(&dx, spec, sizeof(spec)), 0);
                        assert_int_equal(strlen(spec), 16 * 31 + 15);
                        assert_int_equal(nvv_domxml_request_spec(&dx, spec, 100), -ENOBUFS);
                        assert_string_equal(spec, "");
                } else {
                        assert_int_equal(parse(doc, &dx, &msg), -EINVAL);
                        assert_non_null(strstr(msg, "more than 16 <n:vgpu> elements"));
                }
        }
}

/* The size limit holds before any parsing; just under it, a real document parses. */
static void test_size_limit(void **state)
{
        _cleanup_free_ char *msg = NULL, *doc = NULL;
        size_t n = NVV_DOMXML_MAX_SIZE;
        struct nvv_domxml dx;
        static const char head[] = "<domain><description>", tail[] = "</description>"
                                                                        "<metadata><n:vgpu xmlns:n='urn:nvvgpu:libvirt:1' "
                                                                        "type='L40S-8Q'/></metadata></domain>";

        (void) state;
        doc = malloc(n + 1);
        assert_non_null(doc);
        memcpy(doc, head, sizeof(head) - 1);
        memset(doc + sizeof(head) - 1, 'x', n - (sizeof(head) - 1) - (sizeof(tail) - 1));
        memcpy(doc + n - (sizeof(tail) - 1), tail, sizeof(tail));
        assert_int_equal(nvv_domxml_parse(doc, n, &dx, &msg), 0);
        assert_int_equal(dx.n_vgpus, 1);
        assert_int_equal(nvv_domxml_parse(doc, n + 1, &dx, &msg), -EFBIG);
        assert_non_null(strstr(msg, "larger than 4194304 bytes"));
}

/* Entities are not expanded into what nvvgpu reads, and a document that nests deeper than
 * libxml2 allows is refused, not followed. */
static void test_hostile(void **state)
{
        _cleanup_free_ char *msg = NULL, *deep = NULL;
        struct nvv_domxml dx;
        size_t n = 0;

        (void) state;
        /* The billion laughs: a DOCTYPE is refused whether or not libxml2 already stopped it. */
        assert_int_equal(parse("<!DOCTYPE d [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>"
                               "<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'><!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'>]>"
                               "<domain><metadata><n:vgpu xmlns:n='urn:nvvgpu:libvirt:1' type='&d;'/></metadata></domain>",
                               &dx, &msg),
                         -EINVAL);
        deep = malloc(20000 * 3 + 64);
        assert_non_null(deep);
        n += (size_t) sprintf(deep, "<domain>");
        for (int i = 0; i < 10000; i++)
                n += (size_t) sprintf(deep + n, "<a>");
        assert_int_equal(nvv_domxml_parse(deep, n, &dx, &msg), -EINVAL);
        assert_non_null(strstr(msg, "domain XML: line 1: "));
        /* A NUL byte inside the document is an error, not its end. */
        assert_int_equal(nvv_domxml_parse("<domain/>\0<x>", 13, &dx, &msg), -EINVAL);
        assert_non_null(strstr(msg, "has a NUL byte at offset 9"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_live_domain),
                cmocka_unit_test(test_no_vgpus),
                cmocka_unit_test(test_metadata),
                cmocka_unit_test(test_other_namespaces_ignored),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_pci_hostdevs),
                cmocka_unit_test(test_named_mdev),
                cmocka_unit_test(test_may_want),
                cmocka_unit_test(test_count_limits),
                cmocka_unit_test(test_size_limit),
                cmocka_unit_test(test_hostile),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
