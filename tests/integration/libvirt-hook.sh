#!/bin/sh
# nvvgpu-hook under a real libvirtd and QEMU (TCG, 64 MiB diskless guests), in a private mount
# namespace with tmpfs over libvirt's directories, against nvvgpud on nvvgpu-sim:
#   - a domain whose metadata asks for 2 x L40S-8Q (set with `virsh metadata`, as
#     nvvgpu-hook(8) says) starts with them made, bound to it and running in the simulated
#     firmware (plugin task running, a gfid); `virsh destroy` removes them;
#   - `virsh save` releases them and `virsh restore` (its restore hook passes the XML through
#     unchanged) makes them again;
#   - a domain asking for more than fits is refused: `virsh start`'s error shows the hook's
#     line, and nothing stays allocated (nvvgpud's list and the firmware are empty);
#   - a domain naming an mdev that does not exist, and one with bad nvvgpu metadata, are
#     refused with the hook's line;
#   - nvvgpud not running: a domain without vGPUs starts; one asking for a vGPU is refused
#     with "nvvgpud is not running".
# nvvgpud runs with --libvirt "" (no domain events): what is released is what the hook asked;
# then with --libvirt qemu:///system: a release the hook missed is done on libvirt's stop event,
# and a libvirtd restart leaves a running domain's vGPUs as they are.
set -u
. "${NVV_TOP_SRCDIR:?run through make check}/tests/integration/libvirt-env.sh"
# The hook as an administrator installs it, with this test's nvvgpud socket (libvirt runs
# hooks with a clean environment) and a record of every call. While $dir/hook-off exists it
# steps aside, to tell libvirt's own problems from the hook's.
cat >/etc/libvirt/hooks/qemu.d/nvvgpu <<EOF
#!/bin/sh
echo "\$*" >>$dir/hook.log
[ -e $dir/hook-off ] && exit 0
NVVGPU_SOCKET=$dir/d.sock exec $build/nvvgpu-hook "\$@"
EOF
chmod 755 /etc/libvirt/hooks/qemu.d/nvvgpu
: >"$dir/hook-off"
libvirt_start

NS="xmlns:nvvgpu='urn:nvvgpu:libvirt:1'"
domain plain
domain web
domain big "<nvvgpu:vgpu $NS type='L40S-8Q' count='7'/>"
domain badmeta "<nvvgpu:vgpu $NS type='L40S-8Q' count='0'/>"
domain ghost "" "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='6e0f3a52-9d1b-4c7e-8a21-00000000dead'/></source></hostdev>"
# Set as nvvgpu-hook(8) shows.
virsh metadata web urn:nvvgpu:libvirt:1 --key nvvgpu --set "<vgpu type='L40S-8Q' count='2'/>" --config >/dev/null ||
        fail "virsh metadata --set"
virsh dumpxml --inactive web | grep -q "<nvvgpu:vgpu xmlns:nvvgpu=\"urn:nvvgpu:libvirt:1\" type=\"L40S-8Q\" count=\"2\"/>" ||
        { virsh dumpxml --inactive web; fail "virsh metadata did not store the element"; }

# Can libvirt run a guest here at all (hook out of the way)?
if ! virsh start plain >"$dir/probe" 2>&1; then
        echo "SKIP: libvirt cannot start a QEMU guest here: $(cat "$dir/probe")"
        exit 77
fi
virsh destroy plain >/dev/null || fail "virsh destroy plain (probe)"
rm -f "$dir/hook-off"

# ---- nvvgpud on one simulated L40S (six L40S-8Q fit) ----
nvvgpu-sim --gpus 'L40S@595.45.04' --socket "$dir/s.sock" >"$dir/sim.log" 2>&1 &
spid=$!
wait_sock "$dir/s.sock" $spid || fail "nvvgpu-sim did not start: $(cat "$dir/sim.log")"
start_daemon() {
        rm -f "$dir/d.sock"
        nvvgpud --backend "sim:$dir/s.sock" --socket "$dir/d.sock" --state-dir "$dir/state" --mdevctl-dir "" --libvirt "" \
                2>>"$dir/d.log" &
        dpid=$!
        wait_sock "$dir/d.sock" $dpid || fail "nvvgpud did not start"
}
start_daemon
NVVGPU_SOCKET="$dir/d.sock"
export NVVGPU_SOCKET

