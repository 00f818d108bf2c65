#!/bin/bash
# Firmware faults (doc/reliability.md): every fault kind nvvgpu-sim knows (its own list, read
# from its refusal of an unknown kind) at every firmware command of three steps:
#   bring-up  the commands of the release's init list (nvvgpud starting; the GPU must end
#             ready, or failed with its error in `nvvgpuctl gpus --json`)
#   create    create_device (`nvvgpuctl create`)
#   VM start  alloc_host_vgpu, bootload_plugin, set_placement_id, set_guest_lifecycle (the
#             hook's prepare begin, fed domain XML)
# plus the immediate kinds at run time (reset now, a plugin crash, unplug then plug). Each
# case runs on a fresh nvvgpu-sim and nvvgpud, under `timeout` (NVV_REL_FAULT_TIMEOUT, default
# 60 s): it must end in a clear error (non-zero exit and one line on stderr, or a failed GPU
# with its error) or a recovery (success), never a hang; afterwards nvvgpud still runs and its
# vGPUs are the firmware's. Results go to $NVV_REL_RESULTS.
set -u
build=${NVV_TOP_BUILDDIR:?set NVV_TOP_BUILDDIR (run through make check-reliability)}
top=${NVV_TOP_SRCDIR:?set NVV_TOP_SRCDIR}
PATH="$build:$PATH"
export PATH
results=${NVV_REL_RESULTS:-/dev/null}
limit=${NVV_REL_FAULT_TIMEOUT:-60}
release=595.45.04
dir=$(mktemp -d /tmp/nvv-relfault-XXXXXX)
spid=
dpid=
cleanup() {
        for p in $dpid $spid; do kill -9 "$p" 2>/dev/null; done
        wait 2>/dev/null
        rm -rf "$dir"
}
trap cleanup EXIT
S="$dir/s.sock"
PF0=0000:41:00.0
NVVGPU_SOCKET="$dir/d.sock"
export NVVGPU_SOCKET
fails=0
cases=0
errors=0
recoveries=0
slowest=0
slowest_case=
now_ms() { date +%s%3N; }
wait_sock() { # SOCKET PID
        i=0
        while ! [ -S "$1" ]; do
                kill -0 "$2" 2>/dev/null || return 1
                i=$((i + 1)); [ $i -gt $((limit * 50)) ] && return 2
                sleep 0.02
        done
}
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
stop_all() {
        for p in $dpid $spid; do kill -9 "$p" 2>/dev/null; done
        wait $dpid $spid 2>/dev/null
        dpid= spid=
}
start_sim() { # [FAULTS]
        rm -f "$S"
        nvvgpu-sim --gpus "L40S@$release" --socket "$S" ${1:+--faults "$1"} >"$dir/sim.log" 2>&1 &
        spid=$!
        wait_sock "$S" $spid || { bad "nvvgpu-sim did not start ($1): $(tail -3 "$dir/sim.log")"; return 1; }
}
start_daemon() {
        rm -f "$dir/d.sock"
        : >"$dir/d.log"
        nvvgpud --backend "sim:$S" --socket "$dir/d.sock" --state-dir "$dir/state" --mdevctl-dir "" --libvirt "" 2>>"$dir/d.log" &
        dpid=$!
        wait_sock "$dir/d.sock" $dpid
}
sets_agree() { # nvvgpud's vGPUs are the firmware's (after a recovery settles)
        for _ in $(seq 200); do
                a=$(nvvgpuctl list --json 2>/dev/null | awk -F'[:,]' '/"vgpu_id"/ {id=$2} /"fb_offset_mib"/ {print id+0, $2+0}' | sort)
                b=$(nvvgpu-sim status --socket "$S" 0 2>/dev/null |
                        awk -F'[:,]' '/"vgpu_id"/ {id=$2} /"fb_offset"/ {print id+0, int(($2+0)/1048576)}' | sort)
                [ "$a" = "$b" ] && ! nvvgpuctl gpus 2>/dev/null | grep -q ' lost ' && return 0
                sleep 0.05
        done
        return 1
}
record() { # CASE MS OUTCOME
        cases=$((cases + 1))
        [ "$2" -gt "$slowest" ] && { slowest=$2; slowest_case=$1; }
        case $3 in error*) errors=$((errors + 1)) ;; *) recoveries=$((recoveries + 1)) ;; esac
        echo "$1: $3 ($2 ms)" >>"$dir/cases"
        [ $((cases % 10)) = 0 ] && echo "rel-faults: $cases cases, $fails failed" >&2
        return 0
}
# One line on stderr and a non-zero status, or success; a hang is a failure.
judge() { # CASE RC T0 ERRFILE
        ms=$(( $(now_ms) - $3 ))
        if [ "$2" = 124 ] || [ "$2" = 137 ]; then
                bad "$1: no answer within ${limit} s (a hang)"
        elif [ "$2" = 0 ]; then
                record "$1" $ms "recovery"
        elif [ "$(grep -c . "$4")" = 1 ]; then
                record "$1" $ms "error: $(cat "$4")"
        else
                bad "$1: exit $2 without one clear line: [$(tr '\n' '|' <"$4")]"
        fi
}
after() { # CASE
        kill -0 "$dpid" 2>/dev/null || { bad "$1: nvvgpud died: $(tail -3 "$dir/d.log")"; return; }
        sets_agree || bad "$1: nvvgpud's vGPUs are not the firmware's afterwards"
}

