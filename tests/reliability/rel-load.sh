#!/bin/bash
# Load (doc/reliability.md): NVV_REL_CLIENTS (default 64) concurrent clients for
# NVV_REL_LOAD_SECS (default 30) seconds, each mixing reads (nvvgpuctl list / show / status /
# gpus) and mutations (nvvgpuctl create / destroy, and echo into sysfs create / remove through
# nvvgpu-sim's FUSE tree) on two simulated L40S GPUs (L40S-2Q: 24 each). Every operation's
# latency is what its client saw (a process start included: nvvgpuctl, or a shell's echo).
# While it runs and afterwards the firmware never holds more than a GPU's capacity; every
# error is one the client caused (ENOSPC: full; ENOENT: a name another client destroyed;
# EEXIST: a name another made); afterwards nvvgpud's vGPUs are the firmware's.
# p50/p90/p99/max per operation kind go to $NVV_REL_RESULTS.
set -u
build=${NVV_TOP_BUILDDIR:?set NVV_TOP_BUILDDIR (run through make check-reliability)}
PATH="$build:$PATH"
export PATH
results=${NVV_REL_RESULTS:-/dev/null}
secs=${NVV_REL_LOAD_SECS:-30}
clients=${NVV_REL_CLIENTS:-64}
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (nvvgpu-sim's FUSE sysfs)"
[ -c /dev/fuse ] || skip "/dev/fuse is missing"
dir=$(mktemp -d /tmp/nvv-relload-XXXXXX)
spid=
dpid=
pids=
cleanup() {
        for p in $pids $dpid $spid; do kill -9 "$p" 2>/dev/null; done
        wait 2>/dev/null
        umount -l "$dir/sys" 2>/dev/null
        rm -rf "$dir"
}
trap cleanup EXIT
S="$dir/s.sock"
SYS="$dir/sys"
T2=1148
CAP=24
mkdir -p "$SYS"
NVVGPU_SOCKET="$dir/d.sock"
export NVVGPU_SOCKET
nvvgpu-sim --gpus 'L40S@595.45.04*2' --socket "$S" --sysfs-mount "$SYS" >"$dir/sim.log" 2>&1 &
spid=$!
for _ in $(seq 200); do [ -S "$S" ] && [ -d "$SYS/bus" ] && break; sleep 0.05; done
nvvgpud --backend "sim:$S" --socket "$dir/d.sock" --state-dir "$dir/state" --mdevctl-dir "" --sysfs-root "$SYS" \
        --libvirt "" 2>"$dir/d.log" &
dpid=$!
for _ in $(seq 200); do [ -S "$dir/d.sock" ] && break; sleep 0.05; done
[ -S "$dir/d.sock" ] || { echo "FAIL: nvvgpud did not start: $(tail -3 "$dir/d.log")"; exit 1; }

# One client: "KIND MS RC MESSAGE" per operation. UUIDs from a shared pool of 96 (4 per slot
# of both GPUs), so clients meet: one destroys what another made.
cat >"$dir/client.sh" <<'EOS'
c=$1 dir=$2 SYS=$3 T2=$4 end=$5
rnd() { od -An -N2 -tu2 /dev/urandom | tr -d ' \n'; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
while [ "$(date +%s)" -lt "$end" ]; do
        r=$(rnd)
        u=$(printf '7a1c3e5f-0b2d-4f6a-8c9e-%012d' $(( r / 13 % 96 )))
        g=0000:41:00.0; [ $(( r / 7 % 2 )) = 1 ] && g=0000:42:00.0
        t=$(date +%s%N)
        case $(( r % 13 )) in
        0|1)  k=list;    out=$(nvvgpuctl list 2>&1 >/dev/null) ;;
        2)    k=show;    out=$(nvvgpuctl show "$u" 2>&1 >/dev/null) ;;
        3)    k=status;  out=$(nvvgpuctl status 2>&1 >/dev/null) ;;
        4)    k=gpus;    out=$(nvvgpuctl gpus 2>&1 >/dev/null) ;;
        5|6)  k=create;  out=$(nvvgpuctl create --type L40S-2Q --gpu $g --uuid "$u" 2>&1 >/dev/null) ;;
        7|8)  k=destroy; out=$(nvvgpuctl destroy "$u" 2>&1 >/dev/null) ;;
        9|10) k=sysfs-create; out=$( (echo "$u" >"$SYS/class/mdev_bus/$g/mdev_supported_types/nvidia-$T2/create") 2>&1) ;;
        *)    k=sysfs-remove; out=$( (echo 1 >"$SYS/bus/mdev/devices/$u/remove") 2>&1) ;;
        esac
        rc=$?
        echo "$k $(ms $t) $rc $(echo "$out" | head -1)"