vm_uuids() { # VM: its vGPUs' UUIDs in nvvgpud's list
        nvvgpuctl list --vm "$1" --json | sed -n 's/^ *"uuid": "\([0-9a-f-]*\)",$/\1/p'
}
# The firmware holds UUID with its plugin task running and a gfid.
fw_running() {
        nvvgpu-sim status --socket "$dir/s.sock" >"$dir/fw" 2>&1 || fail "nvvgpu-sim status"
        grep -A7 "\"name\": \"$1\"" "$dir/fw" | grep -q '"task": "running"' || return 1
        grep -A7 "\"name\": \"$1\"" "$dir/fw" | grep -Eq '"gfid": [1-9]'
}
fw_empty() {
        nvvgpu-sim status --socket "$dir/s.sock" >"$dir/fw" 2>&1 || fail "nvvgpu-sim status"
        tr -d ' \n' <"$dir/fw" | grep -q '"vgpus":\[\]'
}
nothing_allocated() { # WHY
        [ -z "$(nvvgpuctl list --json | grep '"uuid"')" ] || { nvvgpuctl list; fail "$1: nvvgpud still lists vGPUs"; }
        fw_empty || { cat "$dir/fw"; fail "$1: the firmware still holds vGPUs"; }
}

# 1. Metadata: two L40S-8Q made at the start, running in the firmware; gone after destroy.
virsh start plain >"$dir/out" 2>&1 || fail "a domain without vGPUs does not start: $(cat "$dir/out")"
grep -q "^plain prepare begin -" "$dir/hook.log" || fail "libvirt did not run the hook for plain"
nothing_allocated "plain started"
virsh destroy plain >/dev/null || fail "virsh destroy plain"
virsh start web >"$dir/out" 2>&1 || fail "virsh start web: $(cat "$dir/out")"
uuids=$(vm_uuids web)
[ "$(echo "$uuids" | grep -c .)" = 2 ] || { nvvgpuctl list; fail "web started with $(echo "$uuids" | grep -c .) vGPUs, not 2"; }
for u in $uuids; do
        fw_running "$u" || { cat "$dir/fw"; fail "vGPU $u of web is not running in the firmware"; }
done
nvvgpuctl list --vm web | grep -c 'L40S-8Q .* running *web' | grep -qx 2 || { nvvgpuctl list --vm web; fail "web's vGPUs are not L40S-8Q, running, bound to web"; }
virsh destroy web >/dev/null || fail "virsh destroy web"
grep -q "^web release end" "$dir/hook.log" || fail "libvirt did not run release end for web"
[ -z "$(vm_uuids web)" ] || fail "web's vGPUs are still there after virsh destroy"
nothing_allocated "web destroyed"
# What the start and stop left for after their answers (the files the state store replaced,
# the retired prepare mark) is gone once nvvgpud has answered.
[ "$(ls -A "$dir/state" | tr '\n' ' ')" = "lock state.json " ] ||
        { ls -A "$dir/state"; fail "the state directory holds more than lock and state.json after web's start and stop"; }

