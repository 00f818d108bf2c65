#!/bin/bash
# nvvgpud as the manager behind the simulated sysfs (doc/kernel-interface.md §3): it registers
# each GPU's types, and answers the create / remove writes of real clients — Debian's mdevctl
# and a shell, in a mount namespace with nvvgpu-sim's FUSE tree bound over /sys — by making and
# deleting vGPUs itself. Each vGPU so made is in `nvvgpuctl list`, recorded in the state (it
# survives a daemon restart), and on the event stream; `nvvgpuctl create` shows in sysfs; a
# running vGPU cannot be removed; 32 concurrent creates never over-commit; the daemon killed
# with writes in flight leaves each write failed or done, and the state agreeing with the
# firmware after restart; types go when nvvgpud stops.
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

dir=$(mktemp -d /tmp/nvv-dsysfs-XXXXXX)
spid=
dpid=
cleanup() {
        [ -n "$dpid" ] && kill "$dpid" 2>/dev/null
        [ -n "$spid" ] && kill "$spid" 2>/dev/null
        wait 2>/dev/null
        umount -l "$dir/sys" 2>/dev/null
        rm -rf "$dir"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

mkdir -p "$dir/sys" "$dir/etc/scripts.d/callouts" "$dir/etc/scripts.d/notifiers"
S="$dir/s.sock"
PF=0000:41:00.0
T8=1152                         # NVIDIA L40S-8Q, 6 per GPU (NVIDIA's table: 48 GB / 8 GB)
T24=1155                        # NVIDIA L40S-24Q
U1=11111111-2222-4333-8444-55555555d001
U2=11111111-2222-4333-8444-55555555d002
U3=11111111-2222-4333-8444-55555555d003
TYPES="$dir/sys/devices/pci0000:41/$PF/mdev_supported_types"
NVVGPU_SOCKET="$dir/d.sock"
export NVVGPU_SOCKET

ns() {
        unshare -m bash -c 'mount --bind "$1/sys" /sys && mount --bind "$1/etc" /etc/mdevctl.d && eval "$2"' \
                sh "$dir" "$1" 2>&1
}
nvgpus() { nvvgpu-sim status --socket "$S" "$1" | grep -c '"vgpu_id"'; }
start_daemon() {
        rm -f "$dir/d.sock"
        nvvgpud --backend "sim:$S" --socket "$dir/d.sock" --state-dir "$dir/state" --mdevctl-dir "$dir/etc" --sysfs-root "$dir/sys" --libvirt "" \
                2>>"$dir/d.log" &
        dpid=$!
        i=0
        while [ ! -S "$dir/d.sock" ]; do
                kill -0 "$dpid" 2>/dev/null || { cat "$dir/d.log"; echo "FAIL: nvvgpud did not start"; exit 1; }
                i=$((i + 1)); [ $i -gt 400 ] && { echo "FAIL: nvvgpud did not get ready"; exit 1; }
                sleep 0.02
        done
}

nvvgpu-sim --gpus 'L40S@595.45.04*2,L40S@595.45.04:vf' --socket "$S" --sysfs-mount "$dir/sys" >"$dir/sim.log" 2>&1 &
spid=$!
i=0
while [ ! -S "$S" ] || [ ! -d "$dir/sys/bus" ]; do
        kill -0 "$spid" 2>/dev/null || { cat "$dir/sim.log"; echo "FAIL: nvvgpu-sim did not start"; exit 1; }
        i=$((i + 1)); [ $i -gt 200 ] && { echo "FAIL: nvvgpu-sim did not mount its sysfs"; exit 1; }
        sleep 0.05
done
[ -e "$TYPES" ] && fail "types registered before any manager"
out=$(ns "echo $U1 > /sys/class/mdev_bus/$PF/mdev_supported_types/nvidia-$T8/create")
case $out in *"No such file"*|*"No such device"*) ok "no manager: no parent to write to" ;; *) fail "no manager: $out" ;; esac

start_daemon
grep -q "GPU $PF: .* types registered in sysfs" "$dir/d.log" && ok "nvvgpud registered the types" ||
        fail "no registration in the log: $(cat "$dir/d.log")"
