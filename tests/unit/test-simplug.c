/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Simulated GPU hot-plug (faults unplug@N and plug@N) as a client of nvvgpu-sim sees it: RPCs
 * refused with ENODEV (also one waiting for its answer), the uevents with their exact keys in
 * the kernel's order, HELLO and STATUS saying "present", the FUSE tree without the GPU and
 * with it again, a write held for the manager failing with ENODEV, the GPU fresh after the
 * plug (no types, no vGPUs, no GSP-reset event), and the errors for a second unplug or plug.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>

#include "nvv-cmd.h"
#include "nvv-simconn.h"
#include "nvv-simproto.h"
#include "nvv-sock.h"
#include "simtest.h"

#define PF0 "0000:41:00.0"
#define PF1 "0000:42:00.0"
#define UUID0 "5a1e0000-0000-4000-8000-00000000c0de"  /* made by RPC */
#define UUID1 "5a1e0000-0000-4000-8000-0000000000f1"  /* a create held for the manager */

struct plugtest {
        struct simtest t;
        char sys[128];
        bool fuse;                      /* the tree is mounted at sys */
        struct nvv_simconn *conn;       /* the manager: sysfs requests and uevents */
        struct nvv_channel *ch0, *ch1;
};

static struct {
        int event;
} events[64];
static size_t n_events;

static void on_event(void *userdata, struct nvv_channel *ch, int event, const union nvv_cmd_any *payload,
                     uint32_t number)
{
        (void) userdata;
        (void) ch;
        (void) payload;
        (void) number;
        if (n_events < ELEMENTSOF(events))
                events[n_events++].event = event;
}

/* Under ThreadSanitizer the tree is left out: nvv_simfs_unmount() calls fuse_unmount() while
 * libfuse's loop threads still read the session fd, which TSan reports (a race of the
 * existing unmount order, not of hot-plug). Everything but the tree checks still runs. */
#if defined(__SANITIZE_THREAD__)
#define FUSE_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FUSE_UNDER_TSAN 1
#endif
#endif

/* Under valgrind too: it holds its one lock across a stat of a path of the tree, a syscall it
 * takes for one that cannot block, so the thread serving that FUSE request never runs. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define UNDER_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef UNDER_VALGRIND
#define UNDER_VALGRIND() 0
#endif

static bool fuse_usable(void)
{
#ifdef FUSE_UNDER_TSAN
        return false;
#else
        return geteuid() == 0 && access("/dev/fuse", R_OK | W_OK) == 0 && !UNDER_VALGRIND();
#endif
}

static void start(struct plugtest *p, const char *gpus)
{
        struct nvv_sim_options o = { .gpus = gpus, .catalog_dir = simtest_catalog_dir(), .sysfs_timeout_ms = 20000 };
        char *msg = NULL;

        memset(p, 0, sizeof(*p));
        snprintf(p->t.dir, sizeof(p->t.dir), "/tmp/nvv-simplug-XXXXXX");
        assert_non_null(mkdtemp(p->t.dir));
        snprintf(p->t.socket, sizeof(p->t.socket), "%s/sim.sock", p->t.dir);
        snprintf(p->sys, sizeof(p->sys), "%s/sys", p->t.dir);
        assert_int_equal(mkdir(p->sys, 0755), 0);
        o.socket_path = p->t.socket;
        p->fuse = fuse_usable();
        if (p->fuse)
                o.sysfs_mount = p->sys;
        p->t.db = test_load_db();
        if (nvv_sim_start(&o, &p->t.sim, &msg) < 0)
                fail_msg("%s", msg);
        if (nvv_simconn_connect(p->t.socket, &p->conn, &msg) < 0 || nvv_simconn_sysfs_subscribe(p->conn, &msg) < 0 ||
            nvv_simconn_open_channel(p->conn, 0, p->t.db, &p->ch0, &msg) < 0 ||
            nvv_simconn_open_channel(p->conn, 1, p->t.db, &p->ch1, &msg) < 0)
                fail_msg("%s", msg);
        nvv_channel_set_timeout(p->ch0, 5000);
}

static void stop(struct plugtest *p)
{
        p->ch0 = nvv_channel_close(p->ch0);
        p->ch1 = nvv_channel_close(p->ch1);
        p->conn = nvv_simconn_unref(p->conn);
        simtest_stop(&p->t);
        rmdir(p->sys);
        rmdir(p->t.dir);
}

/* The next uevent within 5 s. */
static void next_uevent(struct plugtest *p, struct nvv_uevent *u)
{
        uint64_t until = now_ns() + UINT64_C(5000000000);
        struct pollfd pf = { .fd = nvv_simconn_sysfs_get_fd(p->conn), .events = POLLIN };

        while (nvv_simconn_sysfs_next_uevent(p->conn, u) == -EAGAIN) {
                if (now_ns() >= until)
                        fail_msg("no uevent within 5 s");
                (void) poll(&pf, 1, 50);
        }
}

