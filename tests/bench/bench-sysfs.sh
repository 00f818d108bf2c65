#!/bin/bash
# Benchmarks of the sysfs path, each against a baseline measured in the same run, by turns:
#   a. `nvvgpuctl types` and `nvvgpuctl list` against Debian's `mdevctl types` and `mdevctl
#      list` on the same simulated host: 8 L40S x 20 types x 8 vGPUs, nvvgpud the manager,
#      nvvgpu-sim's FUSE sysfs bound over /sys in a mount namespace. Target: <= 0.5x mdevctl's
#      wall time (median of 15 runs each, fork/exec to exit, output to /dev/null).
#   b. `create` through FUSE to the firmware and back (the shell's echo into
#      mdev_supported_types/TYPE/create: FUSE, the simulator, nvvgpud's answer, the firmware's
#      create_device), p50 / p99 of 200, against the floor: the same write into a PCI attribute
#      that does nothing (the PF's `enable`). Target p99 <= 5 ms.
# Exit 2 when a target is missed, 77 (SKIP) without root, FUSE or mdevctl. Run it with
# `make -C build bench-sysfs` (root, FUSE). Figures also go to $NVV_BENCH_RESULTS (bench-lib.sh).
set -u
build=${NVV_TOP_BUILDDIR:?run through make bench-sysfs}
. "$(dirname "$0")/bench-lib.sh"
PATH="$build:$PATH"
export PATH
[ "$(id -u)" = 0 ] || bench_skip "bench-sysfs needs root (FUSE and a mount namespace)"
command -v mdevctl >/dev/null || bench_skip "mdevctl is not installed"
[ -e /dev/fuse ] || bench_skip "no /dev/fuse"
if [ "${NVV_BENCH_NS:-}" != 1 ]; then
        unshare -m true 2>/dev/null || bench_skip "cannot make a mount namespace (unshare -m)"
        NVV_BENCH_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
dir=$(mktemp -d /tmp/nvv-bsysfs-XXXXXX)
cleanup() {
        [ -n "${dpid:-}" ] && kill "$dpid" 2>/dev/null
        [ -n "${spid:-}" ] && kill "$spid" 2>/dev/null
        wait 2>/dev/null
        umount /etc/mdevctl.d /sys 2>/dev/null
        umount -l "$dir/sys" 2>/dev/null
        rm -rf "$dir"
}
trap cleanup EXIT
mkdir -p "$dir/sys" "$dir/etc/scripts.d/callouts" "$dir/etc/scripts.d/notifiers"
# 20 of the L40S's types (NVIDIA's table): every Q size, every C size, 1B, 2B and 4A.
cat >"$dir/policy.json" <<'EOP'
{ "version": 1, "placement": "pack", "numa": "prefer",
  "defaults": { "mode": "equal-size",
    "types": ["L40S-1Q", "L40S-2Q", "L40S-3Q", "L40S-4Q", "L40S-6Q", "L40S-8Q", "L40S-12Q", "L40S-16Q",
              "L40S-24Q", "L40S-48Q", "L40S-4C", "L40S-6C", "L40S-8C", "L40S-12C", "L40S-16C", "L40S-24C",
              "L40S-48C", "L40S-1B", "L40S-2B", "L40S-4A"] } }
EOP
nvvgpu-sim --gpus 'L40S@595.45.04*8' --socket "$dir/s.sock" --sysfs-mount "$dir/sys" >"$dir/sim.log" 2>&1 &
spid=$!
for _ in $(seq 200); do [ -S "$dir/s.sock" ] && [ -d "$dir/sys/bus" ] && break; sleep 0.05; done
[ -d "$dir/sys/bus" ] || { cat "$dir/sim.log"; exit 1; }
NVVGPU_SOCKET="$dir/d.sock"
export NVVGPU_SOCKET
nvvgpud --backend "sim:$dir/s.sock" --socket "$dir/d.sock" --state-dir "$dir/state" --mdevctl-dir '' --libvirt '' \
        --policy "$dir/policy.json" 2>"$dir/d.log" &
