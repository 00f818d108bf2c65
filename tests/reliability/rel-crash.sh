#!/bin/bash
# Crash consistency under a mixed storm (doc/reliability.md): two clients run
#   - IPC create / destroy / define / undefine / start / stop, and sysfs create / remove
#     through nvvgpu-sim's FUSE tree (12 mdev UUIDs on GPU 0, an mdev parent);
#   - VF current_vgpu_type writes (6 VFs of GPU 1, an SR-IOV GPU), the libvirt hook fed
#     domain XML directly (prepare begin / started begin / stopped end / release end of 4
#     domains asking for one vGPU by metadata), and policy reloads;
# while nvvgpud, nvvgpu-sim (the core driver and firmware: a driver reload), or both are
# killed with SIGKILL at a random point, NVV_REL_KILLS times (default 200). After each
# restart (and, for the simulator, once nvvgpud has reconnected and recovered its GPUs) the
# invariant checker runs:
#   - per GPU, nvvgpud's vGPUs and the firmware's are the same set (id, placement, FB
#     offset): zero leaks either way;
#   - every acknowledged create is there, every acknowledged destroy gone (unless an
#     autostart definition makes it again), nothing there that nobody asked for;
#   - every acknowledged definition is there with its autostart flag, every acknowledged
#     undefine gone: zero lost definitions; each definition with a GPU has its mdevctl file,
#     and no mdevctl file is left without a definition;
#   - a domain whose prepare was acknowledged (and not released since) has its vGPU, one
#     released has none;
#   - the state file holds no unsettled intent (creating, destroying, starting); GPU 0's types are registered in sysfs.
# Results go to $NVV_REL_RESULTS as "key value" lines.
set -u
build=${NVV_TOP_BUILDDIR:?set NVV_TOP_BUILDDIR (run through make check-reliability)}
. "${NVV_TOP_SRCDIR:?set NVV_TOP_SRCDIR (run through make check-reliability)}/tests/integration/crash-checks.sh"
PATH="$build:$PATH"
export PATH
kills_wanted=${NVV_REL_KILLS:-200}
results=${NVV_REL_RESULTS:-/dev/null}
read -r -a kinds <<<"${NVV_REL_KILL_KINDS:-daemon sim both}"
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (nvvgpu-sim's FUSE sysfs, unmounted after each kill)"
[ -c /dev/fuse ] || skip "/dev/fuse is missing"

dir=$(mktemp -d /tmp/nvv-relcrash-XXXXXX)
spid=
dpid=
storms=
cleanup() {
        touch "$dir/stop" 2>/dev/null
        for p in $storms $dpid $spid; do kill -9 "$p" 2>/dev/null; done
        wait 2>/dev/null
        umount -l "$dir/sys" 2>/dev/null
        rm -rf "$dir"
}
trap cleanup EXIT
kill_no=0
fail() {
        echo "FAIL (kill point $kill_no, $kind): $*"
        echo "--- nvvgpud's log (last 30 lines)"; tail -30 "$dir/d.log"
        echo "--- acks (last 20)"; tail -20 "$dir/acks"
        echo "crash.failed 1" >>"$results"
        # Kept for a look (the acks, logs and state): NVV_REL_KEEP=DIR.
        [ -n "${NVV_REL_KEEP:-}" ] && cp -r "$dir" "$NVV_REL_KEEP" 2>/dev/null
        exit 1
}
rnd() { od -An -N2 -tu2 /dev/urandom | tr -d ' \n'; }
# Until each PID has exited (gone, or a zombie bash's SIGCHLD handler collects). Not `wait
# PID`: a run hung in wait4(-1) at kill point 120 of 200 with no child left to exit (bash had
# collected the one it waited for already), so nothing here blocks on a child that is done.
reap() {
        for p in "$@"; do
                while [ -e "/proc/$p" ] && [ "$(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null)" != Z ]; do sleep 0.01; done
        done
        return 0
}
wait_sock() { # SOCKET PID
        i=0
        while ! [ -S "$1" ]; do
                kill -0 "$2" 2>/dev/null || return 1
                i=$((i + 1)); [ $i -gt 500 ] && return 1
                sleep 0.02
        done
}

S="$dir/s.sock"
SYS="$dir/sys"
PF0=0000:41:00.0
PF1=0000:42:00.0
T2=1148                 # NVIDIA L40S-2Q: 24 per GPU; every vGPU here is one, so the equal-size mode takes all
mkdir -p "$SYS"
NVVGPU_SOCKET="$dir/d.sock"
export NVVGPU_SOCKET
: >"$dir/acks"

start_sim() {
        rm -f "$S"
        nvvgpu-sim --gpus 'L40S@595.45.04,L40S@595.45.04:vf' --socket "$S" --sysfs-mount "$SYS" >>"$dir/sim.log" 2>&1 &
        spid=$!
        wait_sock "$S" $spid || fail "nvvgpu-sim did not start: $(tail -5 "$dir/sim.log")"
        i=0
        while [ ! -d "$SYS/bus" ]; do
                i=$((i + 1)); [ $i -gt 200 ] && fail "nvvgpu-sim did not mount its sysfs"
                sleep 0.02
        done
}
start_daemon() {
        rm -f "$dir/d.sock"
        nvvgpud --backend "sim:$S" --socket "$dir/d.sock" --state-dir "$dir/state" --mdevctl-dir "$dir/mdevctl.d" \
                --sysfs-root "$SYS" --libvirt "" 2>>"$dir/d.log" &
        dpid=$!
        wait_sock "$dir/d.sock" $dpid || fail "nvvgpud did not start"
}
kill_sim() {
        kill -9 "$spid" 2>/dev/null
        reap "$spid"
        umount -l "$SYS" 2>/dev/null
}

# Client 1: GPU 0's mdevs by IPC and sysfs. Each request is logged before it is sent ("ask")
# and after it was acknowledged ("ack"); the client stops between requests.
cat >"$dir/storm1.sh" <<EOS
rnd() { od -An -N2 -tu2 /dev/urandom | tr -d ' \\n'; }
while [ ! -e "$dir/stop" ]; do
        u=\$(printf '5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cc%02d' \$(( \$(rnd) % 12 )))
        case \$(( \$(rnd) % 10 )) in
        0|1)    echo "ask create \$u" >>"$dir/acks"
                nvvgpuctl create --type L40S-2Q --gpu $PF0 --uuid "\$u" >/dev/null 2>&1 && echo "ack create \$u" >>"$dir/acks" ;;
        2)      echo "ask destroy \$u" >>"$dir/acks"
                nvvgpuctl destroy "\$u" >/dev/null 2>&1 && echo "ack destroy \$u" >>"$dir/acks" ;;
        3)      if [ \$(( \$(rnd) % 2 )) = 0 ]; then a=auto; o=; else a=noauto; o=--no-autostart; fi
                [ \$(( \$(rnd) % 2 )) = 0 ] && o="\$o --gpu $PF0"
                echo "ask define-\$a \$u" >>"$dir/acks"
                nvvgpuctl define --type L40S-2Q --uuid "\$u" \$o >/dev/null 2>&1 && echo "ack define-\$a \$u" >>"$dir/acks" ;;
        4)      echo "ask undefine \$u" >>"$dir/acks"
                nvvgpuctl undefine "\$u" >/dev/null 2>&1 && echo "ack undefine \$u" >>"$dir/acks" ;;
        5)      echo "ask create \$u" >>"$dir/acks"
                nvvgpuctl start "\$u" >/dev/null 2>&1 && echo "ack create \$u" >>"$dir/acks" ;;
        6)      echo "ask destroy \$u" >>"$dir/acks"
                nvvgpuctl stop "\$u" >/dev/null 2>&1 && echo "ack destroy \$u" >>"$dir/acks" ;;
        7|8)    echo "ask create \$u" >>"$dir/acks"
                (echo "\$u" >"$SYS/class/mdev_bus/$PF0/mdev_supported_types/nvidia-$T2/create") 2>/dev/null &&
                        echo "ack create \$u" >>"$dir/acks" ;;
        9)      echo "ask destroy \$u" >>"$dir/acks"
                (echo 1 >"$SYS/bus/mdev/devices/\$u/remove") 2>/dev/null && echo "ack destroy \$u" >>"$dir/acks" ;;
        esac
