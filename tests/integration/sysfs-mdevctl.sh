#!/bin/bash
# The simulated sysfs (nvvgpu-sim --sysfs-mount) against real clients: Debian's mdevctl and a
# shell, each in a mount namespace with the FUSE tree bound over /sys and a temporary
# directory over /etc/mdevctl.d. A small manager (tests/sysfs-manager) answers the forwarded
# writes by creating and deleting through the firmware. Every result is checked against the
# firmware's own state (nvvgpu-sim status), and the errors a user sees are checked by their
# text: EINVAL, EEXIST, ENOSPC, EBUSY, ENODEV, ETIMEDOUT (and a late answer undone).
set -u
build=${NVV_TOP_BUILDDIR:?run through make check}
PATH="$build:$build/tests:$PATH"
export PATH

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (a FUSE mount bound over /sys in a mount namespace)"
command -v mdevctl >/dev/null || skip "mdevctl is not installed (Debian package mdevctl; tools/setup.sh installs it)"
command -v unshare >/dev/null || skip "unshare (util-linux) is missing"
[ -c /dev/fuse ] || skip "/dev/fuse is missing"
unshare -m true 2>/dev/null || skip "cannot make a mount namespace here (unshare -m)"

dir=$(mktemp -d /tmp/nvv-sysfs-XXXXXX)
spid=
mpid=
cleanup() {
        [ -n "$mpid" ] && kill "$mpid" 2>/dev/null
        [ -n "$spid" ] && kill "$spid" 2>/dev/null
        wait 2>/dev/null
        umount -l "$dir/sys" 2>/dev/null
        rm -rf "$dir"
}
trap cleanup EXIT
fails=0
fail() {
        echo "FAIL: $*"
        fails=$((fails + 1))
}
ok() { echo "ok: $*"; }

mkdir -p "$dir/sys" "$dir/etc/scripts.d/callouts" "$dir/etc/scripts.d/notifiers"
S="$dir/s.sock"
PF=0000:41:00.0                 # GPU 0: the mdev model
VPF=0000:42:00.0                # GPU 1: SR-IOV VFs with nvidia/
VF0=0000:42:00.4
VF1=0000:42:00.5
VF2=0000:42:00.6
T8=1152                         # NVIDIA L40S-8Q, 6 per GPU
T24=1155                        # NVIDIA L40S-24Q, 2 per GPU
U1=11111111-2222-4333-8444-555555555501
U2=11111111-2222-4333-8444-555555555502
U3=11111111-2222-4333-8444-555555555503
UR=11111111-2222-4333-8444-5555555555aa  # made by RPC, VM running

# ns COMMAND: run COMMAND (bash) where /sys is the simulated tree.
ns() {
        unshare -m bash -c 'mount --bind "$1/sys" /sys && mount --bind "$1/etc" /etc/mdevctl.d && eval "$2"' \
                sh "$dir" "$1" 2>&1
}
status() { nvvgpu-sim status --socket "$S" "$1"; }
# has_vgpu GPU NAME TYPE: the firmware holds a vGPU of that name and type.
has_vgpu() {
        status "$1" | tr -d ' \n' | grep -q "\"vgpu_id\":[0-9]*,\"name\":\"$2\",\"type_id\":$3,"
}
nvgpus() { status "$1" | grep -c '"vgpu_id"'; }
avail() { cat "$dir/sys/devices/pci0000:41/$PF/mdev_supported_types/nvidia-$1/available_instances"; }

start_manager() { # MODE [ARGS...]
        rm -f "$dir/ready"
        sysfs-manager --socket "$S" --ready "$dir/ready" --mode "$@" >>"$dir/mgr.log" 2>&1 &
        mpid=$!
        i=0
        while [ ! -e "$dir/ready" ]; do
                kill -0 "$mpid" 2>/dev/null || { cat "$dir/mgr.log"; echo "FAIL: the manager did not start"; exit 1; }
                i=$((i + 1)); [ $i -gt 200 ] && { echo "FAIL: the manager did not get ready"; exit 1; }
                sleep 0.05
        done
}
stop_manager() {
        kill "$mpid"; wait "$mpid" 2>/dev/null; mpid=
}

nvvgpu-sim --gpus 'L40S@570.144,L40S@570.144:vf' --socket "$S" --sysfs-mount "$dir/sys" --sysfs-timeout 1500 \
        >"$dir/sim.log" 2>&1 &
