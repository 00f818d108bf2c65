#!/bin/sh
# The main job end to end, on the embedded simulator: nvvgpu-sim stands in for a mixed host
# (two L40S on 570.144, an H200 on 580.159.04 with SR-IOV VFs, and an RTX PRO 6000 Blackwell
# Server Edition on the upstream fwctl interface), nvvgpud manages it, and vGPUs
# are made every way a user makes them: nvvgpuctl, mdevctl, a shell writing into sysfs, a VF's
# current_vgpu_type, and a libvirt domain whose hook makes its vGPU. Then suspend, resume and
# destroy reach the firmware, and a firmware fault shows in the event stream. The sysfs and
# libvirt parts need root (a mount namespace with the simulator's FUSE sysfs over /sys, a
# private libvirtd); without it they are skipped, and the demo says so.
set -eu
build=$(cd "${1:?build directory}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
export NVVGPU_FWABI_DIR="$top/data/fwabi" NVVGPU_GPUS_DIR="$top/data/gpus"
PATH="$build:$PATH:/usr/sbin:/sbin"
export PATH
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
say() { printf '\n\033[1;34m# %s\033[0m\n' "$*"; }

# Root: the rest runs in a private mount namespace, so /sys and libvirt's directories are
# ours to cover and nothing of the host changes.
# NVV_DEMO_NS carries the namespace we left, so that the copy inside can tell it is elsewhere.
if [ "$(id -u)" = 0 ] && [ -z "${NVV_DEMO_NS:-}" ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
        NVV_DEMO_NS=$(readlink /proc/self/ns/mnt) exec unshare -m --propagation private sh "$0" "$@"
fi
root=
# Only in a mount namespace of our own: its mounts must never reach the host's.
if [ -n "${NVV_DEMO_NS:-}" ] && [ -c /dev/fuse ] && [ "$(readlink /proc/self/ns/mnt)" != "$NVV_DEMO_NS" ]; then
        root=1
fi

tmp=$(mktemp -d /tmp/nvvgpu-demo-XXXXXX)
chmod 755 "$tmp"
sock="$tmp/sim.sock"
sim= daemon= evpid=
cleanup() {
        st=$?
        set +e
        trap '' INT TERM
        [ $st = 0 ] || { echo "demo: failed (status $st); nvvgpud's log:"; tail -20 "$tmp/d.log" 2>/dev/null; }
        if [ -f /run/libvirt/libvirtd.pid ] && [ -n "$root" ]; then
                for d in $(virsh list --name 2>/dev/null); do virsh destroy "$d" >/dev/null 2>&1; done
                for f in /run/libvirt/libvirtd.pid /run/libvirt/virtlogd.pid; do
                        [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
                done
                sleep 0.3
        fi
        for p in $evpid $daemon $sim; do kill "$p" 2>/dev/null; done
        wait 2>/dev/null
        [ -n "$root" ] && umount -l "$tmp/sys" 2>/dev/null
        rm -rf "$tmp"
        exit $st
}
trap cleanup EXIT
trap 'exit 1' INT TERM
wait_sock() { i=0; while [ ! -S "$1" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done; [ -S "$1" ]; }

say "1. What nvvgpu speaks: every firmware release it has a description for (data, not code)"
step nvvgpuctl fw releases
nvvgpuctl fw releases
step "nvvgpuctl fw layout 585.12.01 NVA081_CTRL_VGPU_INFO   # a release nobody described is refused, never guessed"
nvvgpuctl fw layout 585.12.01 NVA081_CTRL_VGPU_INFO || true

say "2. A host: two L40S on 570.144, an H200 on 580.159.04 (the release a real H200 host runs; served by the 580 description) with SR-IOV VFs, and an RTX PRO 6000 on the upstream kernel's fwctl vGPU interface"
GPUS='L40S@570.144*2,H200@580.159.04:vf,RTX-PRO-6000@upstream'
if [ -n "$root" ]; then
        mkdir -p "$tmp/sys" "$tmp/mdevctl.d/scripts.d/callouts" "$tmp/mdevctl.d/scripts.d/notifiers"
        step "nvvgpu-sim --gpus '$GPUS' --socket $sock --sysfs-mount $tmp/sys &   # its GSPs, and a sysfs in the kernel's formats"
        nvvgpu-sim --gpus "$GPUS" --socket "$sock" --sysfs-mount "$tmp/sys" >"$tmp/sim.log" 2>&1 &
else
        step "nvvgpu-sim --gpus '$GPUS' --socket $sock &"
        nvvgpu-sim --gpus "$GPUS" --socket "$sock" >"$tmp/sim.log" 2>&1 &
fi
sim=$!
wait_sock "$sock" || { cat "$tmp/sim.log"; exit 1; }
# The sysfs steps run where the simulator's tree is /sys and mdevctl's files are ours, as
# on a host with the core driver; libvirtd and QEMU keep the real /sys.
ns() { unshare -m bash -c 'mount --bind "$1/sys" /sys && mount --bind "$1/mdevctl.d" /etc/mdevctl.d && eval "$2"' sh "$tmp" "$1"; }
if [ -n "$root" ]; then
        i=0; while [ ! -d "$tmp/sys/bus" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
        mkdir -p /etc/mdevctl.d
fi
step "nvvgpuctl fw probe --backend sim:$sock   # each GPU's release over its real shared-memory GSP queue"
nvvgpuctl fw probe --backend "sim:$sock"

# libvirt, when it can run here: private directories, settings that let QEMU (TCG) run as root.
lv=
if [ -n "$root" ] && command -v libvirtd >/dev/null && command -v virsh >/dev/null && command -v qemu-system-x86_64 >/dev/null; then
        getent passwd libvirt-qemu >/dev/null ||
                useradd --system --no-create-home --home-dir /var/lib/libvirt --shell /usr/sbin/nologin libvirt-qemu 2>/dev/null || true
        for m in /etc/libvirt /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt; do
                mkdir -p "$m" && mount -t tmpfs -o mode=0755 tmpfs "$m"
        done
        mkdir -p /etc/libvirt/hooks/qemu.d /etc/libvirt/qemu
        printf 'user = "root"\ngroup = "root"\nsecurity_driver = "none"\ncgroup_controllers = [ ]\n' >/etc/libvirt/qemu.conf
        printf 'unix_sock_group = "root"\nunix_sock_rw_perms = "0700"\nauth_unix_rw = "none"\n' >/etc/libvirt/libvirtd.conf
        : >/etc/libvirt/virtlogd.conf
        # The hook as nvvgpu-hook(8) installs it, told where this demo's nvvgpud listens.
        printf '#!/bin/sh\nNVVGPU_SOCKET=%s exec %s "$@"\n' "$tmp/d.sock" "$build/nvvgpu-hook" >/etc/libvirt/hooks/qemu.d/nvvgpu
        chmod 755 /etc/libvirt/hooks/qemu.d/nvvgpu
        if virtlogd -d -p /run/libvirt/virtlogd.pid && libvirtd -d -p /run/libvirt/libvirtd.pid &&
           wait_sock /run/libvirt/libvirt-sock; then
                lv=1
        fi
fi
export LIBVIRT_DEFAULT_URI=qemu:///system

say "3. nvvgpud: brings each GPU up (types uploaded, mode, scheduler), registers the types in sysfs"
args="--backend sim:$sock --socket $tmp/d.sock --state-dir $tmp/state${NVV_DEMO_DEBUG:+ -v}"
if [ -n "$root" ]; then args="$args --sysfs-root $tmp/sys --mdevctl-dir $tmp/mdevctl.d"; else args="$args --mdevctl-dir ''"; fi
if [ -n "$lv" ]; then args="$args --libvirt qemu:///system"; else args="$args --libvirt ''"; fi
step "nvvgpud $args &"
eval "nvvgpud $args 2>\"\$tmp/d.log\" &"
daemon=$!
wait_sock "$tmp/d.sock" || { cat "$tmp/d.log"; exit 1; }
export NVVGPU_SOCKET="$tmp/d.sock"
nvvgpuctl events >"$tmp/events" 2>&1 &
evpid=$!
step nvvgpuctl status
nvvgpuctl status
step nvvgpuctl gpus
nvvgpuctl gpus
L40S=$(nvvgpuctl gpus | awk '/L40S/ { print $1; exit }')
L40S2=$(nvvgpuctl gpus | awk '/L40S/ { n++ } /L40S/ && n == 2 { print $1; exit }')

say "4. vGPUs, every way a user makes them"
step "nvvgpuctl create --type L40S-8Q --gpu $L40S"
nvvgpuctl create --type L40S-8Q --gpu "$L40S"
if [ -n "$root" ]; then
        S=$tmp/sys
        T8=$(grep -l '^NVIDIA L40S-8Q$' "$S"/class/mdev_bus/"$L40S"/mdev_supported_types/*/name | head -1 | xargs dirname | xargs basename)
        T24=$(grep -l '^NVIDIA L40S-24Q$' "$S"/class/mdev_bus/"$L40S2"/mdev_supported_types/*/name | head -1 | xargs dirname | xargs basename)
        step "ls /sys/class/mdev_bus/   # the GPUs nvvgpud registered as mdev parents"
        ns "ls /sys/class/mdev_bus/"
        if command -v mdevctl >/dev/null; then
                step "mdevctl types -p $L40S | grep -A4 $T8"
                ns "mdevctl types -p $L40S | grep -A4 $T8" || true
                step "mdevctl start -p $L40S -t $T8   # mdevctl writes sysfs; nvvgpud makes the vGPU in the firmware"
                ns "mdevctl start -p $L40S -t $T8"
        else
                say "mdevctl is not installed: skipping its step (apt-get install mdevctl)"
        fi
        U=7c2f8e10-4b1a-4d6e-9f3a-1e2d3c4b5a60
        step "echo $U > /sys/class/mdev_bus/$L40S/mdev_supported_types/$T24/create   # refused: $L40S is in equal-size mode with 8Q vGPUs"
        ns "echo $U > /sys/class/mdev_bus/$L40S/mdev_supported_types/$T24/create" || true
        step "echo $U > /sys/class/mdev_bus/$L40S2/mdev_supported_types/$T24/create   # a shell, as libvirt and OpenStack do"
        ns "echo $U > /sys/class/mdev_bus/$L40S2/mdev_supported_types/$T24/create"
        VF=$(ls -d "$S"/bus/pci/devices/*/nvidia 2>/dev/null | head -1 | xargs dirname | xargs basename)
        step "cat /sys/bus/pci/devices/$VF/nvidia/creatable_vgpu_types | head -5   # the H200's first VF"
        ns "head -5 /sys/bus/pci/devices/$VF/nvidia/creatable_vgpu_types"
        H=$(awk -F: '/-35C/ { gsub(/ /, "", $1); print $1; exit }' "$S"/bus/pci/devices/"$VF"/nvidia/creatable_vgpu_types)
        [ -n "$H" ] || H=$(awk -F: 'NR == 2 { gsub(/ /, "", $1); print $1 }' "$S"/bus/pci/devices/"$VF"/nvidia/creatable_vgpu_types)
        step "echo $H > /sys/bus/pci/devices/$VF/nvidia/current_vgpu_type   # NVIDIA's VF interface"
        ns "echo $H > /sys/bus/pci/devices/$VF/nvidia/current_vgpu_type"
else
        say "no private mount namespace (not root, or no unshare): the sysfs ways (mdevctl, echo into create, a VF's current_vgpu_type) need a mount namespace and are skipped"
fi
UP=$(nvvgpuctl gpus | awk '/RTX-PRO-6000/ { print $1; exit }')
if [ -n "$UP" ]; then
        step "nvvgpuctl create --type RTX-PRO-6000-24Q --gpu $UP   # upstream: nvvgpud assigns the type to a free VF over fwctl"
        UPV=$(nvvgpuctl create --type RTX-PRO-6000-24Q --gpu "$UP")
        echo "$UPV"
        UPN=$(nvvgpuctl gpus | awk -v g="$UP" 'NR > 1 && $1 == g { print NR - 2; exit }')
        UPVF=$(nvvgpu-sim status --socket "$sock" "$UPN" | tr -d ' \n' | grep -o '"vf":"[0-9a-f:.]*","type_id":[1-9][0-9]*' | head -1 | sed 's/"vf":"\([^"]*\)".*/\1/')
        step "nvvgpu-sim vfio open $UPVF   # what QEMU's open of the VF does: the variant driver boots the vGPU"
        nvvgpu-sim vfio --socket "$sock" open "$UPVF"
        step "nvvgpuctl destroy $UPV   # refused while the VF is open"
        nvvgpuctl destroy "$UPV" || true
        nvvgpu-sim vfio --socket "$sock" close "$UPVF"
fi
step "nvvgpuctl list   # one table, whichever way each was made"
nvvgpuctl list

say "5. A libvirt domain that asks for a vGPU by type; its hook makes it before QEMU starts"
if [ -n "$lv" ]; then
        cat >"$tmp/web.xml" <<EOF
<domain type='qemu'><name>web</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <metadata><nvvgpu:vgpu xmlns:nvvgpu='urn:nvvgpu:libvirt:1' type='L40S-8Q' count='1'/></metadata>
  <os><type arch='x86_64'>hvm</type></os><devices><emulator>$(command -v qemu-system-x86_64)</emulator></devices></domain>
EOF
        virsh define "$tmp/web.xml" >/dev/null
        step "virsh start web   # <nvvgpu:vgpu type='L40S-8Q' count='1'/> in its metadata"
        if virsh start web; then
                step "nvvgpuctl vm"
                nvvgpuctl vm
                step "virsh suspend web; nvvgpuctl list --vm web   # the plugin is told to stop work"
                virsh suspend web
                sleep 0.3
                nvvgpuctl list --vm web
                step "virsh resume web; nvvgpuctl list --vm web"
                virsh resume web
                sleep 0.3
                nvvgpuctl list --vm web
                say "6. A firmware fault: the plugin of web's vGPU crashes"
                G=$(nvvgpuctl list --vm web --json | sed -n 's/^ *"gpu": "\([^"]*\)",*$/\1/p' | head -1)
                F=$(nvvgpuctl list --vm web --json | sed -n 's/^ *"gfid": \([0-9]*\),*$/\1/p' | head -1)
                N=$(nvvgpuctl gpus | awk -v g="$G" 'NR > 1 && $1 == g { print NR - 2; exit }')
                step "nvvgpu-sim inject --socket $sock 'crash:$F@$N'"
                nvvgpu-sim inject --socket "$sock" "crash:$F@${N:-0}" || true
                sleep 0.3
                step "nvvgpuctl list --vm web"
                nvvgpuctl list --vm web
                step "virsh destroy web; nvvgpuctl list --vm web   # the hook's release frees what it made"
                virsh destroy web
                sleep 0.3
                nvvgpuctl list --vm web
        else
                say "libvirt could not start a QEMU guest here; the hook's part is skipped"
        fi
else
        say "libvirt is not installed or cannot run here (needs root; apt-get install libvirt-daemon-driver-qemu qemu-system-x86 libvirt-clients): the domain's part is skipped"
        say "6. A firmware fault: GPU $L40S's GSP resets under its vGPUs"
        N=$(nvvgpuctl gpus | awk -v g="$L40S" 'NR > 1 && $1 == g { print NR - 2; exit }')
        step "nvvgpu-sim inject --socket $sock 'reset@${N:-0}'"
        nvvgpu-sim inject --socket "$sock" "reset@${N:-0}" || true
        sleep 1
fi
step "nvvgpuctl events   # what a monitoring agent saw since nvvgpud started (--json: one object per line)"
kill "$evpid" 2>/dev/null; wait "$evpid" 2>/dev/null || true; evpid=
tail -24 "$tmp/events"

[ -n "${NVV_DEMO_DEBUG:-}" ] && cat "$tmp/d.log"
say "7. On a real host"
cat <<EOF
The same commands, pointed at the kernel instead of the simulator:
  nvvgpud --backend fwctl --sysfs-root /sys      # every /dev/fwctl device (the nvvgpu kernel contract)
  nvvgpuctl fw probe --backend fwctl             # each GPU's firmware release and the description serving it
  nvvgpuctl host scan                            # the NVIDIA GPUs in /sys, and whether each can host vGPUs
  cp $build/nvvgpu-hook /etc/libvirt/hooks/qemu.d/nvvgpu   # or install the package (debian/)
EOF
