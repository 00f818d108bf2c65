#!/bin/sh
# Crash consistency of nvvgpud: kill -9 the daemon at random points of a create / destroy /
# define / undefine / start / stop storm, NVV_CRASH_CYCLES times (default 200), restarting it
# on the same state directory and the same simulated firmware each time. After every restart:
#   - the daemon's vGPUs and the firmware's are the same set (id, placement, FB offset):
#     nothing leaked in the firmware, nothing the daemon holds that the firmware does not;
#   - every create a client was told succeeded, and not destroyed since (as far as any
#     client was told), is there: nothing acknowledged is lost;
#   - nothing is there that no client asked for;
#   - every acknowledged definition is there (with its autostart flag), every acknowledged
#     undefine gone: zero lost definitions; and a definition with autostart is made;
#   - the state file holds no unsettled intent.
set -u
build=${NVV_TOP_BUILDDIR:?run through make check}
. "${NVV_TOP_SRCDIR:?run through make check}/tests/integration/crash-checks.sh"
PATH="$build:$PATH"
export PATH
cycles=${NVV_CRASH_CYCLES:-200}
dir=$(mktemp -d /tmp/nvv-crash-XXXXXX)
spid=
dpid=
storm=
cleanup() {
        for p in $storm $dpid $spid; do kill -9 "$p" 2>/dev/null; done
        wait 2>/dev/null
        rm -rf "$dir"
}
trap cleanup EXIT
fail() {
        echo "FAIL (cycle $cycle): $*"
        echo "--- daemon log"; tail -20 "$dir/d.log"
        exit 1
}
rnd() { od -An -N2 -tu2 /dev/urandom | tr -d ' \n'; }
wait_sock() { # SOCKET PID
        i=0
        while ! [ -S "$1" ]; do
                kill -0 "$2" 2>/dev/null || return 1
                i=$((i + 1)); [ $i -gt 400 ] && return 1
                sleep 0.02
        done
}

nvvgpu-sim --gpus 'L40S@595.45.04' --socket "$dir/s.sock" >"$dir/sim.log" 2>&1 &
spid=$!
wait_sock "$dir/s.sock" $spid || { cat "$dir/sim.log"; exit 1; }
NVVGPU_SOCKET="$dir/d.sock"
export NVVGPU_SOCKET
# Twelve names; L40S-2Q fits 24 times, so creates mostly succeed and destroys find something.
uuid() { printf '5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cc%02d' "$1"; }
: >"$dir/acks"

# One client's storm (a script of its own, so it can be stopped between requests): random
# creates and destroys; each request is logged before it is sent ("ask") and after the
# daemon acknowledged it ("ack").
cat >"$dir/storm.sh" <<EOS
rnd() { od -An -N2 -tu2 /dev/urandom | tr -d ' \\n'; }
while [ ! -e "$dir/stop" ]; do
        u=\$(printf '5d9b4f6e-1c2a-4e3b-9f00-aa11bb22cc%02d' \$(( \$(rnd) % 12 )))
        case \$(( \$(rnd) % 7 )) in
        0|1)    echo "ask create \$u" >>"$dir/acks"
                nvvgpuctl create --type L40S-2Q --uuid "\$u" >/dev/null 2>&1 && echo "ack create \$u" >>"$dir/acks" ;;
        2)      echo "ask destroy \$u" >>"$dir/acks"
                nvvgpuctl destroy "\$u" >/dev/null 2>&1 && echo "ack destroy \$u" >>"$dir/acks" ;;
        3)      if [ \$(( \$(rnd) % 2 )) = 0 ]; then a=auto; o=; else a=noauto; o=--no-autostart; fi
                # With a GPU, the definition is mdevctl's file too.
                [ \$(( \$(rnd) % 2 )) = 0 ] && o="\$o --gpu 0000:41:00.0"
                echo "ask define-\$a \$u" >>"$dir/acks"
                nvvgpuctl define --type L40S-2Q --uuid "\$u" \$o >/dev/null 2>&1 && echo "ack define-\$a \$u" >>"$dir/acks" ;;
        4)      echo "ask undefine \$u" >>"$dir/acks"
                nvvgpuctl undefine "\$u" >/dev/null 2>&1 && echo "ack undefine \$u" >>"$dir/acks" ;;
        5)      echo "ask create \$u" >>"$dir/acks"
                nvvgpuctl start "\$u" >/dev/null 2>&1 && echo "ack create \$u" >>"$dir/acks" ;;
        6)      echo "ask destroy \$u" >>"$dir/acks"
                nvvgpuctl stop "\$u" >/dev/null 2>&1 && echo "ack destroy \$u" >>"$dir/acks" ;;
        esac