# The kinds, as the simulator lists them.
kinds=$(nvvgpu-sim --faults 'no-such-kind' --socket "$dir/none.sock" 2>&1 | sed -n 's/.*(known: \(.*\)).*/\1/p' | tr -d ',')
[ -n "$kinds" ] || { echo "FAIL: cannot read the fault kinds from nvvgpu-sim"; exit 1; }
spec_of() { # KIND CMD -> the spec, or nothing for a kind that takes no command
        case $1 in
        delay) echo "delay:$2:300" ;;
        status) echo "status:$2:NV_ERR_INVALID_STATE" ;;
        drop|checksum|truncate|garbage|reset) echo "$1:$2" ;;
        crash|unplug|plug) ;;
        *) echo "UNKNOWN" ;;
        esac
}
init=$(python3 -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))['init']))" "$top/data/fwabi/$release.json")
vmstart="alloc_host_vgpu bootload_plugin set_placement_id set_guest_lifecycle"
printf "<domain type='kvm'><name>fvm</name><uuid>11111111-2222-4333-8444-0000000000f0</uuid><metadata><nvvgpu:vgpu xmlns:nvvgpu='urn:nvvgpu:libvirt:1' type='L40S-2Q' count='1'/></metadata></domain>\n" >"$dir/vm.xml"

t0all=$(date +%s)
for kind in $kinds; do
        [ "$(spec_of "$kind" x)" = UNKNOWN ] && { bad "fault kind '$kind' has no case here (add one)"; continue; }
        [ -z "$(spec_of "$kind" x)" ] && continue
        for cmd in $init; do
                c="bring-up/$cmd/$kind"
                rm -rf "$dir/state"
                start_sim "$(spec_of "$kind" "$cmd")@0" || continue
                t=$(now_ms)
                start_daemon
                rc=$?
                ms=$(( $(now_ms) - t ))
                if [ $rc = 2 ]; then bad "$c: nvvgpud did not get ready within ${limit} s"
                elif [ $rc = 1 ]; then
                        # nvvgpud refused to run: its last line says why.
                        [ -s "$dir/d.log" ] && record "$c" $ms "error: nvvgpud exited: $(tail -1 "$dir/d.log")" ||
                                bad "$c: nvvgpud exited without a word"
                else
                        st=$(nvvgpuctl gpus --json 2>&1)
                        if echo "$st" | grep -q '"state": "ready"'; then record "$c" $ms "recovery"
                        elif echo "$st" | grep -q '"error"'; then
                                record "$c" $ms "error: GPU $(echo "$st" | sed -n 's/.*"state": "\([a-z]*\)".*/\1/p' | head -1): $(echo "$st" | sed -n 's/.*"error": "\(.*\)".*/\1/p' | head -1)"
                        else bad "$c: GPU neither ready nor failed with an error: $st"; fi
                        after "$c"
                fi
                stop_all
        done
        for cmd in create_device $vmstart; do
                c="$([ $cmd = create_device ] && echo create || echo vm-start)/$cmd/$kind"
                rm -rf "$dir/state"
                start_sim || continue
                start_daemon || { bad "$c: nvvgpud did not start"; stop_all; continue; }
                nvvgpu-sim inject --socket "$S" "$(spec_of "$kind" "$cmd")@0" >/dev/null 2>&1 || bad "$c: cannot arm"
                t=$(now_ms)
                if [ $cmd = create_device ]; then
                        timeout -k 2 "$limit" nvvgpuctl create --type L40S-2Q --gpu $PF0 >/dev/null 2>"$dir/err"
                else
                        timeout -k 2 "$limit" nvvgpu-hook fvm prepare begin - <"$dir/vm.xml" >/dev/null 2>"$dir/err"
                fi
                judge "$c" $? "$t" "$dir/err"
                after "$c"
                stop_all
        done
