#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""
Writes data/gpus/*.json, the GPU catalog (nvvgpu-catalog(5)), from the facts below.

Every value in the output carries its provenance: "source" (where it was read),
"unverified" (a value we could not check against any source available to us) or
"derived" (computed here; the rule is spelled out next to the value). Per-type values are
covered by the file's "type_provenance" map unless a type overrides one inline.

The derived geometry is computed for a reference configuration (GSP firmware heap of the
570+ releases, 581 MiB, ECC off). nvv_catalog_fill_vgpu_type() re-derives fb_length for the
release and ECC state it is asked about, never above the value written here.

Run it from the source tree: `python3 data/gpus/gen-catalog.py` (not part of the build).
"""
import json
import os
import re

MIB = 1
GIB = 1024
REF_GSP_HEAP_MIB = 581  # data/fwabi/570.144.json sizing.gsp_fw_heap_vgpu_mb (also 580, 595)
PLUGIN_HEAP_MIB = 16
MAX_VGPU_NON_MIG = 32   # NVA081_MAX_VGPU_PER_PGPU_NON_MIG, data/fwabi/580.65.06.json
WIRE_PLACEMENTS = 32    # placement id arrays hold 32 entries up to 570.144 (48 from 580)

VGPUCONFIG_3P = ("vgpuConfig.xml of the 510.47.03 vGPU driver as tabulated on a public "
                 "vgpu_unlock community wiki page ('vGPU Types'), found by public code "
                 "search; third party, repository not attributable")
PCI_IDS = "pci.ids 2023.04.10 (Debian package pci.ids 0.0~2023.04.11-1, /usr/share/misc/pci.ids)"
MIXED_ISSUE7 = ("NVIDIA's published 'maximum vGPUs per GPU in mixed-size mode' as quoted in "
                "nvvgpu issue 7 (read from NVIDIA's vGPU 17-19 type tables); those tables were "
                "not reachable here. Consistent with the L40 figures read from NVIDIA's C-series "
                "page (L40-16C 2, L40-4C 8: shared/reference/peers.md 4.3)")
AMPERE_MIXED = ("nvvgpu issue 7 reports that NVIDIA's vGPU 17+ tables give the A10, A16 and A40 "
                "a mixed-size mode; the tables were not reachable here")
C_RESOLUTION_SRC = ("NVIDIA AI Enterprise 8 vGPU types reference, 'Turing Architecture vGPU "
                    "Types' (docs.nvidia.com/ai-enterprise/release-8/latest/infra-software/vgpu/"
                    "reference/turing.html): C-series types have one virtual display of at most "
                    "3840x2400 (T4-16C/8C/4C, RTX6000P-*C); taken for every C type")
NVIDIA_SSID_TABLE = ("NVIDIA's device/subsystem name table GPU_NAME_BY_DEVID_SSID (an "
                     "NVIDIA-copyrighted MIT Python module, 2024-2025, found by public code "
                     "search; repository not attributable): (0x25b6, 0x14a9) A16, "
                     "(0x25b6, 0x157e) A2, 0x26b9 L40S")
NVIDIA_RESERVED_FORMULA = ("NVIDIA vGPU C-series documentation: reserved FB = "
                           "profile-size-in-MB/16 + 16 MB + ECC adjustment + page-retirement "
                           "allocation (128 MB / max vGPUs per GPU) + compression adjustment "
                           "(shared/reference/peers.md 4.6); ECC is charged GPU-wide "
                           "(ecc_fb_divisor)")
TURING_COMPRESSION_MIB = 28
TURING_COMPRESSION_SRC = ("28 MB: the compression adjustment of NVIDIA's worked example for a "
                          "T4-16Q, as restated on a third-party page (sicorps.com, 'NVIDIA "
                          "Virtual GPU Software Frame Buffer Reservation'); NVIDIA's own per-size "
                          "value was not available, so every Turing type gets it")

SERIES = {
    # letter: class, heads, resolution, frl, cuda
    "Q": ("Quadro", 4, (7680, 4320), 60, True),
    "B": ("NVS", 4, (5120, 2880), 45, False),
    "A": ("NVS", 1, (1280, 1024), 60, False),
    "C": ("Compute", 1, (3840, 2400), 60, True),
}

# Mixed-size maxima NVIDIA publishes (MIXED_ISSUE7), per GPU and profile GiB, for every series
# of that size. Other sizes keep the natural-alignment model (heterogeneous_placement_ids).
MIXED_PUBLISHED = {
    "l40s": {16: 2, 8: 4, 4: 8},
    "rtx6000-ada": {16: 2, 8: 4, 4: 8},
    "l4": {8: 2, 4: 4},
    "h100": {16: 4, 8: 8, 4: 16},
}
# GPUs with the FB of one above and no table here: its numbers, marked derived.
MIXED_LIKE = {"a10": "l4", "a40": "l40s"}


def series_display(letter, gib):
    cls, heads, res, frl, cuda = SERIES[letter]
    if letter == "Q" and gib == 1:
        res = (5120, 2880)
    return cls, heads, res, frl, cuda


def align_down(x, a):
    return x // a * a


def align_up(x, a):
    return (x + a - 1) // a * a


def seg_for(fb_total):
    seg = 32
    while fb_total / seg > 2048:
        seg *= 2
    return seg


def type_reservation(arch, gib, maxi):
    """Per-vGPU reserved FB in MiB, plugin heap included (NVIDIA_RESERVED_FORMULA)."""
    profile = gib * GIB
    page_retirement = -(-128 // maxi)  # 128 MB / max vGPUs per GPU, rounded up
    compression = TURING_COMPRESSION_MIB if arch == "Turing" else 0
    return PLUGIN_HEAP_MIB + profile // 16 + 16 + page_retirement + compression


def reserved_for(fb_total):
    return align_up(int(fb_total * 0.0045 + 0.999), 64)


GPUS = [
    dict(id="t4", model="NVIDIA Tesla T4", short="T4", type_prefix="GRID T4", arch="Turing",
         pci=["10de:1eb8"], pci_prov=("source", PCI_IDS + ": 1eb8 TU104GL [Tesla T4]"),
         memory="GDDR6", fb_gib=16, sriov=False, mixed=False,
         mixed_prov=("source", "NVIDIA vGPU docs: Turing and Volta GPUs do not support mixed-size "
                     "mode (shared/reference/peers.md 4.3)"),
         units_rule=None,
         types=[("B", 1, 222), ("B", 2, 223), ("A", 1, 225), ("A", 2, 226), ("A", 4, 227),
                ("A", 8, 228), ("A", 16, 229), ("Q", 1, 230), ("Q", 2, 231), ("Q", 4, 232),
                ("Q", 8, 233), ("Q", 16, 234), ("C", 4, 319), ("C", 8, 320), ("C", 16, 321)],
         ids_prov=("source", VGPUCONFIG_3P), display_src=VGPUCONFIG_3P),
    dict(id="a10", model="NVIDIA A10", short="A10", type_prefix="NVIDIA A10", arch="Ampere",
         pci=["10de:2236"], pci_prov=("source", PCI_IDS + ": 2236 GA102GL [A10]"),
         memory="GDDR6", fb_gib=24, sriov=True, mixed=True, mixed_prov=("unverified", AMPERE_MIXED),
         types=[("B", 1, 588), ("B", 2, 589)] +
               [("Q", g, i) for g, i in zip([1, 2, 3, 4, 6, 8, 12, 24], range(590, 598))] +
               [("A", g, i) for g, i in zip([1, 2, 3, 4, 6, 8, 12, 24], range(598, 606))] +
               [("C", g, i) for g, i in zip([4, 6, 8, 12, 24], range(610, 615))],
         ids_prov=("source", VGPUCONFIG_3P), display_src=VGPUCONFIG_3P),
    dict(id="a16", model="NVIDIA A16", short="A16", type_prefix="NVIDIA A16", arch="Ampere",
         pci=["10de:25b6:10de:14a9"],
         pci_prov=("source", PCI_IDS + ": 25b6 GA107GL [A2 / A16]; the A16 is subsystem 10de:14a9, "
                   "the A2 10de:157e (" + NVIDIA_SSID_TABLE + ")"),
         memory="GDDR6", fb_gib=16, sriov=True, mixed=True, mixed_prov=("unverified", AMPERE_MIXED),
         types=[("B", 1, 709), ("B", 2, 710)] +
               [("Q", g, i) for g, i in zip([1, 2, 4, 8, 16], range(711, 716))] +
               [("A", g, i) for g, i in zip([1, 2, 4, 8, 16], range(716, 721))] +
               [("C", g, i) for g, i in zip([4, 8, 16], range(721, 724))],
         ids_prov=("source", VGPUCONFIG_3P), display_src=VGPUCONFIG_3P,
         fb_note="per GPU: the A16 board carries four GPUs with 16 GB each"),
    dict(id="a2", model="NVIDIA A2", short="A2", type_prefix="NVIDIA A2", arch="Ampere",
         pci=["10de:25b6:10de:157e"],
         pci_prov=("source", PCI_IDS + ": 25b6 GA107GL [A2 / A16], told apart by subsystem "
                   "10de:157e (" + NVIDIA_SSID_TABLE + ")"),
         memory="GDDR6", fb_gib=16, sriov=True, mixed=False,
         types=[("B", 1, None), ("B", 2, None)] +
               [("Q", g, None) for g in [1, 2, 4, 8, 16]] +
               [("A", g, None) for g in [1, 2, 4, 8, 16]] +
               [("C", g, None) for g in [4, 8, 16]],
         ids_prov=None, ladder_note="the A16 ladder (same 16 GB GA107 GPU), " + VGPUCONFIG_3P,
         private_base=60400),
    dict(id="a40", model="NVIDIA A40", short="A40", type_prefix="NVIDIA A40", arch="Ampere",
         pci=["10de:2235"], pci_prov=("source", PCI_IDS + ": 2235 GA102GL [A40]"),
         memory="GDDR6", fb_gib=48, sriov=True, mixed=True, mixed_prov=("unverified", AMPERE_MIXED),
         types=[("B", 1, 555), ("B", 2, 556)] +
               [("Q", g, i) for g, i in zip([1, 2, 3, 4, 6, 8, 12, 16, 24, 48], range(557, 567))] +
               [("A", g, i) for g, i in zip([1, 2, 3, 4, 6, 8, 12, 16, 24, 48], range(567, 577))] +
               [("C", g, i) for g, i in zip([4, 6, 8, 12, 16, 24, 48], range(581, 588))],
         ids_prov=("source", VGPUCONFIG_3P), display_src=VGPUCONFIG_3P),
    dict(id="l4", model="NVIDIA L4", short="L4", type_prefix="NVIDIA L4", arch="Ada Lovelace",
         pci=["10de:27b8"], pci_prov=("source", PCI_IDS + ": 27b8 AD104GL [L4]"),
         memory="GDDR6", fb_gib=24, sriov=True, mixed=True,
         types=[("B", 1, None), ("B", 2, None)] +
               [("Q", g, None) for g in [1, 2, 3, 4, 6, 8, 12, 24]] +
               [("A", g, None) for g in [1, 2, 3, 4, 6, 8, 12, 24]] +
               [("C", g, None) for g in [4, 6, 8, 12, 24]],
         ids_prov=None, ladder_note="the A10 ladder (same 24 GB), " + VGPUCONFIG_3P,
         private_base=60000),
    dict(id="l40s", model="NVIDIA L40S", short="L40S", type_prefix="NVIDIA L40S", arch="Ada Lovelace",
         pci=["10de:26b9"],
         pci_prov=("source", "0x26b9 L40S in " + NVIDIA_SSID_TABLE + "; not in pci.ids 2023.04.10 "
                   "(which predates the L40S: it lists 26b5 L40 and 26b8 L40G)"),
         memory="GDDR6", fb_gib=48, sriov=True, mixed=True,
         types=[("B", 1, 1145), ("B", 2, 1146)] +
               [("Q", g, i) for g, i in zip([1, 2, 3, 4, 6, 8, 12, 16, 24, 48], range(1147, 1157))] +
               [("A", g, i) for g, i in zip([1, 2, 3, 4, 6, 8, 12, 16, 24, 48], range(1157, 1167))] +
               [("C", g, None) for g in [4, 6, 8, 12, 16, 24, 48]],
         ids_prov=("source", "shared/reference/firmware-abi-facts.md 3.4: ids 1145..1166 from two "
                   "independent third-party sysfs fixtures (a third, synthetic fixture contradicts "
                   "them for 1159)"),
         ladder_note="the A40 ladder (same 48 GB), " + VGPUCONFIG_3P,
         private_base=60100),
    dict(id="rtx6000-ada", model="NVIDIA RTX 6000 Ada Generation", short="RTX6000-Ada",
         type_prefix="NVIDIA RTX6000-Ada", arch="Ada Lovelace",
         pci=["10de:26b1"], pci_prov=("source", PCI_IDS + ": 26b1 AD102GL [L6000 / RTX 6000 Ada Generation]"),
         memory="GDDR6", fb_gib=48, sriov=True, mixed=True,
         types=[("Q", g, i) for g, i in zip([1, 2, 3, 4, 6, 8, 12, 16, 24, 48], range(941, 951))],
         ids_prov=("source", "Documentation/ABI/stable/sysfs-driver-nvidia-vgpu in NVIDIA's vGPU RFC v2 "
                   "14/14 (shared/reference/firmware-abi-facts.md 1.3): 941..950 = "
                   "RTX6000-Ada-{1,2,3,4,6,8,12,16,24,48}Q"),
         only_q_note="only the Q series is listed: it is the only series with sourced ids"),
    dict(id="rtx-pro-6000", model="NVIDIA RTX PRO 6000 Blackwell Server Edition", short="RTX-PRO-6000",
         type_prefix="NVIDIA RTX-PRO-6000", arch="Blackwell",
         pci=["10de:2bb5"],
         pci_prov=("source", "NVIDIA's nova-core development tree, drivers/vfio/pci/nvidia-vgpu/main.c @051d1a5: "
                   "PCI_DRIVER_OVERRIDE_DEVICE_VFIO(NVIDIA, 0x2bb5), 'RTX PRO 6000 Blackwell Server Edition "
                   "PFs and VFs share this ID' (shared/reference/upstream-2026.md 1.3); 96 GB: NVIDIA MIG "
                   "user guide, Supported GPUs table (docs.nvidia.com/datacenter/tesla/mig-user-guide/"
                   "supported-gpus.html: RTX PRO 6000 Blackwell Server Edition, GB202, 96GB)"),
         memory="GDDR7", fb_gib=96, sriov=True, mixed=True,
         mixed_prov=("source", "NVIDIA AI Enterprise 8 'Blackwell Architecture vGPU Types' (docs.nvidia.com/"
                     "ai-enterprise/release-8/latest/infra-software/vgpu/reference/blackwell.html) gives "
                     "Blackwell RTX PRO boards a 'Maximum vGPUs per GPU in Mixed-Size Mode' column"),
         unit_gib=1,
         types=[("Q", g, None) for g in [2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 96]],
         ids_prov=None,
         ladder_note="UNVERIFIED: NVIDIA's vGPU 19/20 time-sliced type table for this board was not "
                     "reachable here (searched: the vGPU user guide and the AI Enterprise 8 Blackwell "
                     "page, whose stored copy ends before this board). The sizes are those a field "
                     "report lists for the board's MIG-backed Q types (3, 4, 6, 8, 12, 16, 24, 48 GB: "
                     "bigstack-oss/cubecos issue 312, 'NVIDIA RTX Pro 6000 Blackwell DC-1-3Q' ...) "
                     "plus 2, 32 and 96 GB (the halvings of 96 GB); NVIDIA names them 'NVIDIA RTX Pro 6000 "
                     "Blackwell DC-<GB>Q' (that report), which the catalog's short names cannot carry (no "
                     "spaces), so the names here are nvvgpu's 'NVIDIA RTX-PRO-6000-<GB>Q'; Q series only",
         private_base=60500),
    dict(id="h100", model="NVIDIA H100 PCIe", short="H100", type_prefix="NVIDIA H100", arch="Hopper",
         pci=["10de:2331"], pci_prov=("source", PCI_IDS + ": 2331 GH100 [H100 PCIe]"),
         memory="HBM2e", fb_gib=80, sriov=True, mixed=True,
         types=[("C", g, None) for g in [4, 8, 10, 16, 20, 40, 80]] + [("C", 5, None)],
         ids_prov=None,
         ladder_note="the A100D-80GB time-sliced ladder 4/8/10/16/20/40/80C of " + VGPUCONFIG_3P +
                     ", and H100-5C (nvvgpu issue 7, from NVIDIA's vGPU tables, not reachable "
                     "here; listed last so the older ids stay); Hopper has no display engine, so "
                     "only the C series",
         private_base=60200),
    dict(id="h200", model="NVIDIA H200", short="H200", type_prefix="NVIDIA H200X", arch="Hopper",
         pci=["10de:2335"],
         pci_prov=("source", "shared/fixtures/h200-passthrough (real capture, driver 580.159.04): "
                   "device 0x2335, subsystem 10de:18bf, 'Product Name: NVIDIA H200'"),
         memory="HBM3e", fb_mib=143771,
         fb_prov=("source", "shared/fixtures/h200-passthrough/host/nvidia-smi-q.txt: FB Memory Usage "
                  "Total 143771 MiB"),
         reserved_mib=616,
         reserved_prov=("source", "shared/fixtures/h200-passthrough/host/nvidia-smi-q.txt: FB Memory Usage "
                        "Reserved 616 MiB (pass-through mode)"),
         sriov=True, mixed=True, units=160,
         types=[("C", 4, None), ("C", 8, None), ("C", 17, None), ("C", 35, None), ("C", 70, None),
                ("C", 141, None), ("C", 28, None), ("C", 14, None), ("C", 7, None)],
         unit_multiples={4: 5, 8: 10, 17: 20, 35: 40, 70: 80, 141: 160, 28: 32, 14: 16, 7: 8},
         ids_prov=None,
         ladder_note="halvings of the whole GPU (1/32 .. 1/1 of the FB, named by the GiB they round "
                     "to), and 28C/14C/7C (nvvgpu issue 7, from NVIDIA's vGPU tables, not reachable "
                     "here), taken as 1/5, 1/10, 1/20 of the FB and listed last so the older ids "
                     "stay; the 'H200X' prefix follows the one MIG type name seen in a field report "
                     "('NVIDIA H200X-1-18C', shared/reference/peers.md 2.4); C series only (Hopper)",
         private_base=60300),
]


def prov(kind, text):
    return {kind: text}


def val(v, kind, text):
    return {"value": v, kind: text}


def build(g):
    fb_total = g["fb_mib"] if "fb_mib" in g else g["fb_gib"] * GIB
    seg = seg_for(fb_total)
    reserved = g.get("reserved_mib", reserved_for(fb_total))
    if "units" in g:
        units = g["units"]
        units_rule = ("160 units, each 1/160 of the usable FB (model): the H200's time-sliced sizes "
                      "are the halvings of the whole GPU (1/32 = 5 units) and its fifths, tenths "
                      "and twentieths (28C, 14C, 7C)")
    else:
        unit_gib = g.get("unit_gib", 1)
        units = g["fb_gib"] // unit_gib
        units_rule = ("nominal FB (%d GB) / %d GiB, the largest size dividing every type's profile "
                      "size (model: NVIDIA publishes placement sizes only through NVML at run time)"
                      % (g["fb_gib"], unit_gib))
    usable = fb_total - REF_GSP_HEAP_MIB - reserved
    unit = align_down(usable // units, seg)
    num_vfs = 32 if g["sriov"] else 16
    out = {
        "format": "nvvgpu-gpu/1",
        "id": g["id"],
        "model": val(g["model"], "source", g["pci_prov"][1] if g["pci_prov"][0] == "source" else
                     "NVIDIA product name"),
        "short_name": val(g["short"], "derived", "model name without the 'NVIDIA' prefix, as used in "
                          "vGPU type names"),
        "architecture": val(g["arch"], "source", "NVIDIA product documentation (architecture of the "
                            "%s)" % g["model"]),
        "pci_ids": {"value": g["pci"], g["pci_prov"][0]: g["pci_prov"][1]},
        "memory": val(g["memory"], "source", "NVIDIA %s datasheet" % g["model"].replace("NVIDIA ", "")),
    }
    if "fb_prov" in g:
        out["fb_total_mib"] = val(fb_total, *g["fb_prov"])
    else:
        out["fb_total_mib"] = val(fb_total, "derived",
                                  "NVIDIA datasheet nominal %d GB taken as GiB (x 1024 MiB)%s; the "
                                  "firmware's own figure replaces it at run time"
                                  % (g["fb_gib"], ", " + g["fb_note"] if "fb_note" in g else ""))
    if "reserved_prov" in g:
        out["fb_reserved_mib"] = val(reserved, *g["reserved_prov"])
    else:
        out["fb_reserved_mib"] = val(reserved, "derived",
                                     "host driver reservation besides the GSP heap: 0.45% of FB rounded "
                                     "up to 64 MiB (model, scaled from the H200 capture: 616 of 143771 MiB)")
    out["ecc_fb_divisor"] = val(16 if g["memory"].startswith("GDDR") else 0, "source",
                                "NVIDIA vGPU C-series documentation: ECC on GPUs without HBM costs 1/16 "
                                "of the FB; HBM ECC costs none (shared/reference/peers.md 4.6)")
    out["vmmu_segment_mib"] = val(seg, "derived",
                                  "32 MiB x 2^k, the smallest that keeps FB / segment <= 2048 (model: the "
                                  "GSP reports 32..512 MiB through GET_VMMU_SEGMENT_SIZE at run time)")
    out["placement_units"] = val(units, "derived", units_rule)
    out["sriov"] = val(g["sriov"], "source",
                       "NVIDIA vGPU docs: Ampere and later GPUs host vGPUs on SR-IOV VFs; Turing uses "
                       "mediated devices (shared/reference/firmware-abi-facts.md 1.3, peers.md 2.4)")
    if g["sriov"]:
        out["num_vfs"] = val(num_vfs, "derived",
                             "NVA081_MAX_VGPU_PER_PGPU_NON_MIG (32), one VF per vGPU; an L40S host reports "
                             "32 (hypeman PR 52, third party); sriov_totalvfs replaces it at run time")
    else:
        out["num_vfs"] = val(num_vfs, "derived",
                             "no SR-IOV on Turing: the number of guest function ids the firmware hands out "
                             "to mediated devices, taken as the largest max_instance (16, T4-1Q)")
    out["total_chids"] = val(num_vfs * 512, "derived",
                             "512 channel ids per vGPU (NVIDIA vGPU RFC v1 patch 23 reserves 512 per vGPU) "
                             "x num_vfs")
    out["mixed_size"] = {"value": g["mixed"]}
    if "mixed_prov" in g:
        out["mixed_size"][g["mixed_prov"][0]] = g["mixed_prov"][1]
    elif g["mixed"]:
        out["mixed_size"]["derived"] = ("NVIDIA documents mixed-size mode for Ada and Hopper GPUs (L40, "
                                        "H100 examples: shared/reference/peers.md 4.3, 4.4) from vGPU 17 "
                                        "(firmware 550+, SET_HETEROGENEOUS_MODE from 570)")
    else:
        out["mixed_size"]["derived"] = ("no source here says this Ampere GPU supports mixed-size mode; "
                                        "treated as equal-size only")

    tp = {
        "name": prov("derived", "'<type prefix>-<profile GiB><series>', NVIDIA's naming rule "
                     "(shared/reference/peers.md 4.3)"),
        "series": prov("source", "NVIDIA vGPU docs: the last letter of the name is the series "
                       "(Q vWS, B vPC, A vApps, C compute) (peers.md 4.3)"),
        "profile_mib": prov("derived", "the GiB figure in the type name x 1024"),
        "class": prov("derived", "series convention (model): Q Quadro, B NVS, A NVS, C Compute"),
        "cuda": prov("derived", "series convention: Q and C run CUDA, A and B do not (vgpuConfig table "
                     "above, 'CUDA Enabled' column)"),
        "ecc_supported": prov("derived", "assumed for every type: no per-type ECC table was available"),
        "gsp_heap_mib": prov("derived", "plugin heap (model): the RFC v1 heap layout (3 x 4 KiB message "
                             "buffers, 2 MiB migration, 4 KiB error, 128 KiB init log, 256 KiB task log) "
                             "plus the plugin's own heap, rounded up to 16 MiB"),
        "fb_reservation_mib": prov("derived", "gsp_heap_mib + " + NVIDIA_RESERVED_FORMULA +
                                   "; max vGPUs per GPU is the type's max_instance, the quotient "
                                   "rounded up" + ("; compression adjustment " + TURING_COMPRESSION_SRC
                                                   if g["arch"] == "Turing" else
                                                   "; no compression adjustment (Turing only)") +
                                   "; includes the plugin heap, which lives in it"),
        "placement_size": prov("derived", "profile GiB / unit GiB (units as in placement_units)"),
        "max_instance": prov("derived", "equal-size mode: min(placement_units / placement_size, num_vfs, "
                             "32 = NVA081_MAX_VGPU_PER_PGPU_NON_MIG); for 48 GB GPUs this reproduces "
                             "NVIDIA's equal-size maxima (1Q 32, 3Q 16, 16Q 3, 24Q 2)"),
        "fb_length_mib": prov("derived", "placement_size x unit_size - align_up(fb_reservation, "
                              "vmmu_segment), with unit_size = align_down((fb_total - 581 MiB GSP heap "
                              "- fb_reserved) / placement_units, vmmu_segment): the reference "
                              "configuration (570+ firmware, ECC off); re-derived per release and ECC"),
        "homogeneous_placement_ids": prov("derived", "equal-size mode: k x placement_size for k < "
                                          "max_instance (the vGPUs tile the FB from offset 0)"),
        "heterogeneous_placement_ids": prov("derived", "mixed-size mode (model): k x placement_size "
                                            "for k < mixed_max_instance (natural alignment from offset "
                                            "0), so the list holds exactly as many vGPUs as NVIDIA "
                                            "admits in mixed-size mode; the firmware is given this "
                                            "list and the maximum follows from it; empty on GPUs "
                                            "without mixed-size mode"),
        "mixed_max_instance": prov("derived", "mixed-size mode, where no published figure is given "
                                   "inline: every multiple of placement_size that fits (natural "
                                   "alignment), at most 32 (the wire arrays of 550/570 hold 32); "
                                   "0 on GPUs without mixed-size mode"),
    }
    if "display_src" in g:
        for k in ("heads", "max_resolution", "frl"):
            tp[k] = prov("source", g["display_src"] + " (Display Count, Max Resolution, Max FPS)")
    else:
        for k in ("heads", "max_resolution", "frl"):
            tp[k] = prov("derived", "series convention of the Ampere rows of " + VGPUCONFIG_3P +
                         " (Q: 4 heads, 7680x4320, 1Q 5120x2880, 60 fps; B: 4, 5120x2880, 45; A: 1, "
                         "1280x1024, 60; C: 1, 3840x2400 (given inline), 60)")
    if g.get("ids_prov"):
        tp["type_id"] = prov(*g["ids_prov"])
    else:
        tp["type_id"] = prov("derived", "nvvgpu-assigned id %d.. (NVIDIA's ids for this GPU are not in "
                             "any source available here); the manager uploads its own table, so the "
                             "ids only need to be unique per GPU" % g["private_base"])
    out["type_provenance"] = tp
    notes = []
    if g.get("ladder_note"):
        notes.append("type sizes follow " + g["ladder_note"])
    if g.get("only_q_note"):
        notes.append(g["only_q_note"])
    if g["id"] == "t4":
        notes.append("the 1B4/2B4 variants of the source table are left out")
    if notes:
        out["comment"] = "; ".join(notes)

    types = []
    private = g.get("private_base")
    seq = 0
    for letter, gib, tid in g["types"]:
        if "unit_multiples" in g:
            p = g["unit_multiples"][gib]
        else:
            p = gib // g.get("unit_gib", 1)
            assert p * g.get("unit_gib", 1) == gib, (g["id"], gib)
        cls, heads, res, frl, cuda = series_display(letter, gib)
        profile = gib * GIB
        maxi = min(units // p, num_vfs, MAX_VGPU_NON_MIG)
        fb_res = type_reservation(g["arch"], gib, maxi)
        fb_len = align_down(p * unit - align_up(fb_res, seg), seg)
        assert fb_len >= seg, (g["id"], letter, gib)
        homog = [k * p for k in range(maxi)]
        mixed_max = 0
        mixed_val = None
        if g["mixed"]:
            mixed_max = min(units // p, WIRE_PLACEMENTS)
            pub = MIXED_PUBLISHED.get(g["id"], {})
            like = MIXED_LIKE.get(g["id"])
            if gib in pub:
                mixed_max = pub[gib]
                mixed_val = val(mixed_max, "unverified", MIXED_ISSUE7)
            elif like and gib in MIXED_PUBLISHED[like]:
                mixed_max = MIXED_PUBLISHED[like][gib]
                mixed_val = val(mixed_max, "derived", "taken from the %s (same FB), whose figure is "
                                "%s; no mixed-size table for this GPU was available"
                                % (like, MIXED_ISSUE7))
            assert mixed_max <= maxi, (g["id"], gib)
        heterog = [k * p for k in range(mixed_max)]
        t = {}
        if tid is None:
            t["type_id"] = private + seq
            seq += 1
        else:
            t["type_id"] = tid
        if tid is None and g.get("ids_prov"):
            t["type_id"] = val(private + seq - 1, "derived",
                               "nvvgpu-assigned id (NVIDIA's id for this type is not in any source "
                               "available here)")
        t.update({
            "name": "%s-%d%s" % (g["type_prefix"], gib, letter),
            "series": letter, "class": cls, "profile_mib": profile,
            "fb_length_mib": fb_len, "gsp_heap_mib": PLUGIN_HEAP_MIB, "fb_reservation_mib": fb_res,
            "max_instance": maxi,
            "mixed_max_instance": mixed_val if mixed_val else mixed_max,
            "heads": heads,
            "max_resolution": ("%dx%d" % res if letter != "C" else
                               val("%dx%d" % res, "source", C_RESOLUTION_SRC)),
            "frl": frl,
            "cuda": cuda, "ecc_supported": True, "placement_size": p,
            "homogeneous_placement_ids": homog, "heterogeneous_placement_ids": heterog,
        })
        types.append(t)
    out["types"] = types
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for g in GPUS:
        doc = build(g)
        path = os.path.join(here, g["id"] + ".json")
        text = json.dumps(doc, indent=1)
        # keep number lists on one line
        text = re.sub(r"\[\s*([0-9,\s]*?)\s*\]",
                      lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",") if x.strip()) + "]",
                      text)
        with open(path, "w") as f:
            f.write(text + "\n")
        print("wrote", path)


if __name__ == "__main__":
    main()