done
EOS

start_daemon() {
        rm -f "$dir/d.sock"
        nvvgpud --backend "sim:$dir/s.sock" --socket "$dir/d.sock" --state-dir "$dir/state" --mdevctl-dir "$dir/mdevctl.d" --libvirt "" 2>>"$dir/d.log" &
        dpid=$!
        wait_sock "$dir/d.sock" $dpid || fail "nvvgpud did not start"
}

check() {
        nvvgpuctl list >"$dir/list" 2>&1 || fail "list: $(cat "$dir/list")"
        # The daemon's set, as "vgpu_id placement fb_offset_mib" lines, sorted.
        nvvgpuctl list --json | awk -F'[:,]' '/"vgpu_id"/ {id=$2} /"placement"/ {p=$2} /"fb_offset_mib"/ {print id+0, p+0, $2+0}' |
                sort >"$dir/daemon.set"
        nvvgpu-sim status --socket "$dir/s.sock" 0 |
                awk -F'[:,]' '/"vgpu_id"/ {id=$2} /"placement_id"/ {p=$2} /"fb_offset"/ {print id+0, p+0, int(($2+0)/1048576)}' |
                sort >"$dir/fw.set"
        cmp -s "$dir/daemon.set" "$dir/fw.set" ||
                fail "daemon and firmware differ: daemon [$(tr '\n' ';' <"$dir/daemon.set")] firmware [$(tr '\n' ';' <"$dir/fw.set")]"
        check_definitions
        awk '/^5d9b4f6e/ {print $1}' "$dir/list" | sort >"$dir/have"
        check_acked_vgpus
        for u in $(cat "$dir/have"); do
                grep -q "$u" "$dir/acks" || fail "a vGPU nobody asked for: $u"
        done
        check_no_intents
        # From here on what exists is the reference: cut-off requests are resolved by the restart.
        { awk '/^5d9b4f6e/ {print "ack create", $1}' "$dir/list"
          awk '/^5d9b4f6e/ {print "ack define-" ($4 == "yes" ? "auto" : "noauto"), $1}' "$dir/defs"; } >"$dir/now"
}

cycle=0
kills=0
start_daemon
while [ $cycle -lt "$cycles" ]; do
        cycle=$((cycle + 1))
        rm -f "$dir/stop"
        sh "$dir/storm.sh" &
        storm=$!
        # Somewhere in 0-250 ms of the storm.
        sleep "0.$(printf '%03d' $(( $(rnd) % 250 )))"
        kill -9 "$dpid" 2>/dev/null && kills=$((kills + 1))
        wait "$dpid" 2>/dev/null
        # The storm stops between requests; what was in flight failed with the daemon gone, so
        # the log holds exactly what was acknowledged.
        touch "$dir/stop"
        wait "$storm" 2>/dev/null
        storm=
        start_daemon
        check
        cp "$dir/now" "$dir/acks"
done
echo "crash-storm: $kills kills in $cycles cycles, daemon and firmware agreed after every restart," \
        "no acknowledged create or definition lost, $(grep -c 'settled' "$dir/d.log") interrupted operations settled," \
        "$(grep -c 'started from its definition' "$dir/d.log") vGPUs started from definitions at start"