done >"$dir/ops.$c"
EOS
end=$(( $(date +%s) + secs ))
for c in $(seq "$clients"); do
        bash "$dir/client.sh" "$c" "$dir" "$SYS" "$T2" "$end" &
        pids="$pids $!"
done
# Over-commit watch: the firmware's count per GPU, sampled while the load runs.
over=0
samples=0
maxheld=0
while [ "$(date +%s)" -lt "$end" ]; do
        for g in 0 1; do
                n=$(nvvgpu-sim status --socket "$S" $g | grep -c '"vgpu_id"')
                samples=$((samples + 1))
                [ "$n" -gt "$maxheld" ] && maxheld=$n
                [ "$n" -gt $CAP ] && over=$((over + 1))
        done
        echo "rel-load: $(( end - $(date +%s) )) s left, $(cat "$dir"/ops.* 2>/dev/null | wc -l) operations so far" >&2
        sleep 1
done
wait $pids
pids=
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
[ $over = 0 ] || bad "the firmware held more than $CAP vGPUs on a GPU in $over of $samples samples"
cat "$dir"/ops.* >"$dir/ops"
total=$(grep -c . "$dir/ops")
# Errors the client caused: full, gone, taken; anything else is nvvgpud's (or the harness's).
grep -v ' 0 ' "$dir/ops" | awk '$3 != 0' >"$dir/errs"
grep -v -i 'No space left\|ENOSPC\|not enough room\|no room\|does not fit\|No such file\|No such device\|ENOENT\|no vGPU\|not found\|File exists\|EEXIST\|in use\|exists\|max_instance is reached\|cap is reached\|is recorded on GPU' \
        "$dir/errs" >"$dir/badfail"
nbad=$(grep -c . "$dir/badfail")
[ "$nbad" = 0 ] || bad "$nbad errors not of the client's making, e.g.: $(head -3 "$dir/badfail" | tr '\n' '|')"
a=$(nvvgpuctl list --json | awk -F'[:,]' '/"gpu"/ {g=$0; sub(/.*"gpu": "/, "", g); sub(/".*/, "", g)} /"vgpu_id"/ {id=$2} /"fb_offset_mib"/ {print g, id+0, $2+0}' | sort)
b=$(for g in 0 1; do bdf=0000:41:00.0; [ $g = 1 ] && bdf=0000:42:00.0
        nvvgpu-sim status --socket "$S" $g | awk -F'[:,]' -v b=$bdf '/"vgpu_id"/ {id=$2} /"fb_offset"/ {print b, id+0, int(($2+0)/1048576)}'; done | sort)
[ "$a" = "$b" ] || bad "afterwards nvvgpud's vGPUs are not the firmware's"
kill -0 "$dpid" 2>/dev/null || bad "nvvgpud died"
{
        echo "load.clients $clients"
        echo "load.secs $secs"
        echo "load.ops $total"
        echo "load.errors_client $(grep -c . "$dir/errs")"
        echo "load.errors_other $nbad"
        echo "load.overcommit_samples $over/$samples"
        echo "load.max_held $maxheld"
        for k in list show status gpus create destroy sysfs-create sysfs-remove; do
                awk -v k=$k '$1 == k {print $2}' "$dir/ops" | sort -n >"$dir/lat"
                n=$(grep -c . "$dir/lat")
                [ "$n" = 0 ] && continue
                p() { sed -n "$(( ($1 * n + 99) / 100 ))p" "$dir/lat"; }
                ok=$(awk -v k=$k '$1 == k && $3 == 0' "$dir/ops" | grep -c .)
                echo "load.op.$k $n ops ($ok ok) p50 $(p 50) p90 $(p 90) p99 $(p 99) max $(tail -1 "$dir/lat") ms"
        done
} >>"$results"
echo "rel-load: $total operations by $clients clients in $secs s; $(grep -c . "$dir/errs") errors of the clients' making," \
        "$nbad others; at most $maxheld vGPUs held on a GPU (capacity $CAP)"
grep '^load.op' "$results" | tail -8
[ $fails = 0 ]
