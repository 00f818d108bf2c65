#!/bin/sh
# Run COMMANDS against a real nvvgpud on a real nvvgpu-sim, both started here in a private
# directory: with-daemon.sh GPUS COMMANDS. The commands see NVVGPU_SOCKET (and the simulator's
# socket as NVVGPU_SIM_SOCKET); their output and
# exit status are this script's (stderr merged into stdout). $NVVGPUD_ARGS adds daemon options. The daemon's log is shown only when it fails to start.
set -u
gpus=$1
cmds=$2
dir=$(mktemp -d /tmp/nvv-golden-XXXXXX)
# Others may reach the socket's directory: access is the socket's mode and nvvgpud's to decide.
chmod 755 "$dir"
cleanup() {
        # nvvgpud must stop cleanly on SIGTERM, and a sanitizer build must find nothing in it:
        # either shows in the output, so the golden comparison fails.
        if [ -n "${dpid:-}" ] && kill "$dpid" 2>/dev/null; then
                wait "$dpid"
                st=$?
                [ $st = 0 ] || echo "nvvgpud exited with status $st on SIGTERM"
        fi
        if grep -q "Sanitizer" "$dir/d.log" 2>/dev/null; then
                echo "nvvgpud's log:"
                cat "$dir/d.log"
        fi
        [ -n "${spid:-}" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
        rm -rf "$dir"
}
trap cleanup EXIT
wait_for() { # SOCKET PID
        i=0
        while [ ! -S "$1" ]; do
                kill -0 "$2" 2>/dev/null || return 1
                i=$((i + 1)); [ $i -gt 200 ] && return 1
                sleep 0.05
        done
}
nvvgpu-sim --gpus "$gpus" --socket "$dir/sim.sock" >"$dir/sim.log" 2>&1 &
spid=$!
wait_for "$dir/sim.sock" $spid || { echo "nvvgpu-sim did not start:"; cat "$dir/sim.log"; exit 99; }
# shellcheck disable=SC2086
nvvgpud --backend "sim:$dir/sim.sock" --socket "$dir/d.sock" --state-dir "$dir/state" --mdevctl-dir "$dir/mdevctl.d" --libvirt "" ${NVVGPUD_ARGS:-} 2>"$dir/d.log" &
dpid=$!
wait_for "$dir/d.sock" $dpid || { echo "nvvgpud did not start:"; cat "$dir/d.log"; exit 99; }
NVVGPU_SOCKET="$dir/d.sock"
NVVGPU_SIM_SOCKET="$dir/sim.sock" # for fault injection in the commands
export NVVGPU_SOCKET NVVGPU_SIM_SOCKET
# The private directory's name changes from run to run: it reads @TMP@.
sh -c "$cmds" >"$dir/out" 2>&1
rc=$?
sed "s|$dir|@TMP@|g" "$dir/out"
exit $rc
