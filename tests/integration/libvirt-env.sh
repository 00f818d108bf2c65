# Sourced by the tests and benchmarks that run a real libvirtd: re-enters the caller in a
# private mount namespace, lays tmpfs over libvirt's directories with settings that let
# libvirtd and QEMU (TCG) run here as root, and defines
#   fail MSG, wait_sock SOCKET PID, libvirt_start (after the caller installed its hook),
#   domain NAME [METADATA] [DEVICES] (a 64 MiB diskless guest);
# $dir is the caller's scratch directory, $spid / $dpid the simulator's and nvvgpud's pids
# that cleanup stops. The caller sets nothing before sourcing it but "$0".
set -u
build=${NVV_TOP_BUILDDIR:?run through make check}
PATH="$build:$PATH:/usr/sbin:/sbin"
export PATH
for p in libvirtd virtlogd virsh qemu-system-x86_64; do
        command -v $p >/dev/null ||
                { echo "SKIP: $p is not installed (apt-get install libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 libvirt-clients)"; exit 77; }
done
command -v unshare >/dev/null || { echo "SKIP: unshare (util-linux) is not installed"; exit 77; }
if [ "${NVV_IN_NS:-}" != 1 ]; then
        [ "$(id -u)" = 0 ] || { echo "SKIP: needs root for a mount namespace and libvirtd"; exit 77; }
        NVV_IN_NS=1 exec unshare -m --propagation private sh "$0" "$@"
fi
# libvirt's qemu driver looks its default user up even when qemu.conf says root.
if ! getent passwd libvirt-qemu >/dev/null; then
        useradd --system --no-create-home --home-dir /var/lib/libvirt --shell /usr/sbin/nologin libvirt-qemu ||
                { echo "SKIP: cannot create the libvirt-qemu user"; exit 77; }
fi
dir=$(mktemp -d /tmp/nvv-libvirt-XXXXXX)
chmod 755 "$dir"
spid=
dpid=
LIBVIRT_DEFAULT_URI=qemu:///system
export LIBVIRT_DEFAULT_URI
cleanup() {
        trap '' INT TERM HUP PIPE
        if [ -S /run/libvirt/libvirt-sock ]; then
                for d in $(virsh list --name 2>/dev/null); do virsh destroy "$d" >/dev/null 2>&1; done
        fi
        for f in /run/libvirt/libvirtd.pid /run/libvirt/virtlogd.pid; do
                [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
        done
        for p in $dpid $spid; do kill "$p" 2>/dev/null; done
        wait 2>/dev/null
        # libvirtd daemonized: wait for it to be gone before its directories go.
        i=0
        while [ $i -lt 100 ] && { [ -f /run/libvirt/libvirtd.pid ] || [ -f /run/libvirt/virtlogd.pid ]; }; do
                for f in /run/libvirt/libvirtd.pid /run/libvirt/virtlogd.pid; do
                        [ -f "$f" ] && ! kill -0 "$(cat "$f")" 2>/dev/null && rm -f "$f"
                done
                i=$((i + 1)); sleep 0.05
        done
        for m in /var/cache/libvirt /var/log/libvirt /var/lib/libvirt /run/libvirt /etc/libvirt; do umount "$m" 2>/dev/null; done
        rm -rf "$dir"
}
trap cleanup EXIT
# libvirtd and virtlogd run daemonized: a test stopped by a signal (or a closed pipe) stops them too.
trap 'exit 1' INT TERM HUP PIPE
fail() {
        echo "FAIL: $*"
        echo "--- hook calls"; cat "$dir/hook.log" 2>/dev/null
        echo "--- nvvgpud's log"; tail -20 "$dir/d.log" 2>/dev/null
        echo "--- libvirtd's log"; tail -20 /var/log/libvirt/libvirtd.log 2>/dev/null
        exit 1
}
wait_sock() { # SOCKET PID (PID empty: a daemonized program)
        i=0
        while ! [ -S "$1" ]; do
                [ -z "$2" ] || kill -0 "$2" 2>/dev/null || return 1
                i=$((i + 1)); [ $i -gt 400 ] && return 1
                sleep 0.025
        done
}

# ---- libvirt, private to this namespace ----
for m in /etc/libvirt /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt; do
        mkdir -p "$m" && mount -t tmpfs -o mode=0755 tmpfs "$m" || { echo "SKIP: cannot mount a tmpfs over $m"; exit 77; }
done
mkdir -p /etc/libvirt/hooks/qemu.d /etc/libvirt/qemu
cat >/etc/libvirt/qemu.conf <<EOF
user = "root"
group = "root"
security_driver = "none"
cgroup_controllers = [ ]
EOF
cat >/etc/libvirt/libvirtd.conf <<EOF
unix_sock_group = "root"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
: >/etc/libvirt/virtlogd.conf
libvirt_start() {
        virtlogd -d -p /run/libvirt/virtlogd.pid || { echo "SKIP: virtlogd does not start"; exit 77; }
        libvirtd -d -p /run/libvirt/libvirtd.pid || { echo "SKIP: libvirtd does not start"; exit 77; }
        wait_sock /run/libvirt/libvirt-sock "" || { echo "SKIP: libvirtd does not answer"; tail -5 /var/log/libvirt/libvirtd.log; exit 77; }
}

domain() { # NAME [METADATA] [DEVICES]
        cat >"$dir/$1.xml" <<EOF
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <metadata>${2:-}</metadata>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><emulator>$(command -v qemu-system-x86_64)</emulator>${3:-}</devices>
</domain>
EOF
        virsh define "$dir/$1.xml" >/dev/null || fail "virsh define $1"
}