spid=$!
i=0
while [ ! -S "$S" ] || [ ! -d "$dir/sys/bus" ]; do
        kill -0 "$spid" 2>/dev/null || { cat "$dir/sim.log"; echo "FAIL: nvvgpu-sim did not start"; exit 1; }
        i=$((i + 1)); [ $i -gt 200 ] && { echo "FAIL: nvvgpu-sim did not mount its sysfs"; exit 1; }
        sleep 0.05
done

# Before any manager: no parent registered, no types.
[ -z "$(ls "$dir/sys/class/mdev_bus")" ] && ok "no mdev parent before the manager registers" ||
        fail "class/mdev_bus is not empty before registration"

start_manager answer --late-ms 2500 --create "0:$T8:$U3" --start "0:$T8:$UR"

# ---- PCI attributes in the kernel's formats (as the captured H200 host shows them) ----
p="$dir/sys/bus/pci/devices/$PF"
[ "$(cat "$p/vendor")" = 0x10de ] && [ "$(cat "$p/class")" = 0x030200 ] && [ "$(cat "$p/device")" = 0x26b9 ] &&
        [ "$(cat "$p/numa_node")" = -1 ] && [ "$(wc -l <"$p/resource")" = 7 ] &&
        grep -qx 'PCI_SLOT_NAME=0000:41:00.0' "$p/uevent" &&
        [ "$(readlink "$p/driver")" = ../../../bus/pci/drivers/nvidia ] && [ -d "$p/iommu_group/devices" ] &&
        ok "PCI attributes and links" || fail "PCI attributes of $PF"
[ "$(cat "$dir/sys/bus/pci/devices/$VPF/sriov_totalvfs")" = 32 ] &&
        [ "$(readlink "$dir/sys/bus/pci/devices/$VPF/virtfn0")" = "../$VF0" ] &&
        [ "$(readlink "$dir/sys/bus/pci/devices/$VF0/physfn")" = "../$VPF" ] &&
        ok "SR-IOV: sriov_totalvfs, virtfnN, physfn" || fail "SR-IOV files of $VPF"

# ---- a vGPU made by RPC appears in sysfs ----
[ "$(readlink -f "$dir/sys/bus/mdev/devices/$U3/mdev_type")" = \
  "$dir/sys/devices/pci0000:41/$PF/mdev_supported_types/nvidia-$T8" ] && has_vgpu 0 "$U3" $T8 &&
        ok "a vGPU created by RPC is bus/mdev/devices/$U3 with its mdev_type" || fail "RPC-created $U3 not in sysfs"

# ---- mdevctl types ----
out=$(ns 'mdevctl types')
echo "$out" | grep -q "nvidia-$T8" && echo "$out" | grep -q 'Name: NVIDIA L40S-8Q' &&
        echo "$out" | grep -q 'Device API: vfio-pci' && echo "$out" | grep -q 'framebuffer=8192M' &&
        echo "$out" | grep -A1 "nvidia-$T8\$" | grep -q 'Available instances: 4' &&
        ok "mdevctl types (8Q: 4 left of 6 with 2 made)" || { fail "mdevctl types"; echo "$out" | head -20; }
[ "$(avail $T24)" = 0 ] && ok "equal-size mode: 24Q not available while 8Q exist" || fail "24Q available: $(avail $T24)"

# ---- mdevctl start / list / stop ----
out=$(ns "mdevctl start -p $PF -t nvidia-$T8 -u $U1") && has_vgpu 0 "$U1" $T8 &&
        ok "mdevctl start -u: the firmware holds $U1" || fail "mdevctl start -u: $out"
gen=$(ns "mdevctl start -p $PF -t nvidia-$T8")
gen=$(echo "$gen" | grep -oE '[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}' | head -1)
[ -n "$gen" ] && has_vgpu 0 "$gen" $T8 && ok "mdevctl start (UUID $gen chosen by mdevctl)" ||
        fail "mdevctl start without -u: '$gen'"
[ "$(avail $T8)" = 2 ] && ok "available_instances 2 after 4 made" || fail "available_instances $(avail $T8)"
out=$(ns 'mdevctl list')
echo "$out" | grep -q "^$U1 $PF nvidia-$T8" && echo "$out" | grep -q "^$gen $PF nvidia-$T8" &&
        ok "mdevctl list" || { fail "mdevctl list"; echo "$out"; }
ns "mdevctl stop -u $U1" >/dev/null && ! has_vgpu 0 "$U1" $T8 && [ ! -e "$dir/sys/bus/mdev/devices/$U1" ] &&
        ok "mdevctl stop: gone from the firmware and sysfs" || fail "mdevctl stop -u $U1"