# 2. Save releases them; restore (the restore hook passes the XML through) makes them again.
virsh start web >"$dir/out" 2>&1 || fail "virsh start web (again): $(cat "$dir/out")"
virsh save web "$dir/web.save" >"$dir/out" 2>&1 || fail "virsh save web: $(cat "$dir/out")"
nothing_allocated "web saved"
virsh restore "$dir/web.save" >"$dir/out" 2>&1 || fail "virsh restore web: $(cat "$dir/out")"
grep -q "^web restore begin -" "$dir/hook.log" || fail "libvirt did not run restore begin"
virsh domstate web | grep -q running || fail "web is not running after restore"
[ "$(vm_uuids web | grep -c .)" = 2 ] || { nvvgpuctl list; fail "web restored without its 2 vGPUs"; }
virsh destroy web >/dev/null || fail "virsh destroy web (restored)"
nothing_allocated "restored web destroyed"

# 3. More than fits: refused with the hook's line, nothing half-made left.
virsh start big >"$dir/out" 2>&1 && fail "big (7 x L40S-8Q on one L40S) started"
grep -q "nvvgpu: VM big: no L40S-8Q for it: " "$dir/out" || { cat "$dir/out"; fail "virsh start big does not show the hook's line"; }
virsh domstate big | grep -q "shut off" || fail "big is not shut off"
nothing_allocated "big refused"

# 4. An mdev that does not exist, and bad metadata: refused with the hook's line.
virsh start ghost >"$dir/out" 2>&1 && fail "ghost (an mdev that does not exist) started"
grep -q "nvvgpu: VM ghost: its mdev 6e0f3a52-9d1b-4c7e-8a21-00000000dead does not exist" "$dir/out" ||
        { cat "$dir/out"; fail "virsh start ghost does not show the hook's line"; }
virsh start badmeta >"$dir/out" 2>&1 && fail "badmeta started"
grep -q "nvvgpu: VM badmeta: metadata: <nvvgpu:vgpu type='L40S-8Q'> count '0': expected 1 to 16" "$dir/out" ||
        { cat "$dir/out"; fail "virsh start badmeta does not show the hook's line"; }
nothing_allocated "ghost and badmeta refused"

# 6. nvvgpud's own libvirt connection (--libvirt): a release the hook missed is done when the
#    domain stops; a libvirtd restart leaves running vGPUs untouched; a domain that died while
#    libvirtd was away has its vGPUs released at the reconnect.
kill "$dpid"; wait "$dpid" || fail "nvvgpud did not stop cleanly"
rm -f "$dir/d.sock"
nvvgpud --backend "sim:$dir/s.sock" --socket "$dir/d.sock" --state-dir "$dir/state" --mdevctl-dir "" \
        --libvirt qemu:///system 2>>"$dir/d.log" &
dpid=$!
wait_sock "$dir/d.sock" $dpid || fail "nvvgpud (with --libvirt) did not start"
connected() { for _ in $(seq 100); do nvvgpuctl status | grep -q "^libvirt .*connected to qemu:///system" && ! nvvgpuctl status | grep -q "not connected" && return 0; sleep 0.1; done; return 1; }
connected || fail "nvvgpud is not connected to libvirt: $(nvvgpuctl status | grep libvirt)"
virsh start web >"$dir/out" 2>&1 || fail "virsh start web (events): $(cat "$dir/out")"
[ "$(vm_uuids web | wc -l)" = 2 ] || fail "web's vGPUs before the missed release: $(vm_uuids web)"
: >"$dir/hook-off"
virsh destroy web >/dev/null || fail "virsh destroy web (hook off)"
rm -f "$dir/hook-off"
for _ in $(seq 100); do [ -z "$(vm_uuids web)" ] && break; sleep 0.05; done
[ -z "$(vm_uuids web)" ] || fail "a release the hook missed was not done on libvirt's stop event"
grep -q "VM web stopped without its vGPUs being released; released now" "$dir/d.log" ||
        fail "the missed release is not logged"