[ "$(cat "$TYPES/nvidia-$T8/name")" = "NVIDIA L40S-8Q" ] && ok "type name as NVIDIA's driver writes it" ||
        fail "name: $(cat "$TYPES/nvidia-$T8/name" 2>&1)"
[ "$(cat "$TYPES/nvidia-$T8/available_instances")" = 6 ] || fail "available_instances $(cat "$TYPES/nvidia-$T8/available_instances")"

# mdevctl types and start through nvvgpud
out=$(ns "mdevctl types -p $PF")
echo "$out" | grep -q "nvidia-$T8" && echo "$out" | grep -q "Available instances: 6" && ok "mdevctl types" ||
        fail "mdevctl types: $out"
nvvgpuctl events --json --count 2 >"$dir/ev" 2>&1 &
evpid=$!
until nvvgpuctl status --json | grep -q 'subscribers.: 1'; do sleep 0.05; done
out=$(ns "mdevctl start -p $PF -t nvidia-$T8 -u $U1")
[ $? = 0 ] || fail "mdevctl start: $out"
nvvgpuctl list | grep -q "^$U1  L40S-8Q  *$PF" && ok "mdevctl start: the vGPU is nvvgpud's" || fail "not in nvvgpuctl list: $(nvvgpuctl list)"
[ "$(nvgpus 0)" = 1 ] || fail "the firmware holds $(nvgpus 0) vGPUs"
out=$(ns "mdevctl list")
echo "$out" | grep -q "^$U1 $PF nvidia-$T8" && ok "mdevctl list" || fail "mdevctl list: $out"
[ "$(cat "$TYPES/nvidia-$T8/available_instances")" = 5 ] || fail "available after one: $(cat "$TYPES/nvidia-$T8/available_instances")"

# mdevctl's own persistent devices: define, start -u, stop, undefine; nvvgpud shares its files
U7=11111111-2222-4333-8444-55555555d007
ns "mdevctl define -p $PF -t nvidia-$T8 -u $U7" >"$dir/o" || fail "mdevctl define: $(cat "$dir/o")"
nvvgpuctl list --defined | grep -q "^$U7 .*L40S-8Q .*$PF" && ok "mdevctl define: in nvvgpuctl list --defined" ||
        fail "not in list --defined: $(nvvgpuctl list --defined)"
ns "mdevctl start -u $U7" >"$dir/o" || fail "mdevctl start -u: $(cat "$dir/o")"
nvvgpuctl list | grep -q "^$U7 " && ok "mdevctl start -u: made by nvvgpud" || fail "start -u not in list"
ns "mdevctl stop -u $U7" >"$dir/o" || fail "mdevctl stop: $(cat "$dir/o")"
ns "mdevctl undefine -u $U7" >"$dir/o" || fail "mdevctl undefine: $(cat "$dir/o")"
nvvgpuctl list --defined | grep -q "^$U7 " && fail "undefined by mdevctl but still defined" || ok "mdevctl stop, undefine"
nvvgpuctl list | grep -q "^$U7 " && fail "stopped by mdevctl but still listed"

# a shell's echo, and what it is refused
ns "echo $U2 > /sys/class/mdev_bus/$PF/mdev_supported_types/nvidia-$T8/create" >"$dir/o" || fail "echo create: $(cat "$dir/o")"
nvvgpuctl list | grep -q "^$U2 " && ok "echo into create" || fail "echo create not in list"
out=$(ns "echo $U3 > /sys/class/mdev_bus/$PF/mdev_supported_types/nvidia-$T24/create")
case $out in *"No space left"*) ok "equal-size mode: another type refused (ENOSPC)" ;; *) fail "24Q beside 8Q: $out" ;; esac
out=$(ns "echo $U2 > /sys/class/mdev_bus/$PF/mdev_supported_types/nvidia-$T8/create")
case $out in *"File exists"*) ok "duplicate EEXIST" ;; *) fail "duplicate: $out" ;; esac
wait $evpid
grep -c '"event":"vgpu-created"' "$dir/ev" | grep -qx 2 && ok "sysfs creates are on the event stream" || fail "events: $(cat "$dir/ev")"