ns "mdevctl stop -u $gen" >/dev/null

# ---- a plain shell ----
c="/sys/devices/pci0000:41/$PF/mdev_supported_types/nvidia-$T8/create"
out=$(ns "echo $U1 > $c") && has_vgpu 0 "$U1" $T8 && ok "echo UUID > create" || fail "echo UUID > create: $out"
out=$(ns "echo $U1 > $c")
echo "$out" | grep -q 'File exists' && ok "duplicate UUID: EEXIST" || fail "duplicate: $out"
out=$(ns "echo not-a-uuid > $c")
echo "$out" | grep -q 'Invalid argument' && ok "bad UUID: EINVAL" || fail "bad UUID: $out"
n=$(nvgpus 0)
out=$(ns "echo 1 > /sys/bus/mdev/devices/$UR/remove")
echo "$out" | grep -q 'Device or resource busy' && [ "$(nvgpus 0)" = "$n" ] &&
        ok "remove of a vGPU whose VM runs: EBUSY" || fail "remove of a running vGPU: $out"
out=$(ns "echo 1 > /sys/bus/mdev/devices/$U1/remove") && ! has_vgpu 0 "$U1" $T8 &&
        ok "echo 1 > remove" || fail "echo 1 > remove: $out"
# Fill the GPU: 8Q holds 6.
for k in 4 5 6 7; do ns "echo 11111111-2222-4333-8444-55555555560$k > $c" >/dev/null; done
out=$(ns "echo 11111111-2222-4333-8444-555555555699 > $c")
echo "$out" | grep -q 'No space left on device' && [ "$(nvgpus 0)" = 6 ] && [ "$(avail $T8)" = 0 ] &&
        ok "full GPU: ENOSPC (the firmware's refusal), available_instances 0" || fail "full: $out ($(nvgpus 0) vGPUs)"

# ---- the VF model ----
v="/sys/bus/pci/devices"
out=$(ns "cat $v/$VF0/nvidia/creatable_vgpu_types")
echo "$out" | head -1 | grep -q '^ID    : vGPU Name$' && echo "$out" | grep -q "^$T8  : NVIDIA L40S-8Q$" &&
        ok "creatable_vgpu_types lists the types" || { fail "creatable_vgpu_types"; echo "$out" | head -5; }
out=$(ns "echo $T8 > $v/$VF0/nvidia/current_vgpu_type && cat $v/$VF0/nvidia/current_vgpu_type")
[ "$out" = "$T8" ] && has_vgpu 1 "$VF0" $T8 && ok "echo ID > current_vgpu_type" || fail "current_vgpu_type: $out"
[ -z "$(ns "cat $v/$VF0/nvidia/creatable_vgpu_types")" ] && ok "a VF with a type lists nothing" ||
        fail "creatable of a typed VF"
out=$(ns "cat $v/$VF1/nvidia/creatable_vgpu_types | tail -n +2")
[ "$out" = "$T8  : NVIDIA L40S-8Q" ] && ok "equal-size mode: the other VFs list only 8Q" || fail "creatable: $out"
out=$(ns "echo $T24 > $v/$VF1/nvidia/current_vgpu_type")
echo "$out" | grep -q 'Invalid argument' && ok "a type the mode refuses: EINVAL" || fail "mode: $out"
out=$(ns "echo 424242 > $v/$VF1/nvidia/current_vgpu_type")
echo "$out" | grep -q 'No such device' && ok "an unknown type: ENODEV" || fail "unknown type: $out"
out=$(ns "echo $T8 > $v/$VF0/nvidia/current_vgpu_type")
echo "$out" | grep -q 'Device or resource busy' && ok "a VF that has a type: EBUSY" || fail "typed VF: $out"
out=$(ns "echo 0 > $v/$VF0/nvidia/current_vgpu_type && cat $v/$VF0/nvidia/current_vgpu_type")
[ "$out" = 0 ] && [ "$(nvgpus 1)" = 0 ] && ok "echo 0 > current_vgpu_type" || fail "clear: $out"
ns "echo $T24 > $v/$VF0/nvidia/current_vgpu_type; echo $T24 > $v/$VF1/nvidia/current_vgpu_type" >/dev/null
out=$(ns "echo $T24 > $v/$VF2/nvidia/current_vgpu_type")
echo "$out" | grep -q 'No space left on device' && [ "$(nvgpus 1)" = 2 ] &&
        ok "a full GPU on the VF model: ENOSPC" || fail "VF full: $out"