done
# The immediate kinds, at run time, on a GPU with a running and a created vGPU.
for kind in $kinds; do
        [ -n "$(spec_of "$kind" x)" ] && [ "$kind" != reset ] && continue
        [ "$kind" = plug ] && echo "$kinds" | grep -qw unplug && continue # one case: unplug, then plug
        c="runtime/$kind"
        [ "$kind" = unplug ] && c="runtime/unplug+plug"
        rm -rf "$dir/state"
        start_sim || continue
        start_daemon || { bad "$c: nvvgpud did not start"; stop_all; continue; }
        nvvgpuctl create --type L40S-2Q --gpu $PF0 >/dev/null 2>&1 || bad "$c: create"
        nvvgpu-hook fvm prepare begin - <"$dir/vm.xml" >/dev/null 2>&1 || bad "$c: prepare"
        t=$(now_ms)
        case $kind in
        reset)  nvvgpu-sim inject --socket "$S" reset@0 >/dev/null 2>&1 || bad "$c: inject" ;;
        crash)  gfid=$(nvvgpu-sim status --socket "$S" 0 | awk -F'[:,]' '/"gfid"/ && $2+0 > 0 {print $2+0; exit}')
                nvvgpu-sim inject --socket "$S" "crash:$gfid@0" >/dev/null 2>&1 || bad "$c: inject crash:$gfid"
                for _ in $(seq 200); do nvvgpuctl list | grep -q ' crashed ' && break; sleep 0.05; done
                nvvgpuctl list | grep -q ' crashed ' || bad "$c: the crashed plugin's vGPU is not reported crashed" ;;
        unplug|plug)
                nvvgpu-sim inject --socket "$S" unplug@0 >/dev/null 2>&1 || bad "$c: unplug"
                for _ in $(seq 200); do nvvgpuctl gpus | grep -q ' lost ' && break; sleep 0.05; done
                nvvgpuctl gpus | grep -q ' lost ' || bad "$c: the unplugged GPU is not lost"
                nvvgpu-sim inject --socket "$S" plug@0 >/dev/null 2>&1 || bad "$c: plug" ;;
        esac
        if sets_agree; then
                n=$(nvvgpuctl list | grep -c '^[0-9a-f]\{8\}-')
                if [ "$n" = 2 ]; then record "$c" $(( $(now_ms) - t )) "recovery"; else bad "$c: $n vGPUs after it, not 2"; fi
        else
                bad "$c: not recovered within 10 s: $(nvvgpuctl gpus 2>&1 | tail -1)"
        fi
        kill -0 "$dpid" 2>/dev/null || bad "$c: nvvgpud died"
        stop_all
done
cp "$dir/cases" "${NVV_REL_FAULT_LOG:-/dev/null}" 2>/dev/null
{
        echo "faults.kinds $(echo $kinds | wc -w)"
        echo "faults.cases $cases"
        echo "faults.errors $errors"
        echo "faults.recoveries $recoveries"
        echo "faults.failed $fails"
        echo "faults.slowest_ms $slowest"
        echo "faults.slowest_case $slowest_case"
        echo "faults.secs $(( $(date +%s) - t0all ))"
} >>"$results"
echo "rel-faults: $cases cases ($(echo $kinds | wc -w) kinds; $errors clear errors, $recoveries recoveries), $fails failed; slowest $slowest ms ($slowest_case)"
[ $fails = 0 ]