/* The next uevent is exactly these KEY=VALUE pairs in this order, then SEQNUM. */
static void expect_uevent(struct plugtest *p, const char *const *kv)
{
        struct nvv_uevent u;
        size_t n = 0;

        next_uevent(p, &u);
        for (; kv[n]; n++) {
                char have[NVV_UEVENT_KEY_MAX + NVV_UEVENT_VALUE_MAX + 1] = "";

                if (n < u.n)
                        snprintf(have, sizeof(have), "%s=%s", u.key[n], u.value[n]);
                if (!streq(have, kv[n]))
                        fail_msg("uevent %s=%s: property %zu is '%s', expected '%s'", u.n ? u.key[0] : "", u.n ? u.value[0] : "",
                                 n, have, kv[n]);
        }
        assert_int_equal(u.n, n + 1);
        assert_string_equal(u.key[n], "SEQNUM");
}

static void drain_uevents(struct plugtest *p)
{
        struct nvv_uevent u;

        while (nvv_simconn_sysfs_next_uevent(p->conn, &u) == 0)
                ;
}

static int get_features(struct nvv_channel *ch, char *err, size_t errlen)
{
        struct nvv_cmd_get_features f = {};

        return nvv_channel_call(ch, NVV_CMD_GET_FEATURES, &f, 0, NULL, NULL, err, errlen);
}

