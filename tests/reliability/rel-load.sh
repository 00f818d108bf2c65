#!/bin/bash
# Load (doc/reliability.md): NVV_REL_CLIENTS (default 64) concurrent clients for
# NVV_REL_LOAD_SECS (default 30) seconds, each mixing reads (nvvgpuctl list / show / status /
# gpus) and mutations (create / destroy, and writes into sysfs create / remove through
# nvvgpu-sim's FUSE tree) on two simulated L40S GPUs (L40S-2Q: 24 each), each client a thread
# of rel-load (rel-load.c) doing what nvvgpuctl or a shell's echo does: a connection per
# request, an open-write-close per sysfs write. Every latency is what its client saw.
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

# The clients: threads of rel-load (rel-load.c), each a client of its own, one line per
# operation in $dir/ops: "KIND MS ERRNO MESSAGE".
[ -x "$build/tests/reliability/rel-load" ] || { echo "FAIL: $build/tests/reliability/rel-load is not built (make check-reliability builds it)"; exit 1; }
end=$(( $(date +%s) + secs ))
"$build/tests/reliability/rel-load" "$dir/d.sock" "$SYS" "$secs" "$clients" "$dir/ops" &
pids=$!
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
        echo "rel-load: $(( end - $(date +%s) )) s left" >&2
        sleep 1
done
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
wait $pids || bad "the load clients (rel-load) failed"
pids=
[ $over = 0 ] || bad "the firmware held more than $CAP vGPUs on a GPU in $over of $samples samples"
[ -s "$dir/ops" ] || bad "the load clients wrote no operations"
total=$(grep -c . "$dir/ops")
# Errors the client caused, by errno: ENOSPC (28, full), ENOENT (2, a name another client
# destroyed, or an mdev not there to remove), EEXIST (17, a name another made); anything else
# is nvvgpud's (or the harness's).
awk '$3 != 0' "$dir/ops" >"$dir/errs"
awk '$3 != 28 && $3 != 2 && $3 != 17' "$dir/errs" >"$dir/badfail"
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
        echo "load.errors_client $(( $(grep -c . "$dir/errs") - nbad ))"
        echo "load.errors_other $nbad"
        echo "load.overcommit_samples $over/$samples"
        echo "load.max_held $maxheld"
        for k in list show status gpus create destroy sysfs-create sysfs-remove; do
                awk -v k=$k '$1 == k {print $2}' "$dir/ops" | sort -g >"$dir/lat"
                n=$(grep -c . "$dir/lat")
                [ "$n" = 0 ] && continue
                p() { sed -n "$(( ($1 * n + 99) / 100 ))p" "$dir/lat"; }
                ok=$(awk -v k=$k '$1 == k && $3 == 0' "$dir/ops" | grep -c .)
                echo "load.op.$k $n ops ($ok ok) p50 $(p 50) p90 $(p 90) p99 $(p 99) max $(tail -1 "$dir/lat") ms"
        done
} >>"$results"
echo "rel-load: $total operations by $clients clients in $secs s; $(( $(grep -c . "$dir/errs") - nbad )) errors of the clients' making," \
        "$nbad others; at most $maxheld vGPUs held on a GPU (capacity $CAP)"
grep '^load.op' "$results" | tail -8
[ $fails = 0 ]