# nvvgpuctl create shows in sysfs; nvvgpuctl destroy takes it away
nvvgpuctl create --type L40S-8Q --gpu $PF --uuid "$U3" >/dev/null || fail "nvvgpuctl create"
[ -e "$dir/sys/bus/mdev/devices/$U3" ] && ok "nvvgpuctl create is in sysfs" || fail "not in sysfs"
nvvgpuctl destroy "$U3" || fail "destroy"
[ -e "$dir/sys/bus/mdev/devices/$U3" ] && fail "destroyed but still in sysfs"

# remove through sysfs, and mdevctl stop
ns "echo 1 > /sys/bus/mdev/devices/$U2/remove" >"$dir/o" || fail "echo remove: $(cat "$dir/o")"
nvvgpuctl list | grep -q "^$U2 " && fail "removed in sysfs but nvvgpud still lists it" || ok "echo 1 > remove"

# restart: what sysfs made is in the state, adopted
kill "$dpid"; wait "$dpid"; dpid=
[ -e "$TYPES" ] && fail "types still registered after nvvgpud stopped" || ok "types unregistered at stop"
start_daemon
nvvgpuctl list | grep -q "^$U1 " && ok "a vGPU made through sysfs survives a daemon restart" || fail "lost across restart"
out=$(ns "mdevctl stop -u $U1")
[ $? = 0 ] || fail "mdevctl stop: $out"
[ "$(nvgpus 0)" = 0 ] && ok "mdevctl stop" || fail "firmware holds $(nvgpus 0) after stop"

# 32 concurrent creates of mixed types on one GPU: never over-committed, each error right
ns "for i in \$(seq 10 41); do t=$T8; [ \$((i % 3)) = 0 ] && t=$T24; (echo 11111111-2222-4333-8444-5555555555\$i > /sys/class/mdev_bus/$PF/mdev_supported_types/nvidia-\$t/create 2>&1 || true) & done; wait" >"$dir/race"
n=$(nvgpus 0)
bad=$(grep -v "No space left" "$dir/race" | grep -c .)
[ "$n" -le 6 ] && [ "$n" -ge 1 ] && [ "$bad" = 0 ] && ok "32 concurrent creates: $n made, the rest ENOSPC" ||
        fail "race: $n made; other errors: $(grep -v 'No space left' "$dir/race")"
[ "$(nvvgpuctl list | grep -c '^11111111')" = "$n" ] || fail "nvvgpud lists $(nvvgpuctl list | grep -c '^11111111'), the firmware holds $n"

# 8 concurrent creates of one UUID (on the second GPU: the first is full): exactly one is made,
# the others are told it exists (writes to different UUIDs go on side by side; those to one
# wait their turn).
ns "for i in 1 2 3 4 5 6 7 8; do g=0000:42:00.0; (echo 11111111-2222-4333-8444-999999999999 > /sys/class/mdev_bus/\$g/mdev_supported_types/nvidia-$T8/create && echo made) 2>&1 & done; wait" >"$dir/same"
made=$(grep -c '^made$' "$dir/same")
exists=$(grep -c 'File exists' "$dir/same")
[ "$made" = 1 ] && [ "$exists" = 7 ] && ok "8 concurrent creates of one UUID: 1 made, 7 EEXIST" ||
        fail "same-UUID race: $made made, $exists EEXIST: $(tr '\n' '|' <"$dir/same")"
[ "$(nvvgpuctl list | grep -c '^11111111-2222-4333-8444-999999999999')" = 1 ] || fail "nvvgpud does not list the raced UUID once"
nvvgpuctl destroy 11111111-2222-4333-8444-999999999999 >/dev/null || fail "destroy of the raced UUID"

# the daemon killed with writes in flight: each write fails or succeeds; afterwards state = firmware
ns "for i in \$(seq 50 65); do (echo 11111111-2222-4333-8444-5555555555\$i > /sys/class/mdev_bus/0000:42:00.0/mdev_supported_types/nvidia-$T8/create 2>&1 && echo made \$i || echo failed \$i) & done; wait" >"$dir/kill" &
wpid=$!
sleep 0.05
kill -9 "$dpid"; wait "$dpid" 2>/dev/null; dpid=
wait $wpid
start_daemon
fw=$(nvgpus 1)
listed=$(nvvgpuctl list --gpu 0000:42:00.0 | grep -c '^11111111')
[ "$fw" = "$listed" ] && ok "killed with writes in flight: after restart nvvgpud and the firmware agree ($fw)" ||
        fail "firmware $fw, nvvgpud $listed; writes: $(tr '\n' ' ' <"$dir/kill")"