done
EOS
# Client 2: GPU 1's VFs, the hook, policy reloads.
cat >"$dir/storm2.sh" <<EOS
rnd() { od -An -N2 -tu2 /dev/urandom | tr -d ' \\n'; }
vfs="0000:42:00.4 0000:42:00.5 0000:42:00.6 0000:42:00.7 0000:42:01.0 0000:42:01.1"
while [ ! -e "$dir/stop" ]; do
        r=\$(rnd)
        case \$(( r % 9 )) in
        0|1)    vf=\$(echo \$vfs | cut -d' ' -f\$(( r / 9 % 6 + 1 )))
                echo "ask create \$vf" >>"$dir/acks"
                (echo $T2 >"$SYS/bus/pci/devices/\$vf/nvidia/current_vgpu_type") 2>/dev/null && echo "ack create \$vf" >>"$dir/acks" ;;
        2)      vf=\$(echo \$vfs | cut -d' ' -f\$(( r / 9 % 6 + 1 )))
                echo "ask destroy \$vf" >>"$dir/acks"
                (echo 0 >"$SYS/bus/pci/devices/\$vf/nvidia/current_vgpu_type") 2>/dev/null && echo "ack destroy \$vf" >>"$dir/acks" ;;
        3|4)    vm=vm\$(( r / 9 % 4 ))
                echo "ask prepare \$vm" >>"$dir/acks"
                nvvgpu-hook \$vm prepare begin - <"$dir/\$vm.xml" >/dev/null 2>&1 && echo "ack prepare \$vm" >>"$dir/acks" &&
                        nvvgpu-hook \$vm started begin - </dev/null >/dev/null 2>&1 ;;
        5)      vm=vm\$(( r / 9 % 4 ))
                echo "ask release \$vm" >>"$dir/acks"
                # The hook exits 0 when nvvgpud is not running (nvvgpu-hook(8)): acknowledged only
                # once nvvgpud answers that the domain holds nothing.
                nvvgpu-hook \$vm stopped end - <"$dir/\$vm.xml" >/dev/null 2>&1 &&
                nvvgpu-hook \$vm release end - <"$dir/\$vm.xml" >/dev/null 2>&1 && out=\$(nvvgpuctl list 2>/dev/null) &&
                        ! echo "\$out" | awk '{print \$NF}' | grep -qx \$vm && echo "ack release \$vm" >>"$dir/acks" ;;
        6)      nvvgpuctl policy reload >/dev/null 2>&1 && echo "ack reload -" >>"$dir/acks" ;;
        7)      kill -HUP \$(cat "$dir/dpid") 2>/dev/null ;;
        8)      nvvgpuctl list >/dev/null 2>&1 ;;
        esac