# ---- uevents, as the manager received them ----
grep -q "uevent add /devices/pci0000:41/$PF/$U1 nvidia-$T8" "$dir/mgr.log" &&
        grep -q "uevent remove /devices/pci0000:41/$PF/$U1 nvidia-$T8" "$dir/mgr.log" &&
        grep -q "uevent change /devices/pci0000:41/$PF registered" "$dir/mgr.log" &&
        ok "uevents: add, remove, MDEV_STATE=registered" || fail "uevents"

# ---- a manager that never answers: ETIMEDOUT ----
switch_manager() { # SIGNAL MODE
        kill -"$1" "$mpid"
        i=0
        while ! grep -q "^mode $2" "$dir/mgr.log" && [ $i -lt 100 ]; do sleep 0.02; i=$((i + 1)); done
}
switch_manager USR1 silent
n=$(nvgpus 0)
out=$(ns "echo 1 > /sys/bus/mdev/devices/11111111-2222-4333-8444-555555555605/remove")
echo "$out" | grep -q 'Connection timed out' && [ "$(nvgpus 0)" = "$n" ] &&
        ok "no answer: ETIMEDOUT, nothing changed" || fail "silent manager: $out"

# ---- an answer that comes too late is refused, and the manager undoes ----
switch_manager USR2 late
out=$(ns "echo 0 > $v/$VF1/nvidia/current_vgpu_type")
echo "$out" | grep -q 'Connection timed out' && ok "a manager too slow: ETIMEDOUT" || fail "slow manager: $out"
i=0
while ! grep -q '^undone' "$dir/mgr.log" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
grep -q '^undone' "$dir/mgr.log" && has_vgpu 1 "$VF1" $T24 && [ "$(nvgpus 1)" = 2 ] &&
        ok "a late answer is refused as expired; the manager undid its clear" || fail "late answer: $(tail -3 "$dir/mgr.log")"
stop_manager

# ---- no manager: ENODEV at once ----
out=$(ns "echo 1 > /sys/bus/mdev/devices/$U3/remove")
echo "$out" | grep -q 'No such device' && has_vgpu 0 "$U3" $T8 && ok "no manager: ENODEV" || fail "no manager: $out"

# ---- hot-plug: GPU 0 is surprise-removed, then comes back freshly booted ----
nvvgpu-sim inject --socket "$S" unplug@0 || fail "unplug@0 refused"
out=$(ns "ls /sys/bus/pci/devices; mdevctl list; mdevctl types")
! echo "$out" | grep -q "$PF" && ! echo "$out" | grep -q "$U3" && echo "$out" | grep -q "$VPF" &&
        status 0 | grep -q '"present": false' &&
        ok "unplugged: GPU 0 and its mdevs are gone for mdevctl and ls, GPU 1 stays" || fail "unplugged: $out"
out=$(nvvgpu-sim inject --socket "$S" unplug@0 2>&1)
[ "$out" = "nvvgpu-sim: GPU 0 is unplugged already" ] && ok "a second unplug is refused" || fail "second unplug: $out"
nvvgpu-sim inject --socket "$S" plug@0 || fail "plug@0 refused"
out=$(ns "ls /sys/bus/pci/devices /sys/devices/pci0000:41/$PF; mdevctl list")
echo "$out" | grep -q "$PF" && ! echo "$out" | grep -q mdev_supported_types && ! echo "$out" | grep -q "$U3" &&
        [ "$(nvgpus 0)" = 0 ] && status 0 | grep -q '"present": true' &&
        ok "plugged: GPU 0 is back with no vGPUs and no types until a manager registers" || fail "plugged: $out"

# ---- the simulator stops cleanly, unmounts, and no sanitizer spoke ----
kill "$spid"
wait "$spid"
st=$?
spid=
[ $st = 0 ] && ! grep -q " $dir/sys " /proc/mounts && ok "nvvgpu-sim stopped (status 0) and unmounted its sysfs" ||
        fail "nvvgpu-sim exited with $st or left $dir/sys mounted"
if grep -qE 'Sanitizer|runtime error' "$dir/sim.log" "$dir/mgr.log"; then
        fail "a sanitizer reported"
        grep -hE -A5 'Sanitizer|runtime error' "$dir/sim.log" "$dir/mgr.log" | head -40
fi

if [ $fails -gt 0 ]; then
        echo "--- manager"; tail -20 "$dir/mgr.log"; echo "--- simulator"; tail -20 "$dir/sim.log"
        exit 1
fi
echo "all sysfs checks passed"