for i in $(awk '$1 == "made" {print $2}' "$dir/kill"); do
        nvvgpuctl list | grep -q "^11111111-2222-4333-8444-5555555555$i " || fail "write $i succeeded but the vGPU is gone"
done
grep -qv "^made\|^failed" "$dir/kill" || true

# The VF model: a type id into a VF's nvidia/current_vgpu_type, 0 to free it.
VPF=0000:43:00.0
v=/sys/bus/pci/devices
VF0=0000:43:00.4
VF1=0000:43:00.5
out=$(ns "cat $v/$VF0/nvidia/creatable_vgpu_types")
echo "$out" | grep -q "^$T8 *: NVIDIA L40S-8Q" && ok "a VF lists the registered types" || fail "creatable_vgpu_types: $out"
ns "echo $T8 > $v/$VF0/nvidia/current_vgpu_type" >"$dir/o" || fail "current_vgpu_type: $(cat "$dir/o")"
nvvgpuctl list --gpu $VPF | grep -q "^$VF0  *L40S-8Q" && ok "echo ID > current_vgpu_type: nvvgpud's vGPU, named by its VF" ||
        fail "VF vGPU not listed: $(nvvgpuctl list --gpu $VPF)"
nvvgpuctl list --json --gpu $VPF | grep -q "\"vf\": \"$VF0\"" || fail "no vf key in the JSON"
[ "$(ns "cat $v/$VF0/nvidia/current_vgpu_type")" = "$T8" ] || fail "current_vgpu_type reads $(ns "cat $v/$VF0/nvidia/current_vgpu_type")"
out=$(ns "echo $T24 > $v/$VF1/nvidia/current_vgpu_type")
case $out in *"Invalid argument"*) ok "VF: a type the equal-size mode refuses is EINVAL" ;; *) fail "VF 24Q beside 8Q: $out" ;; esac

# The libvirt hook with VF hostdevs (a domain passing a VF through by PCI address, as
# nvvgpu-hook(8) says): a VF holding a vGPU is started for the domain at prepare and stopped,
# not removed, at release; a VF of a managed GPU without a vGPU, and the GPU itself, are
# refused with the hook's line; another device is left alone. The hook reads real /sys (the
# simulator's tree here) only when nvvgpud is not running.
vfdom() { # NAME BUS SLOT FUNCTION ...: a domain XML passing those PCI functions through
        n=$1; shift
        printf "<domain type='qemu' id='7'><name>%s</name><uuid>c7a5fdbd-cdaf-9455-926a-d65c16db18%02d</uuid><devices>" "$n" $#
        while [ $# -ge 3 ]; do
                printf "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='%s' slot='%s' function='%s'/></source></hostdev>" "$1" "$2" "$3"
                shift 3
        done
        printf "</devices></domain>\n"
}
vfdom vfvm 0x43 0x00 0x4 0x05 0x00 0x1 >"$dir/vf.xml"
nvvgpu-hook vfvm prepare begin - <"$dir/vf.xml" >"$dir/o" 2>&1 || fail "prepare with VF $VF0 (and a NIC): $(cat "$dir/o")"
nvvgpuctl list --vm vfvm | grep -q "^$VF0 .*running" && ok "hook prepare: the VF hostdev's vGPU runs for the domain" ||
        fail "VF vGPU not running for vfvm: $(nvvgpuctl list)"
nvvgpu-sim status --socket "$S" 2 | grep -A7 "\"name\": \"$VF0\"" | grep -q '"task": "running"' ||
        fail "the firmware's plugin task for $VF0 is not running"
vfdom other 0x43 0x00 0x4 >"$dir/vf-other.xml"
out=$(nvvgpu-hook other prepare begin - <"$dir/vf-other.xml" 2>&1) && fail "a second domain took VF $VF0: $out"
[ "$out" = "nvvgpu: VM other: its VF $VF0 is in use by VM vfvm" ] && ok "a VF running for one domain is refused to another" ||
        fail "VF in use: '$out'"
nvvgpu-hook vfvm release end destroyed </dev/null >"$dir/o" 2>&1 || fail "release vfvm: $(cat "$dir/o")"
nvvgpuctl list --gpu $VPF | grep "^$VF0 " | grep -qv running && ok "hook release: the VF's vGPU stopped, kept (not made on demand)" ||
        fail "after release: $(nvvgpuctl list --gpu $VPF)"
vfdom nov 0x43 0x00 0x5 >"$dir/vf-none.xml"
out=$(nvvgpu-hook nov prepare begin - <"$dir/vf-none.xml" 2>&1) && fail "a VF without a vGPU was accepted"
[ "$out" = "nvvgpu: VM nov: its PCI hostdev $VF1 is a VF of GPU $VPF that holds no vGPU; give it a type first (nvidia/current_vgpu_type)" ] &&
        ok "a VF without a vGPU is refused with the hook's line" || fail "VF without type: '$out'"
vfdom pf 0x43 0x00 0x0 >"$dir/vf-pf.xml"
out=$(nvvgpu-hook pf prepare begin - <"$dir/vf-pf.xml" 2>&1) && fail "the managed GPU itself was accepted as a hostdev"
case $out in *"its PCI hostdev $VPF is GPU $VPF, which nvvgpud manages for vGPUs"*) ok "the managed GPU itself is refused as a hostdev" ;;
*) fail "PF hostdev: '$out'" ;; esac
vfdom nic 0x05 0x00 0x1 >"$dir/vf-nic.xml"
nvvgpu-hook nic prepare begin - <"$dir/vf-nic.xml" >"$dir/o" 2>&1 && ok "a domain passing another PCI device through starts untouched" ||
        fail "NIC hostdev: $(cat "$dir/o")"