nothing_allocated "a release the hook missed"
# libvirtd restarted while web runs: its vGPUs stay as they are
virsh start web >"$dir/out" 2>&1 || fail "virsh start web (restart): $(cat "$dir/out")"
before=$(vm_uuids web | sort | tr '\n' ' ')
kill "$(cat /run/libvirt/libvirtd.pid)"
for _ in $(seq 100); do [ -S /run/libvirt/libvirt-sock ] || break; sleep 0.05; done
libvirtd -d -p /run/libvirt/libvirtd.pid || fail "libvirtd does not start again"
wait_sock /run/libvirt/libvirt-sock "" || fail "libvirtd does not answer again"
sleep 2.5 # nvvgpud notices within a second and reconnects after its first backoff (1 s)
connected || fail "nvvgpud did not reconnect: $(nvvgpuctl status | grep libvirt)"
virsh domstate web | grep -q running || fail "web is not running after libvirtd's restart"
[ "$(vm_uuids web | sort | tr '\n' ' ')" = "$before" ] || fail "web's vGPUs changed across libvirtd's restart"
nvvgpuctl list --vm web | grep -c " running " | grep -qx 2 || fail "web's vGPUs are not running after the reconnect"
# virsh suspend / resume / reset reach the firmware: each vGPU's plugin is told to stop work,
# to resume, and to reset, over its host RPC channel (libvirt's SUSPENDED, RESUMED and reboot
# events).
fw_work() { # UUID: the plugin's work state in the firmware ("running", "stopped")
        nvvgpu-sim status --socket "$dir/s.sock" >"$dir/fw" 2>&1 || fail "nvvgpu-sim status"
        grep -A10 "\"name\": \"$1\"" "$dir/fw" | sed -n 's/^ *"work": "\([a-z]*\)",*$/\1/p'
}
fw_resets() { grep -A12 "\"name\": \"$1\"" "$dir/fw" | sed -n 's/^ *"resets": \([0-9]*\),*$/\1/p'; }
all_work() { # STATE: every vGPU of web has it in the firmware (waits up to 5 s)
        for _ in $(seq 100); do
                ok=1
                for u in $(vm_uuids web); do [ "$(fw_work "$u")" = "$1" ] || ok=; done
                [ -n "$ok" ] && return 0
                sleep 0.05
        done
        return 1
}
virsh suspend web >/dev/null || fail "virsh suspend web"
all_work stopped || { cat "$dir/fw"; fail "virsh suspend did not stop the plugins' work in the firmware"; }
nvvgpuctl list --vm web --json | grep -c '"state": "paused"' | grep -qx 2 ||
        { nvvgpuctl list --vm web --json; fail "nvvgpuctl list does not show web's vGPUs paused"; }
virsh resume web >/dev/null || fail "virsh resume web"
all_work running || { cat "$dir/fw"; fail "virsh resume did not resume the plugins' work in the firmware"; }
nvvgpuctl list --vm web | grep -c " running " | grep -qx 2 || fail "web's vGPUs are not running after resume"
virsh reset web >/dev/null || fail "virsh reset web"
# Each vGPU's plugin is reset in the firmware once per reset nvvgpud acted on. The guest's own
# BIOS may reset the machine again as it reboots (libvirt reports a second reboot, some time
# later), so the count is at least 1 and matches nvvgpud's own "reset" lines.
for _ in $(seq 100); do
        nvvgpu-sim status --socket "$dir/s.sock" >"$dir/fw" 2>&1
        n=0; for u in $(vm_uuids web); do [ "$(fw_resets "$u")" -ge 1 ] && n=$((n + 1)); done
        [ "$n" = 2 ] && break
        sleep 0.05
done
[ "$n" = 2 ] || { cat "$dir/fw"; fail "virsh reset did not reset web's plugins in the firmware"; }
for _ in $(seq 60); do
        nvvgpu-sim status --socket "$dir/s.sock" >"$dir/fw" 2>&1
        same=1
        for u in $(vm_uuids web); do
                [ "$(fw_resets "$u")" = "$(grep -c "VM web: vGPU $u reset" "$dir/d.log")" ] || same=0
        done
        [ $same = 1 ] && break
        sleep 0.05
