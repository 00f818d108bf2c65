#!/bin/sh
# nvvgpud and Debian's real mdevctl share persistent definitions (/etc/mdevctl.d): in a
# private mount namespace with a temporary directory over /etc/mdevctl.d,
#   - a device mdevctl defines shows up in `nvvgpuctl list --defined`, is started by
#     nvvgpuctl, and its "start": "auto" is honoured when nvvgpud starts;
#   - a device nvvgpuctl defines on a GPU shows up in `mdevctl list -d`, as mdevctl writes it;
#   - undefine with either tool removes it for both;
#   - a file mdevctl would not read, and definitions of other parents, are left untouched.
set -u
build=${NVV_TOP_BUILDDIR:?run through make check}
PATH="$build:$PATH"
export PATH
command -v mdevctl >/dev/null || { echo "SKIP: mdevctl is not installed (apt-get install mdevctl)"; exit 77; }
command -v unshare >/dev/null || { echo "SKIP: unshare (util-linux) is not installed"; exit 77; }
if [ "${NVV_IN_NS:-}" != 1 ]; then
        [ "$(id -u)" = 0 ] || { echo "SKIP: needs root for a mount namespace"; exit 77; }
        NVV_IN_NS=1 exec unshare -m --propagation private sh "$0" "$@"
fi
dir=$(mktemp -d /tmp/nvv-mdevctl-XXXXXX)
spid=
dpid=
cleanup() {
        for p in $dpid $spid; do kill "$p" 2>/dev/null; done
        wait 2>/dev/null
        umount /etc/mdevctl.d 2>/dev/null
        rm -rf "$dir"
}
trap cleanup EXIT
fail() {
        echo "FAIL: $*"
        echo "--- nvvgpud's log"; cat "$dir/d.log"
        echo "--- /etc/mdevctl.d"; find /etc/mdevctl.d -type f -exec sh -c 'echo "$1:"; cat "$1"; echo' _ {} \;
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
mkdir -p "$dir/etc/scripts.d/callouts" "$dir/etc/scripts.d/notifiers" /etc/mdevctl.d
mount --bind "$dir/etc" /etc/mdevctl.d || { echo "SKIP: cannot bind over /etc/mdevctl.d"; exit 77; }

nvvgpu-sim --gpus 'L40S@595.45.04*2' --socket "$dir/s.sock" >"$dir/sim.log" 2>&1 &
spid=$!
wait_sock "$dir/s.sock" $spid || { cat "$dir/sim.log"; exit 1; }
NVVGPU_SOCKET="$dir/d.sock"
export NVVGPU_SOCKET
start_daemon() { # the default --mdevctl-dir: /etc/mdevctl.d, ours in this namespace
        rm -f "$dir/d.sock"
        nvvgpud --backend "sim:$dir/s.sock" --socket "$dir/d.sock" --state-dir "$dir/state" --libvirt "" 2>>"$dir/d.log" &
        dpid=$!
        wait_sock "$dir/d.sock" $dpid || fail "nvvgpud did not start"
}
stop_daemon() {
        kill "$dpid"; wait "$dpid" || fail "nvvgpud did not stop cleanly"
        dpid=
}
U1=6e0f3a52-9d1b-4c7e-8a21-00000000a001
U2=6e0f3a52-9d1b-4c7e-8a21-00000000a002
U3=6e0f3a52-9d1b-4c7e-8a21-00000000a003

# Things nvvgpu must leave alone: another parent's device, and a file mdevctl would not read.
mdevctl define -p matrix -t vfio_ap-passthrough -u "$U3" || fail "mdevctl define (matrix)"
mkdir -p /etc/mdevctl.d/0000:41:00.0
printf '{"mdev_type": "nvidia-1152", "start": "sometimes"}' >/etc/mdevctl.d/0000:41:00.0/6e0f3a52-9d1b-4c7e-8a21-00000000a009
sum_before=$(cat /etc/mdevctl.d/matrix/$U3 /etc/mdevctl.d/0000:41:00.0/6e0f3a52-9d1b-4c7e-8a21-00000000a009 | cksum)

# mdevctl -> nvvgpu: an L40S-8Q (type 1152, NVIDIA's id) to start automatically.
mdevctl define -p 0000:41:00.0 -t nvidia-1152 -u "$U1" -a || fail "mdevctl define"
start_daemon
grep -q "mdevctl definition: .*a009.*start" "$dir/d.log" || fail "the unreadable mdevctl file is not reported"
nvvgpuctl list --defined --json >"$dir/defs" || fail "list --defined"
grep -q "\"uuid\": \"$U1\"" "$dir/defs" || fail "mdevctl's definition is not in nvvgpuctl list --defined"
grep -A8 "\"uuid\": \"$U1\"" "$dir/defs" | grep -q '"source": "mdevctl"' || fail "source is not mdevctl"
grep -A8 "\"uuid\": \"$U1\"" "$dir/defs" | grep -q '"type": "L40S-8Q"' || fail "type is not L40S-8Q"
grep -q "$U3" "$dir/defs" && fail "another parent's definition is listed"
# It was started at nvvgpud's start ("start": "auto").
nvvgpuctl list | grep -q "^$U1  L40S-8Q *0000:41:00.0" || fail "mdevctl's auto definition was not started"

# nvvgpu -> mdevctl
nvvgpuctl define --type L40S-12Q --gpu 0000:42:00.0 --uuid "$U2" --no-autostart >/dev/null || fail "nvvgpuctl define"
mdevctl list -d >"$dir/md" 2>&1 || fail "mdevctl list -d: $(cat "$dir/md")"
grep -qx "$U2 0000:42:00.0 nvidia-1153 manual" "$dir/md" || fail "mdevctl does not list nvvgpuctl's definition: $(cat "$dir/md")"
mdevctl list -d -u "$U2" --dumpjson >"$dir/dump" 2>&1 || fail "mdevctl --dumpjson"
grep -q '"mdev_type": "nvidia-1153"' "$dir/dump" || fail "mdevctl reads another type: $(cat "$dir/dump")"
nvvgpuctl start "$U2" >/dev/null || fail "nvvgpuctl start of its own definition"

# stop keeps the definition; at the next start auto is honoured, manual is not.
nvvgpuctl stop "$U1" || fail "stop"
nvvgpuctl stop "$U2" || fail "stop"
stop_daemon
start_daemon
nvvgpuctl list >"$dir/list"
grep -q "^$U1 " "$dir/list" || fail "auto definition not started again"
grep -q "^$U2 " "$dir/list" && fail "manual definition started"

# undefine with either tool
mdevctl undefine -u "$U2" || fail "mdevctl undefine"
nvvgpuctl list --defined | grep -q "$U2" && fail "mdevctl's undefine not seen by nvvgpuctl"
nvvgpuctl undefine "$U1" || fail "nvvgpuctl undefine"
mdevctl list -d | grep -q "$U1" && fail "nvvgpuctl's undefine not seen by mdevctl"
nvvgpuctl list | grep -q "^$U1 " || fail "undefine removed the running vGPU"
# a definition mdevctl has already cannot be defined again
mdevctl define -p 0000:41:00.0 -t nvidia-1152 -u "$U2" || fail "mdevctl define again"
nvvgpuctl define --type L40S-8Q --gpu 0000:41:00.0 --uuid "$U2" >"$dir/out" 2>&1 && fail "defined twice"
grep -q "defined already, by mdevctl" "$dir/out" || fail "wrong refusal: $(cat "$dir/out")"

sum_after=$(cat /etc/mdevctl.d/matrix/$U3 /etc/mdevctl.d/0000:41:00.0/6e0f3a52-9d1b-4c7e-8a21-00000000a009 | cksum)
[ "$sum_before" = "$sum_after" ] || fail "files that are not nvvgpu's were changed"
stop_daemon
echo "mdevctl-defs: mdevctl and nvvgpuctl see each other's definitions; auto honoured; others' files untouched"