# nvvgpud not running (no socket here): the hook reads /sys, the simulator's tree in this namespace.
out=$(ns "NVVGPU_SOCKET=$dir/none.sock nvvgpu-hook vfvm prepare begin - <$dir/vf.xml" 2>&1) && fail "VF domain started without nvvgpud"
case $out in "nvvgpu: VM vfvm asks for vGPUs (NVIDIA VF $VF0), but nvvgpud is not running (no socket '$dir/none.sock');"*)
        ok "nvvgpud not running: a domain passing an NVIDIA VF through is refused" ;;
*) fail "VF without nvvgpud: '$out'" ;; esac
ns "NVVGPU_SOCKET=$dir/none.sock nvvgpu-hook nic prepare begin - <$dir/vf-nic.xml" >"$dir/o" 2>&1 &&
        ok "nvvgpud not running: a domain passing another device through starts" || fail "NIC without nvvgpud: $(cat "$dir/o")"
kill "$dpid"; wait "$dpid"; dpid=
start_daemon
nvvgpuctl list --gpu $VPF | grep -q "^$VF0 " && ok "a VF's vGPU survives a daemon restart" || fail "VF vGPU lost across restart"
ns "echo 0 > $v/$VF0/nvidia/current_vgpu_type" >"$dir/o" || fail "echo 0: $(cat "$dir/o")"
nvvgpuctl list --gpu $VPF | grep -q "^$VF0 " && fail "VF cleared but still listed" || ok "echo 0 > current_vgpu_type frees it"
[ "$(nvgpus 2)" = 0 ] || fail "the firmware holds $(nvgpus 2) on the VF GPU"

# The state lost (a damaged file, kept aside): GPUs whose firmware holds vGPUs nobody recorded
# cannot be brought up; those vGPUs are reported, and removing them in sysfs frees the GPU.
kill "$dpid"; wait "$dpid"; dpid=
echo '{"format": "nvvgpu-state", "ver' >"$dir/state/state.json"
start_daemon
grep -q "kept aside\|corrupt" "$dir/d.log" || fail "the damaged state file is not reported"
grep -q "is in $dir/sys/bus/mdev/devices but not nvvgpud's" "$dir/d.log" && ok "unrecorded vGPUs are reported" ||
        fail "unrecorded vGPUs not reported"
