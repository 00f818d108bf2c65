#!/bin/sh
# What nvvgpu does today, on the embedded simulator and the data it ships: the firmware
# releases it speaks, simulated GPUs behind a real GSP message queue, discovery on a real
# H200 host's capture, a what-if placement plan, and the firmware dissector.
set -eu
build=${1:?build directory}
top=$(cd "$(dirname "$0")/.." && pwd)
export NVVGPU_FWABI_DIR="$top/data/fwabi" NVVGPU_GPUS_DIR="$top/data/gpus"
PATH="$build:$PATH"
tmp=$(mktemp -d)
sock="$tmp/sim.sock"
sim=
cleanup() { [ -n "$sim" ] && kill "$sim" 2>/dev/null && wait "$sim" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step nvvgpuctl fw releases
nvvgpuctl fw releases

step "nvvgpu-sim --gpus 'L40S@570.144*2,H200@580.159.04,A10@535.113.01' --socket $sock &"
nvvgpu-sim --gpus 'L40S@570.144*2,H200@580.159.04,A10@535.113.01' --socket "$sock" &
sim=$!
i=0; while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done

step "nvvgpuctl fw probe --backend sim:$sock   # each GPU's release, the description serving it, a measured round trip"
nvvgpuctl fw probe --backend "sim:$sock"

step "nvvgpu-sim inject --socket $sock 'delay:get_features:9000@1'   # make GPU 1's firmware slow"
nvvgpu-sim inject --socket "$sock" 'delay:get_features:9000@1'
step "nvvgpuctl fw probe --backend sim:$sock   # the slow GPU is reported, naming the command and the GPU"
nvvgpuctl fw probe --backend "sim:$sock" || true

step "nvvgpuctl host scan --sysfs-root $top/tests/fixtures/h200-passthrough   # a real H200 host, passed through"
nvvgpuctl host scan --sysfs-root "$top/tests/fixtures/h200-passthrough" || true

step "nvvgpuctl plan --host 'L40S*2' --request 'L40S-24Q*2,L40S-48Q'   # both 24Qs must share a GPU"
nvvgpuctl plan --host 'L40S*2' --request 'L40S-24Q*2,L40S-48Q' || true

step "nvvgpuctl fw decode 535.113.01 <capture>   # a 317 KB type upload split into continuation records"
nvvgpuctl fw decode 535.113.01 "$top/tests/golden/input/535.113.01-add_vgpu_types.bin" | head -30

step "nvvgpuctl fw layout 585.12.01 NVA081_CTRL_VGPU_INFO   # unknown releases are refused, never guessed"
nvvgpuctl fw layout 585.12.01 NVA081_CTRL_VGPU_INFO || true
