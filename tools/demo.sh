#!/bin/sh
# What nvvgpu does today, on the embedded data: the firmware releases it speaks, how their
# layouts differ, what the H200 host in shared/fixtures runs, and the dissector at work.
set -eu
build=${1:?build directory}
top=$(cd "$(dirname "$0")/.." && pwd)
export NVVGPU_FWABI_DIR="$top/data/fwabi"
ctl="$build/nvvgpuctl"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step nvvgpuctl fw releases
"$ctl" fw releases
step "nvvgpuctl fw layout 535.113.01 rpc_gsp_rm_control_v03_00   # 24-byte control header..."
"$ctl" fw layout 535.113.01 rpc_gsp_rm_control_v03_00
step "nvvgpuctl fw layout 580.159.04 rpc_gsp_rm_control_v03_00   # ...40 bytes from 575 on (a real H200 runs 580.159.04)"
"$ctl" fw layout 580.159.04 rpc_gsp_rm_control_v03_00
step "nvvgpuctl fw decode 535.113.01 <capture>   # a 317 KB type upload split into continuation records"
"$ctl" fw decode 535.113.01 "$top/tests/golden/input/535.113.01-add_vgpu_types.bin"
step "nvvgpuctl fw layout 575.51.02 NVA081_CTRL_VGPU_INFO   # unknown releases are refused, never guessed"
"$ctl" fw layout 575.51.02 NVA081_CTRL_VGPU_INFO || true