done
[ $same = 1 ] || { cat "$dir/fw"; grep 'reset' "$dir/d.log"; fail "the firmware's resets of web's vGPUs are not the ones nvvgpud made"; }
grep -q '"vgpu-error"' "$dir/d.log" && fail "nvvgpud reported a vGPU error"
echo "virsh suspend / resume / reset: the plugins stopped work, resumed, and were reset in the firmware"
virsh destroy web >/dev/null || fail "virsh destroy web (after restart)"
for _ in $(seq 100); do [ -z "$(vm_uuids web)" ] && break; sleep 0.05; done
nothing_allocated "libvirtd restarted"
echo "nvvgpud's libvirt events: missed release done, libvirtd restart survived"

# 6b. The host loses power while web runs (nvvgpud and the firmware die together; the
#     simulator is started afresh, empty) and web is gone when nvvgpud comes back: it makes
#     web's vGPUs again from its records (as for any firmware that lost them), and its first
#     libvirt connection finds web not running and removes them: the vGPUs made for a VM's
#     run do not outlive it.
virsh start web >"$dir/out" 2>&1 || fail "virsh start web (power loss): $(cat "$dir/out")"
[ "$(vm_uuids web | wc -l)" = 2 ] || fail "web's vGPUs before the power loss: $(vm_uuids web)"
kill -KILL "$dpid" "$spid"; wait "$dpid" "$spid" 2>/dev/null
: >"$dir/hook-off"
virsh destroy web >/dev/null || fail "virsh destroy web (power loss)"
rm -f "$dir/hook-off" "$dir/s.sock" "$dir/d.sock"
nvvgpu-sim --gpus 'L40S@595.45.04' --socket "$dir/s.sock" >>"$dir/sim.log" 2>&1 &
spid=$!
wait_sock "$dir/s.sock" $spid || fail "nvvgpu-sim did not start again: $(tail -5 "$dir/sim.log")"
: >"$dir/d2.log"
nvvgpud --backend "sim:$dir/s.sock" --socket "$dir/d.sock" --state-dir "$dir/state" --mdevctl-dir "" \
        --libvirt qemu:///system 2>>"$dir/d2.log" &
dpid=$!
wait_sock "$dir/d.sock" $dpid || fail "nvvgpud did not start after the power loss: $(tail -5 "$dir/d2.log")"
for _ in $(seq 100); do [ -z "$(vm_uuids web)" ] && break; sleep 0.05; done
[ -z "$(vm_uuids web)" ] || { nvvgpuctl list; fail "web's vGPUs, made again after the power loss, stay while web is not running"; }
[ "$(grep -c "made again" "$dir/d2.log")" = 2 ] || { cat "$dir/d2.log"; fail "nvvgpud did not make web's 2 vGPUs again"; }
grep -q "VM web is not running in libvirt without its vGPUs being released; released now" "$dir/d2.log" ||
        { cat "$dir/d2.log"; fail "the release at the connect is not logged"; }
nothing_allocated "web gone after a power loss"
cat "$dir/d2.log" >>"$dir/d.log"
echo "power loss while web ran: its vGPUs made again at nvvgpud's start, removed at libvirt's connect"

# 7. A firmware fault at each step of the start: refused with the step named, nothing left.
for step in create_device alloc_host_vgpu bootload_plugin set_placement_id set_guest_lifecycle; do
        nvvgpu-sim inject --socket "$dir/s.sock" "status:$step:NV_ERR_INVALID_ARGUMENT@0" >/dev/null ||
                fail "nvvgpu-sim inject at $step"
        virsh start web >"$dir/out" 2>&1 && fail "web started with a fault at $step"
        grep "nvvgpu: VM web: " "$dir/out" | grep "$step" | grep -q NV_ERR_INVALID_ARGUMENT ||
                { cat "$dir/out"; fail "virsh start with a fault at $step does not name the step and the status"; }
        virsh domstate web | grep -q "shut off" || fail "web is not shut off after the fault at $step"
        nothing_allocated "a fault at $step"
        echo "fault at $step: $(grep -o 'nvvgpu: VM web: .*' "$dir/out" | head -1)"