nvvgpuctl gpus | grep -q "^$PF .* failed" || fail "GPU $PF: $(nvvgpuctl gpus | grep "^$PF")"
for u in $(ls "$dir/sys/bus/mdev/devices"); do
        ns "echo 1 > /sys/bus/mdev/devices/$u/remove" >"$dir/o" || fail "remove of unrecorded $u: $(cat "$dir/o")"
done
[ "$(nvgpus 0)" = 0 ] && [ "$(nvgpus 1)" = 0 ] || fail "the firmware still holds vGPUs: $(nvgpus 0) $(nvgpus 1)"
nvvgpuctl gpus | grep -c " ready " | grep -qx 3 && ok "removing them in sysfs brings the GPUs up again" ||
        fail "after removal: $(nvvgpuctl gpus)"

# A GPU that goes and comes back: its vGPUs lost meanwhile, records kept, made again when it is
# back, with its autostart definitions; its types registered again.
U5=11111111-2222-4333-8444-55555555d005
U6=11111111-2222-4333-8444-55555555d006
nvvgpuctl create --type L40S-8Q --gpu 0000:42:00.0 --uuid "$U5" >/dev/null || fail "create on 42:00.0"
nvvgpuctl define --type L40S-8Q --gpu 0000:42:00.0 --uuid "$U6" >/dev/null || fail "define on 42:00.0"
nvvgpuctl stop "$U6" 2>/dev/null
nvvgpuctl events --json --count 2 >"$dir/hp" 2>&1 &
evpid=$!
until nvvgpuctl status --json | grep -q 'subscribers.: 1'; do sleep 0.05; done
nvvgpu-sim inject --socket "$S" unplug@1 || fail "unplug"
for _ in $(seq 100); do nvvgpuctl gpus | grep -q "^0000:42:00.0 .* lost" && break; sleep 0.05; done
nvvgpuctl gpus | grep -q "^0000:42:00.0 .* lost" && ok "an unplugged GPU is lost" || fail "after unplug: $(nvvgpuctl gpus)"
nvvgpuctl list --gpu 0000:42:00.0 | grep -q "^$U5 .* lost" || fail "its vGPU is not lost: $(nvvgpuctl list --gpu 0000:42:00.0)"
out=$(nvvgpuctl create --type L40S-8Q --gpu 0000:42:00.0 2>&1)
case $out in *"not ready"*|*"lost"*|*"is lost"*) ok "no create on an unplugged GPU" ;; *) fail "create on an unplugged GPU: $out" ;; esac
nvvgpu-sim inject --socket "$S" plug@1 || fail "plug"
for _ in $(seq 100); do nvvgpuctl gpus | grep -q "^0000:42:00.0 .* ready" && break; sleep 0.05; done
nvvgpuctl gpus | grep -q "^0000:42:00.0 .* ready" && ok "plugged back: ready again" || fail "after plug: $(nvvgpuctl gpus)"
# The GPU is ready once brought up; its recorded vGPUs and then its autostart definitions are
# made right after, so they are waited for.
for _ in $(seq 100); do nvvgpuctl list --gpu 0000:42:00.0 | grep -q "^$U6 " && break; sleep 0.05; done
nvvgpuctl list --gpu 0000:42:00.0 | grep -q "^$U5 .* created" && ok "its recorded vGPU is made again" || fail "not made again"
nvvgpuctl list --gpu 0000:42:00.0 | grep -q "^$U6 " && ok "its autostart definition is started" || fail "definition not started"
[ "$(nvgpus 1)" = 2 ] || fail "the firmware holds $(nvgpus 1) on the plugged GPU"
[ -e "$dir/sys/class/mdev_bus/0000:42:00.0/mdev_supported_types/nvidia-$T8" ] && ok "its types registered again" ||
        fail "types not registered after plug"
wait $evpid
grep -q '"event":"gpu-removed"' "$dir/hp" && grep -q '"event":"gpu-added"' "$dir/hp" || fail "events: $(cat "$dir/hp")"

kill "$dpid"; wait "$dpid"; dpid=
echo "daemon-sysfs: $fails failed"
[ $fails = 0 ] || { echo "--- nvvgpud's log"; cat "$dir/d.log"; exit 1; }
