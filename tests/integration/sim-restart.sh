#!/bin/sh
# nvvgpu-sim (the core driver and the firmware) killed and restarted under a running nvvgpud,
# as a driver reload would: nvvgpud notices the connection closing, reports its GPU lost and
# why, reconnects, and recovers the GPU as after a replug (its recorded vGPUs made again in
# the fresh firmware, its types registered again). Then both killed and restarted: the
# restarted nvvgpud does not adopt recorded vGPUs the fresh firmware lacks; it brings the GPU
# up afresh and makes them again (nvvgpud(8), "THE CORE DRIVER GOING AWAY").
set -u
build=${NVV_TOP_BUILDDIR:?run through make check}
PATH="$build:$PATH"
export PATH
dir=$(mktemp -d /tmp/nvv-simrestart-XXXXXX)
spid=
dpid=
cleanup() {
        for p in $dpid $spid; do kill -9 "$p" 2>/dev/null; done
        wait 2>/dev/null
        rm -rf "$dir"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
S="$dir/s.sock"
NVVGPU_SOCKET="$dir/d.sock"
export NVVGPU_SOCKET
U1=5d9b4f6e-1c2a-4e3b-9f00-aa11bb22dd01
U2=5d9b4f6e-1c2a-4e3b-9f00-aa11bb22dd02
wait_sock() { i=0; while ! [ -S "$1" ]; do i=$((i + 1)); [ $i -gt 400 ] && return 1; sleep 0.02; done; }
start_sim() {
        rm -f "$S"
        nvvgpu-sim --gpus 'L40S@595.45.04' --socket "$S" >>"$dir/sim.log" 2>&1 &
        spid=$!
        wait_sock "$S" || { cat "$dir/sim.log"; exit 1; }
}
start_daemon() {
        rm -f "$dir/d.sock"
        nvvgpud --backend "sim:$S" --socket "$dir/d.sock" --state-dir "$dir/state" --mdevctl-dir "" --libvirt "" 2>>"$dir/d.log" &
        dpid=$!
        wait_sock "$dir/d.sock" || { cat "$dir/d.log"; exit 1; }
}
fw() { nvvgpu-sim status --socket "$S" 0 | grep -c '"vgpu_id"'; }
start_sim
start_daemon
nvvgpuctl create --type L40S-2Q --uuid $U1 >/dev/null || fail "create $U1"
nvvgpuctl create --type L40S-2Q --uuid $U2 >/dev/null || fail "create $U2"

# The simulator alone: lost, with why; back: recovered.
kill -9 "$spid"; wait "$spid" 2>/dev/null
for _ in $(seq 100); do nvvgpuctl gpus | grep -q ' lost ' && break; sleep 0.02; done
nvvgpuctl gpus | grep -q '^0000:41:00.0 .* lost ' && ok "the GPU is lost while the simulator is gone" || fail "gpus: $(nvvgpuctl gpus)"
nvvgpuctl gpus --json | grep -q '"error": "the core driver went away' && ok "its status says why" ||
        fail "no reason: $(nvvgpuctl gpus --json | grep error)"
out=$(nvvgpuctl create --type L40S-2Q 2>&1) && fail "a create while the simulator is gone succeeded: $out"
kill -0 "$dpid" || fail "nvvgpud died with the simulator"
start_sim
for _ in $(seq 250); do nvvgpuctl gpus | grep -q ' ready ' && [ "$(fw)" = 2 ] && break; sleep 0.02; done
nvvgpuctl gpus | grep -q '^0000:41:00.0 .* ready ' && ok "reconnected: the GPU is ready again" || fail "after restart: $(nvvgpuctl gpus)"
[ "$(fw)" = 2 ] && ok "its recorded vGPUs are made again in the fresh firmware" || fail "the firmware holds $(fw)"
nvvgpuctl list | grep -q "^$U1 .* created" && nvvgpuctl list | grep -q "^$U2 .* created" || fail "list: $(nvvgpuctl list)"
grep -c 'types registered in sysfs' "$dir/d.log" | grep -qx 2 && ok "its types are registered again" ||
        fail "types registered $(grep -c 'types registered in sysfs' "$dir/d.log") times"
nvvgpuctl create --type L40S-2Q >/dev/null && ok "a create works after the reconnect" || fail "create after reconnect"
nvvgpuctl list | tail -1 | awk '{print $1}' >"$dir/u3"

# Both: the restarted nvvgpud does not adopt what the fresh firmware lacks.
kill -9 "$dpid" "$spid"; wait 2>/dev/null
start_sim
start_daemon
grep -q 'cannot adopt the 3 vGPUs .*bringing it up afresh' "$dir/d.log" && ok "adopt not taken: the firmware holds none of them" ||
        fail "log: $(tail -5 "$dir/d.log")"
[ "$(fw)" = 3 ] && ok "all 3 made again" || fail "the firmware holds $(fw) after both restarted"
nvvgpuctl create --type L40S-2Q >/dev/null && ok "a create works" || fail "create after both restarted"
# And a plain daemon restart still adopts.
kill "$dpid"; wait "$dpid" 2>/dev/null
start_daemon
grep -q 'adopted 4 vGPUs' "$dir/d.log" && ok "a daemon restart alone still adopts" || fail "no adopt: $(tail -5 "$dir/d.log")"
[ "$(fw)" = 4 ] || fail "the firmware holds $(fw)"
echo "sim-restart: $fails failed"
[ $fails = 0 ] || { echo "--- nvvgpud's log"; cat "$dir/d.log"; exit 1; }