done
virsh start web >"$dir/out" 2>&1 || fail "web does not start after the faults: $(cat "$dir/out")"
virsh destroy web >/dev/null || fail "virsh destroy web (after the faults)"
nothing_allocated "after the faults"

# 8. nvvgpud killed while it prepares a start (its first on-demand create held 400 ms in the
#    firmware; the kill comes 0.05 to 0.6 s after libvirt ran the hook): the start fails
#    cleanly or succeeds. After nvvgpud's restart nothing is half-made: a refused start holds
#    nothing, in nvvgpud or in the firmware; a start that succeeded holds its two vGPUs,
#    running in the firmware.
for delay in 0.05 0.15 0.3 0.6; do
        nvvgpu-sim inject --socket "$dir/s.sock" "delay:create_device:400@0" >/dev/null || fail "inject delay"
        calls=$(grep -c "^web prepare begin" "$dir/hook.log")
        virsh start web >"$dir/out" 2>&1 &
        vpid=$!
        for _ in $(seq 400); do [ "$(grep -c "^web prepare begin" "$dir/hook.log")" -gt "$calls" ] && break; sleep 0.01; done
        sleep "$delay"
        kill -9 "$dpid"; wait "$dpid" 2>/dev/null
        if wait "$vpid"; then started=yes; else started=no; fi
        sleep 0.5 # the held create is answered (to nobody)
        start_daemon
        if [ "$started" = yes ]; then
                virsh domstate web | grep -q running || fail "web started but is not running (kill after $delay s)"
                [ "$(vm_uuids web | wc -l)" = 2 ] || { nvvgpuctl list; fail "web started without its 2 vGPUs (kill after $delay s)"; }
                for u in $(vm_uuids web); do fw_running "$u" || { cat "$dir/fw"; fail "vGPU $u of web is not running in the firmware (kill after $delay s)"; }; done
                virsh destroy web >/dev/null || fail "virsh destroy web (kill after $delay s)"
                for _ in $(seq 100); do [ -z "$(vm_uuids web)" ] && break; sleep 0.05; done
        else
                virsh domstate web | grep -q "shut off" || fail "web is not shut off (kill after $delay s)"
                grep -q "nvvgpu: " "$dir/out" || { cat "$dir/out"; fail "a refused start has no hook line (kill after $delay s)"; }
        fi
        nothing_allocated "nvvgpud killed $delay s into a start ($started)"
        echo "nvvgpud killed ${delay} s into prepare: start $( [ $started = yes ] && echo succeeded || echo "refused: $(grep -o 'nvvgpu: .*' "$dir/out" | head -1)")"
done
grep -q "its start was cut short by nvvgpud's stop; undone" "$dir/d.log" || fail "no restart found a prepare cut short"

# 5. nvvgpud not running: no vGPU, no problem; a vGPU asked for, a clear refusal.
kill "$dpid"; wait "$dpid" || fail "nvvgpud did not stop cleanly"
dpid=
virsh start plain >"$dir/out" 2>&1 || fail "plain does not start without nvvgpud: $(cat "$dir/out")"
virsh destroy plain >/dev/null || fail "virsh destroy plain (no nvvgpud)"
virsh start web >"$dir/out" 2>&1 && fail "web started without nvvgpud"
grep -q "nvvgpu: VM web asks for vGPUs, but nvvgpud is not running" "$dir/out" ||
        { cat "$dir/out"; fail "virsh start web does not say that nvvgpud is not running"; }
virsh domstate web | grep -q "shut off" || fail "web is not shut off"
grep -q "Sanitizer" "$dir/d.log" && fail "nvvgpud's log has a sanitizer report"
echo "virsh start's refusal, as a user sees it:"
sed 's/^/  /' "$dir/out"
echo "PASS: libvirt-hook"