dpid=$!
for _ in $(seq 400); do [ -S "$dir/d.sock" ] && break; sleep 0.02; done
[ -S "$dir/d.sock" ] || { cat "$dir/d.log"; exit 1; }
mount --bind "$dir/sys" /sys && mount --bind "$dir/etc" /etc/mdevctl.d || exit 1
mapfile -t gpus < <(nvvgpuctl gpus --json | sed -n 's/^ *"gpu": "\(.*\)".*/\1/p')
[ ${#gpus[@]} = 8 ] || { echo "bench-sysfs: ${#gpus[@]} GPUs"; exit 1; }
for g in "${gpus[@]}"; do
        for _ in $(seq 8); do nvvgpuctl create --type L40S-6Q --gpu "$g" >/dev/null || exit 1; done
done
ntypes=$(ls /sys/class/mdev_bus/"${gpus[0]}"/mdev_supported_types | wc -l)
nv=$(nvvgpuctl list | grep -c '^[0-9a-f]\{8\}-')

us() { echo "${EPOCHREALTIME/./}"; }
# The p-th percentile of the numbers in FILE, as bench-lib.sh counts (sample (n-1)*p/100 from 0).
pct() { sort -n "$2" | awk -v p="$1" '{a[NR - 1] = $1} END {print a[int((NR - 1) * p / 100)]}'; }
fails=0
pair() { # NAME FIGURE BASELINE OURS... -- THEIRS...
        local name=$1 figure=$2 base=$3; shift 3
        local ours=() theirs=() t0 i
        while [ "$1" != -- ]; do ours+=("$1"); shift; done
        shift
        theirs=("$@")
        "${ours[@]}" >/dev/null 2>&1 || { echo "bench-sysfs: ${ours[*]} failed"; exit 1; }
        "${theirs[@]}" >/dev/null 2>&1 || { echo "bench-sysfs: ${theirs[*]} failed"; exit 1; }
        : >"$dir/t.ours"; : >"$dir/t.theirs"
        for i in $(seq 15); do
                t0=$(us); "${theirs[@]}" >/dev/null 2>&1; echo $(( $(us) - t0 )) >>"$dir/t.theirs"
                t0=$(us); "${ours[@]}" >/dev/null 2>&1; echo $(( $(us) - t0 )) >>"$dir/t.ours"
        done
        local o t verdict=PASS met=1
        set -- $(bench_stats "$dir/t.ours" 1 1000); o=$1 os=$2 on=$3
        set -- $(bench_stats "$dir/t.theirs" 1 1000); t=$1 ts=$2
        awk -v o="$o" -v t="$t" 'BEGIN {exit !(o <= 0.5 * t)}' || { verdict=FAIL met=0; fails=$((fails + 1)); }
        awk -v n="$name" -v o="$o" -v t="$t" -v v="$verdict" \
                'BEGIN {printf "%-34s %8.1f ms %8.1f ms   %.2fx  %s (<= 0.5x)\n", n, o, t, o / t, v}'
        bench_report bench=bench-sysfs figure="$figure" value="$o" spread="$os" n="$on" unit=ms \
                baseline="$base" base_value="$t" base_spread="$ts" vs=ratio target="<= 0.5x" met=$met || exit 1
}
echo "8 x L40S (595.45.04), $ntypes types each, $nv vGPUs; nvvgpud the manager behind nvvgpu-sim's FUSE sysfs"
printf "%-34s %11s %11s %7s\n" "a. (median of 15)" "nvvgpuctl" "mdevctl" "ratio"
pair "types (mdevctl types)" "nvvgpuctl types, 8 GPUs x $ntypes types" "mdevctl types, same tree" \
        nvvgpuctl types -- mdevctl types
pair "list (mdevctl list)" "nvvgpuctl list, $nv vGPUs" "mdevctl list, same tree" nvvgpuctl list -- mdevctl list

# b. create latency through FUSE. GPU 8 is emptied for it.
g=${gpus[7]}
for u in $(nvvgpuctl list --gpu "$g" | grep -o '^[0-9a-f]\{8\}-[0-9a-f-]*'); do nvvgpuctl destroy "$u" || exit 1; done
tdir=/sys/class/mdev_bus/$g/mdev_supported_types/nvidia-1153  # NVIDIA L40S-12Q
floor=/sys/bus/pci/devices/$g/enable
[ -w "$tdir/create" ] && [ -e "$floor" ] || { echo "bench-sysfs: $tdir/create or $floor missing"; exit 1; }
: >"$dir/c.ours"; : >"$dir/c.floor"
for i in $(seq 200); do
        u=$(printf '3c7e9a10-0b1d-4e2f-8a3b-%012d' "$i")
        t0=$(us); echo 1 >"$floor"; echo $(( $(us) - t0 )) >>"$dir/c.floor"
        t0=$(us); echo "$u" >"$tdir/create" || { echo "bench-sysfs: create $u failed"; exit 1; }
        echo $(( $(us) - t0 )) >>"$dir/c.ours"
        echo 1 >"/sys/bus/mdev/devices/$u/remove" || { echo "bench-sysfs: remove $u failed"; exit 1; }
done
p50=$(bench_stats "$dir/c.ours" | cut -d' ' -f1); p99=$(pct 99 "$dir/c.ours")
f50=$(bench_stats "$dir/c.floor" | cut -d' ' -f1); f99=$(pct 99 "$dir/c.floor")
verdict=PASS met=1
[ "$p99" -le 5000 ] || { verdict=FAIL met=0; fails=$((fails + 1)); }
awk -v a="$p50" -v b="$p99" -v c="$f50" -v d="$f99" -v v="$verdict" 'BEGIN {
        printf "b. create through FUSE (200)       p50 %6.2f ms  p99 %6.2f ms;  floor (write to enable) p50 %5.3f ms  p99 %5.3f ms   %s (p99 <= 5 ms)\n",
                a / 1000, b / 1000, c / 1000, d / 1000, v }'
set -- $(bench_stats "$dir/c.ours" 1 1000); o=$1 os=$2 on=$3
set -- $(bench_stats "$dir/c.floor" 1 1000)
bench_report bench=bench-sysfs figure="create through FUSE to the firmware (200)" value="$o" spread="$os" n="$on" \
        unit=ms baseline="the same write to a no-op attribute" base_value="$1" base_spread="$2" vs=delta || exit 1
bench_report bench=bench-sysfs figure="create through FUSE to the firmware (200)" stat=p99 \
        value="$(awk -v v="$p99" 'BEGIN { print v / 1000 }')" unit=ms baseline="the same write to a no-op attribute" \
        base_value="$(awk -v v="$f99" 'BEGIN { print v / 1000 }')" vs=delta target="<= 5 ms" met=$met || exit 1
[ $fails = 0 ] || exit 2