done
EOS
for i in 0 1 2 3; do
        printf "<domain type='kvm'><name>vm%s</name><uuid>11111111-2222-4333-8444-00000000000%s</uuid><metadata><nvvgpu:vgpu xmlns:nvvgpu='urn:nvvgpu:libvirt:1' type='L40S-2Q' count='1'/></metadata></domain>\n" \
                "$i" "$i" >"$dir/vm$i.xml"
done

checks=0
check() {
        checks=$((checks + 1))
        nvvgpuctl list >"$dir/list" 2>&1 || fail "list: $(cat "$dir/list")"
        nvvgpuctl list --json >"$dir/list.json" 2>&1 || fail "list --json"
        # Per GPU: the daemon's set and the firmware's, as "gpu vgpu_id placement fb_offset_mib".
        awk -F'[:,]' '/"gpu"/ {g=$0; sub(/.*"gpu": "/, "", g); sub(/".*/, "", g)} /"vgpu_id"/ {id=$2} /"placement"/ {p=$2}
                      /"fb_offset_mib"/ {print g, id+0, p+0, $2+0}' "$dir/list.json" | sort >"$dir/daemon.set"
        for g in 0 1; do
                bdf=$PF0; [ $g = 1 ] && bdf=$PF1
                nvvgpu-sim status --socket "$S" $g |
                        awk -F'[:,]' -v b=$bdf '/"vgpu_id"/ {id=$2} /"placement_id"/ {p=$2} /"fb_offset"/ {print b, id+0, p+0, int(($2+0)/1048576)}'
        done | sort >"$dir/fw.set"
        cmp -s "$dir/daemon.set" "$dir/fw.set" ||
                fail "daemon and firmware differ: daemon [$(tr '\n' ';' <"$dir/daemon.set")] firmware [$(tr '\n' ';' <"$dir/fw.set")]"
        check_definitions
        # mdevctl's files: one per definition with a GPU, none without a definition.
        awk '/^5d9b4f6e/ && $3 != "-" && $3 != "any" {print $3 "/" $1}' "$dir/defs" | sort >"$dir/wantfiles"
        (cd "$dir/mdevctl.d" 2>/dev/null && ls -d */* 2>/dev/null) | sort >"$dir/havefiles"
        cmp -s "$dir/wantfiles" "$dir/havefiles" ||
                fail "mdevctl files [$(tr '\n' ';' <"$dir/havefiles")] are not the definitions with a GPU [$(tr '\n' ';' <"$dir/wantfiles")]"
        awk 'NR > 1 {print $1}' "$dir/list" | sort >"$dir/have"
        check_acked_vgpus
        # Domains: prepared (one vGPU for it), released (none), or cut off (at most one).
        for vm in vm0 vm1 vm2 vm3; do
                n=$(awk -v vm=$vm 'NR > 1 && $NF == vm' "$dir/list" | grep -c .)
                v=$(awk -v vm=$vm '$3 == vm && $2 ~ /^(prepare|release)$/ {s = $1 " " $2} END {print s}' "$dir/acks")
                case $v in
                "ack prepare") [ "$n" = 1 ] || fail "domain $vm's prepare was acknowledged; it has $n vGPUs" ;;
                "ack release"|"") [ "$n" = 0 ] || fail "domain $vm was released (or never prepared); it has $n vGPUs" ;;
                *) [ "$n" -le 1 ] || fail "domain $vm has $n vGPUs" ;;
                esac
        done
        # Nothing nobody asked for.
        while read -r u vm; do
                grep -q " $u\$" "$dir/acks" && continue
                case $vm in vm[0-3]) grep -q " prepare $vm\$" "$dir/acks" && continue ;; esac
                fail "a vGPU nobody asked for: $u (VM $vm)"
        done < <(awk 'NR > 1 {print $1, $NF}' "$dir/list")
        check_no_intents
        [ -d "$SYS/class/mdev_bus/$PF0/mdev_supported_types/nvidia-$T2" ] || fail "GPU 0's types are not registered in sysfs"
        # From here on what exists is the reference: cut-off requests are resolved.
        # (The hook's vGPUs are the domains' verdicts, not by name.)
        { awk 'NR > 1 && $1 ~ /^(5d9b4f6e|0000:)/ {print "ack create", $1}' "$dir/list"
          awk '/^5d9b4f6e/ {print "ack define-" ($4 == "yes" ? "auto" : "noauto"), $1}' "$dir/defs"
          for vm in vm0 vm1 vm2 vm3; do
                if awk -v vm=$vm 'NR > 1 && $NF == vm' "$dir/list" | grep -q .; then echo "ack prepare $vm"; else echo "ack release $vm"; fi
          done; } >"$dir/now"
        cp "$dir/now" "$dir/acks"
}

# After the simulator came back: nvvgpud reconnects, and both GPUs are ready again.
wait_recovered() {
        i=0
        while :; do
                out=$(nvvgpuctl gpus 2>&1)
                [ "$(echo "$out" | grep -c ' ready ')" = 2 ] && [ -d "$SYS/class/mdev_bus/$PF0/mdev_supported_types/nvidia-$T2" ] && return 0
                kill -0 "$dpid" 2>/dev/null || fail "nvvgpud died after the simulator restarted"
                i=$((i + 1)); [ $i -gt 300 ] && fail "nvvgpud did not recover its GPUs within 15 s of the simulator's restart: $out"
                sleep 0.05
        done
}

k_daemon=0
k_sim=0
k_both=0
t0=$(date +%s)
start_sim
start_daemon
echo "$dpid" >"$dir/dpid"
kind=none
while [ $kill_no -lt "$kills_wanted" ]; do
        kill_no=$((kill_no + 1))
        kind=${kinds[$(( $(rnd) % ${#kinds[@]} ))]}
        rm -f "$dir/stop"
        bash "$dir/storm1.sh" & s1=$!
        bash "$dir/storm2.sh" & s2=$!
        storms="$s1 $s2"
        sleep "0.$(printf '%03d' $(( $(rnd) % 400 + 50 )))"
        case $kind in
        daemon) kill -9 "$dpid"; reap "$dpid"; k_daemon=$((k_daemon + 1)) ;;
        sim)    kill_sim; k_sim=$((k_sim + 1)) ;;
        both)   if [ $(( $(rnd) % 2 )) = 0 ]; then kill -9 "$dpid"; kill_sim; else kill_sim; kill -9 "$dpid"; fi
                reap "$dpid"; k_both=$((k_both + 1)) ;;
        esac
        # The storms stop between requests; what was in flight failed, so the log holds exactly
        # what was acknowledged.
        touch "$dir/stop"
        reap $storms
        storms=
        case $kind in
        daemon) start_daemon ;;
        sim)    start_sim; wait_recovered ;;
        both)   start_sim; start_daemon ;;
        esac
        echo "$dpid" >"$dir/dpid"
        check
        if [ $((kill_no % 10)) = 0 ] || [ $kill_no = "$kills_wanted" ]; then
                echo "rel-crash: $kill_no/$kills_wanted kill points (nvvgpud $k_daemon, nvvgpu-sim $k_sim, both $k_both), $checks invariant checks passed, $(( $(date +%s) - t0 )) s" >&2
        fi
done
settled=$(grep -c 'is settled' "$dir/d.log")
made=$(grep -c 'made again\|started from its definition' "$dir/d.log")
recovered=$(grep -c 'recovered [0-9]* of' "$dir/d.log")
{
        echo "crash.kills $kill_no"
        echo "crash.kills_daemon $k_daemon"
        echo "crash.kills_sim $k_sim"
        echo "crash.kills_both $k_both"
        echo "crash.checks $checks"
        echo "crash.settled $settled"
        echo "crash.made_again $made"
        echo "crash.recoveries $recovered"
        echo "crash.secs $(( $(date +%s) - t0 ))"
} >>"$results"
echo "rel-crash: $kill_no kill points (nvvgpud $k_daemon, nvvgpu-sim $k_sim, both $k_both), $checks invariant checks passed:" \
        "zero leaks, zero lost definitions, nothing acknowledged lost; $settled interrupted operations settled," \
        "$made vGPUs made again, $recovered GPU recoveries after a simulator restart"