/* One request (HELLO or STATUS) on a connection of its own; the answer's JSON. */
static json_object *ask(struct plugtest *p, uint16_t type, uint32_t gpu)
{
        struct nvv_sock_rx rx;
        json_object *o;
        char err[256], *msg = NULL;
        int fd;

        if (nvv_sock_connect(p->t.socket, &fd, &msg) < 0)
                fail_msg("%s", msg);
        assert_int_equal(nvv_simproto_send(fd, type, gpu, 7, 0, NULL, 0, 5000), 0);
        nvv_simproto_rx_init(&rx, NVV_SIMPROTO_MAX_PAYLOAD);
        if (nvv_simproto_recv(fd, &rx, 5000, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        assert_int_equal(rx.first.type, type == NVV_SIMPROTO_HELLO ? NVV_SIMPROTO_INFO : NVV_SIMPROTO_STATUS_INFO);
        o = json_tokener_parse((const char *) rx.data);
        assert_non_null(o);
        nvv_simproto_rx_done(&rx);
        close(fd);
        return o;
}

static json_object *get(json_object *o, const char *key)
{
        json_object *v = NULL;

        if (!json_object_object_get_ex(o, key, &v))
                fail_msg("no '%s' in %s", key, json_object_to_json_string(o));
        return v;
}

/* HELLO lists both GPUs in their places; `present` says which are there. */
static void expect_hello(struct plugtest *p, bool present0, bool present1)
{
        json_object *o = ask(p, NVV_SIMPROTO_HELLO, NVV_SIMPROTO_ALL_GPUS), *gpus = get(o, "gpus");

        assert_int_equal(json_object_array_length(gpus), 2);
        assert_string_equal(json_object_get_string(get(json_object_array_get_idx(gpus, 0), "bdf")), PF0);
        assert_int_equal(json_object_get_int(get(json_object_array_get_idx(gpus, 0), "index")), 0);
        assert_int_equal(json_object_get_boolean(get(json_object_array_get_idx(gpus, 0), "present")), present0);
        assert_int_equal(json_object_get_boolean(get(json_object_array_get_idx(gpus, 1), "present")), present1);
        json_object_put(o);
}

static bool exists(struct plugtest *p, const char *rel)
{
        char path[512];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", p->sys, rel);
        return lstat(path, &st) == 0;
}

static void register_one_type(struct plugtest *p, uint32_t gpu, uint32_t type_id, const char *name, char **msg)
{
        struct nvv_sysfs_type t = { .id = type_id };

        snprintf(t.name, sizeof(t.name), "%s", name);
        snprintf(t.description, sizeof(t.description), "num_heads=4, frl_config=60, framebuffer=8192M");
        snprintf(t.device_api, sizeof(t.device_api), "vfio-pci");
        if (nvv_simconn_register_types(p->conn, gpu, &t, 1, msg) < 0)
                fail_msg("%s", *msg);
}

/* Upload the catalog's types to GPU 0's firmware and make one vGPU named UUID0 there. */
static uint32_t make_vgpu(struct plugtest *p)
{
        const struct nvv_catalog_gpu *g = nvv_catalog_find_gpu(nvv_sim_get_catalog(p->t.sim), "L40S");
        _cleanup_free_ struct nvv_cmd_add_vgpu_types *t = calloc(1, sizeof(*t));
        struct nvv_cmd_set_vgpu_mgr_config mc = { .heterogeneous_timesliced = true };
        static const uint8_t uuid[16] = { 0x5a, 0x1e, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0xc0, 0xde };
        struct nvv_cmd_create_device cd = {};
        char err[512];

        assert_non_null(g);
        if (nvv_channel_call(p->ch0, NVV_CMD_SET_VGPU_MGR_CONFIG, &mc, 0, NULL, NULL, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        t->discard = true;
        for (size_t i = 0; i < g->n_types && t->count < NVV_MAX_VGPU_TYPES; i++)
                assert_int_equal(nvv_catalog_fill_vgpu_type(&g->types[i], nvv_channel_get_fwabi(p->ch0), false,
                                                            &t->types[t->count++]), 0);
        if (nvv_channel_call(p->ch0, NVV_CMD_ADD_VGPU_TYPES, t, 0, NULL, NULL, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        cd.type_id = t->types[0].type_id;
        memcpy(cd.vgpu_name, uuid, 16);
        if (nvv_channel_call(p->ch0, NVV_CMD_CREATE_DEVICE, &cd, 0, NULL, NULL, err, sizeof(err)) < 0)
                fail_msg("%s", err);
        return cd.type_id;
}

static const char *const PCI_KEYS_L40S_0[] = {
        "PCI_CLASS=30200", "PCI_ID=10DE:26B9", "PCI_SUBSYS_ID=10DE:26B9", "PCI_SLOT_NAME=" PF0,
        "MODALIAS=pci:v000010DEd000026B9sv000010DEsd000026B9bc03sc02i00",
};

struct held_write {
        char path[512];
        int result;                     /* 0, or the errno of the write */
};

static void *write_main(void *userdata)
{
        struct held_write *w = userdata;
        int fd = open(w->path, O_WRONLY | O_CLOEXEC);

        if (fd < 0) {
                w->result = errno;
                return NULL;
        }
        w->result = write(fd, UUID1 "\n", strlen(UUID1) + 1) < 0 ? errno : 0;
        close(fd);
        return NULL;
}

/* The mdev-model GPU 0 goes and comes back; GPU 1 is never touched. */
static void test_unplug_plug(void **state)
{
        struct plugtest p;
        struct held_write w = {};
        pthread_t writer;
        struct nvv_sysfs_request req;
        _cleanup_free_ struct nvv_simgpu_status *st = calloc(1, sizeof(*st));
        char *msg = NULL, err[512] = "", type_dir[64], mdev_type[32];
        json_object *o;
        uint32_t type_id;
        int r;

        (void) state;
        start(&p, "L40S@570.144,L40S@570.144:vf");
        assert_int_equal(nvv_channel_subscribe(p.ch0, on_event, NULL, err, sizeof(err)), 0);
        type_id = make_vgpu(&p);
        snprintf(mdev_type, sizeof(mdev_type), "MDEV_TYPE=nvidia-%u", type_id);
        snprintf(type_dir, sizeof(type_dir), "mdev_supported_types/nvidia-%u", type_id);
        /* The mdev the firmware holds, and the parent that registers: as before any unplug. */
        {
                const char *const add[] = { "ACTION=add", "DEVPATH=/devices/pci0000:41/" PF0 "/" UUID0, "SUBSYSTEM=mdev",
                                            mdev_type, NULL };
                const char *const reg[] = { "ACTION=change", "DEVPATH=/devices/pci0000:41/" PF0, "SUBSYSTEM=pci",
                                            "MDEV_STATE=registered", NULL };

                expect_uevent(&p, add);
                register_one_type(&p, 0, type_id, "NVIDIA L40S-1B", &msg);
                expect_uevent(&p, reg);
        }
        if (p.fuse) {
                char path[256];

                assert_true(exists(&p, "bus/pci/devices/" PF0));
                assert_true(exists(&p, "devices/pci0000:41/" PF0 "/vendor"));
                assert_true(exists(&p, "class/mdev_bus/" PF0));
                assert_true(exists(&p, "bus/mdev/devices/" UUID0));
                assert_true(exists(&p, "kernel/iommu_groups/100"));
                /* A create held for the manager's answer (never given) fails at the unplug. */
                snprintf(w.path, sizeof(w.path), "%s/devices/pci0000:41/" PF0 "/%s/create", p.sys, type_dir);
                snprintf(path, sizeof(path), "devices/pci0000:41/" PF0 "/%s/create", type_dir);
                assert_true(exists(&p, path));
                w.result = -1;
                assert_int_equal(pthread_create(&writer, NULL, write_main, &w), 0);
                {
                        uint64_t until = now_ns() + UINT64_C(5000000000);

                        while ((r = nvv_simconn_sysfs_next(p.conn, &req)) == -EAGAIN && now_ns() < until)
                                usleep(10 * 1000);
                        if (r < 0)
                                fail_msg("no create request came (the write: %s)", strerror(w.result));
                        assert_string_equal(req.gpu, PF0);
                        assert_string_equal(req.uuid, UUID1);
                }
        } else
                printf("SKIP: the FUSE tree checks need root and /dev/fuse, and are left out under TSan and valgrind (uid %u)\n",
                       (unsigned) geteuid());

        /* Unplug: the mdev goes, the parent withdraws, the PF goes; nothing else. */
        if (nvv_sim_inject(p.t.sim, "unplug@0", &msg) < 0)
                fail_msg("%s", msg);
        {
                const char *const rm_mdev[] = { "ACTION=remove", "DEVPATH=/devices/pci0000:41/" PF0 "/" UUID0,
                                                "SUBSYSTEM=mdev", mdev_type, NULL };
                const char *const unreg[] = { "ACTION=change", "DEVPATH=/devices/pci0000:41/" PF0, "SUBSYSTEM=pci",
                                              "MDEV_STATE=unregistered", NULL };
                const char *const rm_pf[] = { "ACTION=remove", "DEVPATH=/devices/pci0000:41/" PF0, "SUBSYSTEM=pci",
                                              PCI_KEYS_L40S_0[0], PCI_KEYS_L40S_0[1], PCI_KEYS_L40S_0[2],
                                              PCI_KEYS_L40S_0[3], PCI_KEYS_L40S_0[4], NULL };

                expect_uevent(&p, rm_mdev);
                expect_uevent(&p, unreg);
                expect_uevent(&p, rm_pf);
        }
        if (p.fuse) {
                assert_int_equal(pthread_join(writer, NULL), 0);
                assert_int_equal(w.result, ENODEV);
                assert_false(exists(&p, "bus/pci/devices/" PF0));
                assert_false(exists(&p, "bus/pci/drivers/nvidia/" PF0));
                assert_false(exists(&p, "devices/pci0000:41/" PF0));
                assert_false(exists(&p, "class/mdev_bus/" PF0));
                assert_false(exists(&p, "bus/mdev/devices/" UUID0));
                assert_false(exists(&p, "kernel/iommu_groups/100"));
                /* The root bus stays, as a host bridge's does; GPU 1 is all there. */
                assert_true(exists(&p, "devices/pci0000:41"));
                assert_true(exists(&p, "bus/pci/devices/" PF1));
                assert_true(exists(&p, "bus/pci/devices/0000:42:00.4"));
                assert_true(exists(&p, "kernel/iommu_groups/200"));
        }

        /* Every RPC is refused at once, naming the GPU; the other GPU answers. */
        r = get_features(p.ch0, err, sizeof(err));
        assert_int_equal(r, -ENODEV);
        assert_strstr(err, "GPU 0 (" PF0 ") is unplugged");
        assert_int_equal(get_features(p.ch1, err, sizeof(err)), 0);
        expect_hello(&p, false, true);
        o = ask(&p, NVV_SIMPROTO_STATUS, 0);
        assert_false(json_object_get_boolean(get(o, "present")));
        assert_int_equal(json_object_array_length(get(o, "vgpus")), 0);
        json_object_put(o);

        /* What cannot be done to a GPU that is not there. */
        assert_int_equal(nvv_sim_inject(p.t.sim, "unplug@0", &msg), -EALREADY);
        assert_string_equal(msg, "GPU 0 is unplugged already");
        assert_int_equal(nvv_sim_inject(p.t.sim, "reset@0", &msg), -ENODEV);
        assert_string_equal(msg, "GPU 0 (" PF0 ") is unplugged");
        {
                struct nvv_sysfs_type t = { .id = type_id, .name = "NVIDIA L40S-1B", .description = "x",
                                            .device_api = "vfio-pci" };

                assert_int_equal(nvv_simconn_register_types(p.conn, 0, &t, 1, &msg), -ENODEV);
                assert_strstr(msg, "GPU 0 (" PF0 ") is unplugged");
                /* Withdrawing (a manager that stops) has nothing to do. */
                assert_int_equal(nvv_simconn_register_types(p.conn, 0, NULL, 0, &msg), 0);
        }
        /* A fault for every GPU goes to those that are there. */
        if (nvv_sim_inject(p.t.sim, "reset", &msg) < 0)
                fail_msg("%s", msg);

        /* Plug: the PF comes back bound to nvidia, freshly booted. */
        n_events = 0;
        if (nvv_sim_inject(p.t.sim, "plug@0", &msg) < 0)
                fail_msg("%s", msg);
        {
                const char *const add_pf[] = { "ACTION=add", "DEVPATH=/devices/pci0000:41/" PF0, "SUBSYSTEM=pci",
                                               "DRIVER=nvidia", PCI_KEYS_L40S_0[0], PCI_KEYS_L40S_0[1],
                                               PCI_KEYS_L40S_0[2], PCI_KEYS_L40S_0[3], PCI_KEYS_L40S_0[4], NULL };

                expect_uevent(&p, add_pf);
        }
        assert_int_equal(nvv_sim_inject(p.t.sim, "plug@0", &msg), -EALREADY);
        assert_string_equal(msg, "GPU 0 is plugged in already");
        expect_hello(&p, true, true);
        assert_int_equal(get_features(p.ch0, err, sizeof(err)), 0);
        assert_int_equal(nvv_simgpu_get_status(nvv_sim_get_gpu(p.t.sim, 0), st), 0);
        assert_int_equal(st->n_vgpus, 0);
        assert_int_equal(st->n_types, 0);
        o = ask(&p, NVV_SIMPROTO_STATUS, 0);
        assert_true(json_object_get_boolean(get(o, "present")));
        assert_int_equal(json_object_get_int(get(o, "types")), 0);
        json_object_put(o);
        if (p.fuse) {
                char path[256];

                assert_true(exists(&p, "bus/pci/devices/" PF0));
                assert_true(exists(&p, "devices/pci0000:41/" PF0 "/vendor"));
                assert_true(exists(&p, "kernel/iommu_groups/100"));
                /* No types until the manager registers them again. */
                assert_false(exists(&p, "class/mdev_bus/" PF0));
                snprintf(path, sizeof(path), "devices/pci0000:41/" PF0 "/%s", type_dir);
                assert_false(exists(&p, path));
                assert_false(exists(&p, "bus/mdev/devices/" UUID0));
                register_one_type(&p, 0, type_id, "NVIDIA L40S-1B", &msg);
                assert_true(exists(&p, path));
        }
        /* No GSP-reset event came with the plug: the first event after it is the one of an
         * injected reset (the ring keeps order), and there is only that one. */
        if (nvv_sim_inject(p.t.sim, "reset@0", &msg) < 0)
                fail_msg("%s", msg);
        {
                uint64_t until = now_ns() + UINT64_C(5000000000);

                while (n_events == 0 && now_ns() < until)
                        simtest_pump(p.ch0, 50);
                (void) get_features(p.ch0, err, sizeof(err));
                simtest_pump(p.ch0, 50);
        }
        assert_int_equal(n_events, 1);
        assert_int_equal(events[0].event, NVV_EVENT_GSP_RESET);
        drain_uevents(&p);
        stop(&p);
        free(msg);
}

/* An RPC waiting for its answer when the GPU goes fails with ENODEV at once, not by its
 * timeout. */
struct waiting_rpc {
        struct nvv_channel *ch;
        int r;
        char err[512];
};

static void *rpc_main(void *userdata)
{
        struct waiting_rpc *w = userdata;

        w->r = get_features(w->ch, w->err, sizeof(w->err));
        return NULL;
}

static void test_unplug_waiting_rpc(void **state)
{
        struct plugtest p;
        struct waiting_rpc w = {};
        _cleanup_free_ struct nvv_simgpu_status *st = calloc(1, sizeof(*st));
        pthread_t th;
        char *msg = NULL;
        uint64_t until, before;

        (void) state;
        start(&p, "L40S@570.144,L40S@570.144");
        /* The firmware takes the RPC and never answers; the channel would wait 60 s. */
        nvv_channel_set_timeout(p.ch0, 60000);
        if (nvv_sim_inject(p.t.sim, "drop:get_features@0", &msg) < 0)
                fail_msg("%s", msg);
        w.ch = p.ch0;
        assert_int_equal(nvv_simgpu_get_status(nvv_sim_get_gpu(p.t.sim, 0), st), 0);
        before = st->rpcs_handled;
        assert_int_equal(pthread_create(&th, NULL, rpc_main, &w), 0);
        until = now_ns() + UINT64_C(5000000000);
        do {
                assert_int_equal(nvv_simgpu_get_status(nvv_sim_get_gpu(p.t.sim, 0), st), 0);
                if (st->rpcs_handled > before)
                        break;
                usleep(5000);
        } while (now_ns() < until);
        assert_true(st->rpcs_handled > before);
        if (nvv_sim_inject(p.t.sim, "unplug@0", &msg) < 0)
                fail_msg("%s", msg);
        assert_int_equal(pthread_join(th, NULL), 0);
        assert_int_equal(w.r, -ENODEV);
        assert_strstr(w.err, "GPU 0 (" PF0 ") is unplugged");
        drain_uevents(&p);
        stop(&p);
        free(msg);
}

/* A VF-model GPU: its VFs go before it and come back after it. */
static void test_unplug_vf_model(void **state)
{
        struct plugtest p;
        struct nvv_uevent u;
        char *msg = NULL;
        uint32_t num_vfs;

        (void) state;
        start(&p, "L40S@570.144,L40S@570.144:vf");
        num_vfs = nvv_simgpu_get_config(nvv_sim_get_gpu(p.t.sim, 1))->gsp.num_vfs;
        assert_true(num_vfs >= 2);
        if (nvv_sim_inject(p.t.sim, "unplug@1", &msg) < 0)
                fail_msg("%s", msg);
        {
                const char *const rm_vf0[] = { "ACTION=remove", "DEVPATH=/devices/pci0000:42/0000:42:00.4", "SUBSYSTEM=pci",
                                               "PCI_CLASS=30200", "PCI_ID=10DE:26B9", "PCI_SUBSYS_ID=10DE:26B9",
                                               "PCI_SLOT_NAME=0000:42:00.4",
                                               "MODALIAS=pci:v000010DEd000026B9sv000010DEsd000026B9bc03sc02i00", NULL };

                expect_uevent(&p, rm_vf0);
        }
        for (uint32_t i = 1; i < num_vfs; i++) {
                next_uevent(&p, &u);
                assert_string_equal(nvv_uevent_get(&u, "ACTION"), "remove");
                assert_true(strcmp(nvv_uevent_get(&u, "PCI_SLOT_NAME"), PF1) != 0);
        }
        next_uevent(&p, &u);
        assert_string_equal(nvv_uevent_get(&u, "ACTION"), "remove");
        assert_string_equal(nvv_uevent_get(&u, "PCI_SLOT_NAME"), PF1);
        if (p.fuse) {
                assert_false(exists(&p, "bus/pci/devices/" PF1));
                assert_false(exists(&p, "bus/pci/devices/0000:42:00.4"));
                assert_false(exists(&p, "kernel/iommu_groups/201"));
                assert_true(exists(&p, "bus/pci/devices/" PF0));
        }
        if (nvv_sim_inject(p.t.sim, "plug@1", &msg) < 0)
                fail_msg("%s", msg);
        next_uevent(&p, &u);
        assert_string_equal(nvv_uevent_get(&u, "ACTION"), "add");
        assert_string_equal(nvv_uevent_get(&u, "PCI_SLOT_NAME"), PF1);
        assert_string_equal(nvv_uevent_get(&u, "DRIVER"), "nvidia");
        for (uint32_t i = 0; i < num_vfs; i++) {
                next_uevent(&p, &u);
                assert_string_equal(nvv_uevent_get(&u, "ACTION"), "add");
                assert_string_equal(nvv_uevent_get(&u, "SUBSYSTEM"), "pci");
                assert_string_equal(nvv_uevent_get(&u, "DRIVER"), "nvidia");
                if (i == 0)
                        assert_string_equal(nvv_uevent_get(&u, "DEVPATH"), "/devices/pci0000:42/0000:42:00.4");
        }
        if (p.fuse) {
                assert_true(exists(&p, "bus/pci/devices/" PF1));
                assert_true(exists(&p, "devices/pci0000:42/0000:42:00.4/nvidia/current_vgpu_type"));
        }
        stop(&p);
        free(msg);
}

/* The spec names the GPU; an index past the last is refused. */
static void test_spec_errors(void **state)
{
        static const struct {
                const char *spec, *msg;
        } cases[] = {
                { "unplug", "fault 'unplug' takes a GPU and nothing else: unplug@GPU" },
                { "plug:get_features@0", "fault 'plug' takes a GPU and nothing else: plug@GPU" },
                { "unplug@2", "fault for GPU 2, but there are 2 GPUs" },
        };
        struct plugtest p;
        char *msg = NULL;

        (void) state;
        start(&p, "L40S@570.144,L40S@570.144");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_int_equal(nvv_sim_inject(p.t.sim, cases[i].spec, &msg), -EINVAL);
                assert_string_equal(msg, cases[i].msg);
        }
        expect_hello(&p, true, true);
        stop(&p);
        free(msg);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unplug_plug),
                cmocka_unit_test(test_unplug_waiting_rpc),
                cmocka_unit_test(test_unplug_vf_model),
                cmocka_unit_test(test_spec_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
