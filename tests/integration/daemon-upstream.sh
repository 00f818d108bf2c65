#!/bin/sh
# nvvgpud on a simulated GPU that offers the upstream fwctl vGPU-management interface
# (nvvgpu-sim --gpus RTX-PRO-6000@upstream): the same nvvgpuctl create/list/destroy as on any
# GPU, mapped onto assign/deassign; a VF whose VFIO device is open (nvvgpu-sim vfio open)
# cannot be destroyed (EBUSY, the vGPU stays), and after the close it can; a restarted daemon
# adopts what the firmware holds. What the daemon
# says is compared with what the simulated firmware holds (nvvgpu-sim status).
set -u
build=${NVV_TOP_BUILDDIR:?run through make check}
PATH="$build:$PATH"
export PATH
dir=$(mktemp -d /tmp/nvv-upstream-XXXXXX)
spid=
dpid=
cleanup() {
        for p in $dpid $spid; do kill "$p" 2>/dev/null; done
        wait 2>/dev/null
        rm -rf "$dir"
}
trap cleanup EXIT
fail() {
        echo "FAIL: $*"
        echo "--- daemon log"; tail -20 "$dir/d.log"
        echo "--- simulator log"; tail -20 "$dir/sim.log"
        exit 1
}
wait_sock() { # SOCKET PID
        i=0
        while ! [ -S "$1" ]; do
                kill -0 "$2" 2>/dev/null || return 1
                i=$((i + 1)); [ $i -gt 400 ] && return 1
                sleep 0.02
        done
}
# The VF's assigned type in the firmware (0: none), from the simulator's status.
fw_type() { # VF-INDEX
        nvvgpu-sim status --socket "$dir/s.sock" 0 >"$dir/st" 2>&1 || fail "status: $(cat "$dir/st")"
        awk -v want="$1" '/"vf_index"/ {i=$2+0} /"type_id"/ && i == want {gsub(/[ ,]/, "", $2); print $2+0; exit}' \
                FS=: "$dir/st"
}

nvvgpu-sim --gpus 'RTX-PRO-6000@upstream' --socket "$dir/s.sock" >"$dir/sim.log" 2>&1 &
spid=$!
wait_sock "$dir/s.sock" $spid || { cat "$dir/sim.log"; exit 1; }
NVVGPU_SOCKET="$dir/d.sock"
export NVVGPU_SOCKET
nvvgpud --backend "sim:$dir/s.sock" --socket "$dir/d.sock" --state-dir "$dir/state" --mdevctl-dir "$dir/mdevctl.d" \
        --libvirt "" 2>>"$dir/d.log" &
dpid=$!
wait_sock "$dir/d.sock" $dpid || fail "nvvgpud did not start"

u1=5a1c0de5-0000-4000-8000-0000000000a1
u2=5a1c0de5-0000-4000-8000-0000000000a2
out=$(nvvgpuctl create --type RTX-PRO-6000-12Q --uuid $u1 --json 2>&1) || fail "create: $out"
echo "$out" | grep -q "\"uuid\": *\"$u1\"" || fail "create's JSON names no $u1: $out"
out=$(nvvgpuctl create --type RTX-PRO-6000-12Q --uuid $u2 2>&1) || fail "create 2: $out"
[ "$(fw_type 0)" -gt 0 ] || fail "the firmware has no type on VF 0 after a create: $(cat "$dir/st")"
[ "$(fw_type 1)" -gt 0 ] || fail "the firmware has no type on VF 1 after a second create"
nvvgpuctl list >"$dir/list" 2>&1 || fail "list: $(cat "$dir/list")"
grep -q "$u1" "$dir/list" && grep -q "$u2" "$dir/list" || fail "list lacks a vGPU: $(cat "$dir/list")"
nvvgpuctl list --json | grep -q "RTX-PRO-6000-12Q" || fail "list --json names no type"

# The VM opens VF 0 (0000:41:00.4): destroy is refused and nothing changes.
nvvgpu-sim vfio --socket "$dir/s.sock" open 0000:41:00.4 || fail "vfio open"
if out=$(nvvgpuctl destroy $u1 2>&1); then fail "destroy of an open VF's vGPU succeeded"; fi
echo "$out" | grep -qi "busy\|in use" || fail "destroy's refusal does not say the VF is in use: $out"
nvvgpuctl list | grep -q "$u1" || fail "the refused destroy lost $u1 from the list"
[ "$(fw_type 0)" -gt 0 ] || fail "the refused destroy deassigned VF 0 in the firmware"
nvvgpu-sim vfio --socket "$dir/s.sock" close 0000:41:00.4 || fail "vfio close"
out=$(nvvgpuctl destroy $u1 2>&1) || fail "destroy after close: $out"
[ "$(fw_type 0)" = 0 ] || fail "VF 0 still holds a type after the destroy"
nvvgpuctl list | grep -q "$u1" && fail "$u1 still listed after its destroy"
# A restarted daemon adopts what the firmware holds: $u2 on VF 1 (query_assigned).
kill $dpid; wait $dpid 2>/dev/null; rm -f "$dir/d.sock"
nvvgpud --backend "sim:$dir/s.sock" --socket "$dir/d.sock" --state-dir "$dir/state" --mdevctl-dir "$dir/mdevctl.d" \
        --libvirt "" 2>>"$dir/d.log" &
dpid=$!
wait_sock "$dir/d.sock" $dpid || fail "nvvgpud did not restart"
nvvgpuctl list | grep -q "$u2" || fail "the restarted daemon does not list $u2: $(nvvgpuctl list 2>&1)"
grep -q "adopted 1 vGPU" "$dir/d.log" || fail "the restarted daemon did not adopt $u2"
out=$(nvvgpuctl destroy $u2 2>&1) || fail "destroy 2: $out"
[ "$(fw_type 1)" = 0 ] || fail "VF 1 still holds a type after the destroy"
# A VFIO open of a VF with no type fails as the variant driver's would.
if nvvgpu-sim vfio --socket "$dir/s.sock" open 0000:41:00.4 2>/dev/null; then fail "opened a VF with no type"; fi
echo PASS
