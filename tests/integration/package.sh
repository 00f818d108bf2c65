#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian package as a user gets it: built with dpkg-buildpackage from a copy of the tree
# (the files git tracks or would track: no build outputs of the checkout), installed for real
# with dpkg -i, its installed programs run with nothing pointing at the source tree, and
# purged at the end (the nvvgpu group too, when this test made it). Checked: the releases
# come from /usr/share/nvvgpu/fwabi, the manual pages are found, the nvvgpu system group
# exists and owns nvvgpud's socket, the libvirt hook is in qemu.d and runs, the unit is
# enabled with the installed nvvgpud, bash completion completes; then the demo's first steps
# with the installed nvvgpu-sim (two L40S) and nvvgpud on private sockets and state: gpus,
# create, list. Run by `make check-package` and tools/setup.sh test, never by make check.
set -u
src=${NVV_TOP_SRCDIR:?run through make check-package}

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (it installs the package with dpkg -i, then purges it)"
command -v dpkg-buildpackage >/dev/null ||
        skip "dpkg-buildpackage is missing (Debian packages dpkg-dev debhelper fakeroot; tools/setup.sh installs them)"
command -v dh >/dev/null || skip "dh is missing (Debian package debhelper)"
command -v man >/dev/null || skip "man is missing (Debian package man-db)"
git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
        skip "$src is not a git checkout (the package is built from the files git lists)"
if dpkg-query -W -f='${Status}' nvvgpu 2>/dev/null | grep -q installed; then
        skip "an nvvgpu package is installed here already; this test installs and purges its own"
fi

dir=$(mktemp -d /tmp/nvv-package-XXXXXX)
chmod 755 "$dir"
installed=
had_group=
getent group nvvgpu >/dev/null && had_group=1
spid=
dpid=
cleanup() {
        [ -n "$dpid" ] && kill "$dpid" 2>/dev/null
        [ -n "$spid" ] && kill "$spid" 2>/dev/null
        wait 2>/dev/null
        if [ -n "$installed" ]; then
                dpkg --purge nvvgpu >"$dir/purge.log" 2>&1 || { echo "FAIL: dpkg --purge nvvgpu"; cat "$dir/purge.log"; }
                [ -z "$had_group" ] && getent group nvvgpu >/dev/null && delgroup --quiet --system nvvgpu
        fi
        rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
# Runs an installed program with an environment that names nothing of the source or build tree.
inst() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$dir" "$@"; }

# ---- build ----
mkdir "$dir/src"
git -C "$src" ls-files -z --cached --others --exclude-standard | (cd "$src" && tar --null -T - -cf -) | tar -xf - -C "$dir/src" ||
        { echo "FAIL: copying the tree"; exit 1; }
missing=$(cd "$dir/src" && dpkg-checkbuilddeps 2>&1) || skip "build dependencies missing: ${missing#*: }"
t0=$(date +%s)
(cd "$dir/src" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -b -us -uc) >"$dir/build.log" 2>&1 ||
        { tail -60 "$dir/build.log"; echo "FAIL: dpkg-buildpackage -b -us -uc"; exit 1; }
t1=$(date +%s)
deb=$(ls "$dir"/nvvgpu_*_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { echo "FAIL: no nvvgpu_*.deb built"; exit 1; }
version=$(dpkg-parsechangelog -l "$dir/src/debian/changelog" -S Version)
acver=$(sed -n 's/^AC_INIT(\[nvvgpu\], \[\([^]]*\)\].*/\1/p' "$src/configure.ac")
[ "$version" = "$acver" ] && ok "package version $version is configure.ac's" ||
        fail "debian/changelog says $version, configure.ac $acver"
grep -q "^# PASS: " "$dir/build.log" && ! grep -q "^# FAIL: *[1-9]" "$dir/build.log" &&
        ok "built in $((t1 - t0)) s, its unit tests run: $(sed -n 's/^# PASS: *//p' "$dir/build.log" | head -1) passed" ||
        fail "the build's tests did not run or failed"

# ---- install ----
installed=1
dpkg -i "$deb" >"$dir/install.log" 2>&1 || { cat "$dir/install.log"; echo "FAIL: dpkg -i $(basename "$deb")"; exit 1; }
[ "$(dpkg-query -W -f='${Status} ${Version}' nvvgpu)" = "install ok installed $version" ] && ok "dpkg -i: installed" ||
        fail "dpkg -i: status $(dpkg-query -W -f='${Status} ${Version}' nvvgpu)"
for f in /usr/bin/nvvgpuctl /usr/bin/nvvgpu-sim /usr/sbin/nvvgpud /usr/libexec/nvvgpu-hook; do
        [ -x "$f" ] && [ "$(dpkg -S "$f" 2>/dev/null | cut -d: -f1)" = nvvgpu ] || fail "$f is not an installed program of nvvgpu"
done

# ---- installed files ----
# The releases listed are the installed descriptions, and each is read from there.
want=$(cd /usr/share/nvvgpu/fwabi && ls *.json | sed 's/\.json$//' | sort)
out=$(cd "$dir" && inst nvvgpuctl fw releases 2>&1)
got=$(echo "$out" | awk 'NR > 1 {print $1}' | sort)
files=$(echo "$out" | awk 'NR > 1 {print $NF}' | sort -u | xargs -n1 dirname 2>/dev/null | sort -u)
[ -n "$want" ] && [ "$got" = "$want" ] && [ "$files" = /usr/share/nvvgpu/fwabi ] &&
        ok "nvvgpuctl fw releases: $(echo $got) from /usr/share/nvvgpu/fwabi" || fail "nvvgpuctl fw releases: $out"
f0=$fails
for p in nvvgpuctl:1 nvvgpud:8 nvvgpu-sim:8 nvvgpu-hook:8 nvvgpu-fwabi:5 nvvgpu-catalog:5 nvvgpu-policy:5; do
        page=$(inst man -w "${p%:*}" 2>&1)
        [ "$page" = "/usr/share/man/man${p#*:}/${p%:*}.${p#*:}.gz" ] || fail "man -w ${p%:*}: $page"
done
[ $fails = "$f0" ] && ok "man -w finds the seven installed pages"
gid=$(getent group nvvgpu | cut -d: -f3)
[ -n "$gid" ] && [ "$gid" -lt 1000 ] && ok "system group nvvgpu (gid $gid)" || fail "no system group nvvgpu: '$gid'"
hook=/etc/libvirt/hooks/qemu.d/nvvgpu
[ -L "$hook" ] && [ "$(readlink "$hook")" = /usr/libexec/nvvgpu-hook ] && [ -x "$hook" ] &&
        ok "$hook -> /usr/libexec/nvvgpu-hook, executable" || fail "$hook: $(ls -l "$hook" 2>&1)"
# A domain without vGPUs starts untouched, nvvgpud or not (nvvgpu-hook(8)).
out=$(echo "<domain type='kvm'><name>web</name></domain>" | inst "$hook" web prepare begin - 2>&1)
st=$?
[ $st = 0 ] && [ -z "$out" ] && ok "the hook lets a domain without vGPUs start, silently" || fail "hook: status $st: $out"
# One that asks for a vGPU, nvvgpud not running: the installed hook reads the XML itself
# (libxml2, the package's dependency) and refuses the start with its line.
out=$(echo "<domain><name>web</name><metadata><v:vgpu xmlns:v='urn:nvvgpu:libvirt:1' type='L40S-8Q'/></metadata></domain>" |
        inst NVVGPU_SOCKET="$dir/none.sock" "$hook" web prepare begin - 2>&1)
st=$?
case "$st $out" in "1 nvvgpu: VM web asks for vGPUs, but nvvgpud is not running (no socket '$dir/none.sock');"*)
        ok "nvvgpud not running: the hook reads the XML with the installed libxml2 and refuses a vGPU domain" ;;
*) fail "hook, vGPU domain without nvvgpud: status $st: $out" ;; esac
unit=/lib/systemd/system/nvvgpud.service
grep -qx "ExecStart=/usr/sbin/nvvgpud" "$unit" && grep -qx "ConditionDirectoryNotEmpty=/dev/fwctl" "$unit" &&
        ok "unit runs /usr/sbin/nvvgpud, only where /dev/fwctl has devices" || fail "$unit: $(grep -E '^(Exec|Cond)' "$unit" 2>&1)"
[ "$(readlink /etc/systemd/system/multi-user.target.wants/nvvgpud.service)" = "$unit" ] && ok "unit enabled" ||
        fail "nvvgpud.service is not enabled"
if command -v systemd-analyze >/dev/null; then
        out=$(systemd-analyze verify "$unit" 2>&1) && ok "systemd-analyze verify: clean" || fail "systemd-analyze verify: $out"
fi
if [ -d /run/systemd/system ] && ! ls -A /dev/fwctl 2>/dev/null | grep -q .; then
        # systemd runs here and there is no fwctl device: installing skipped the start, not failed it.
        st=$(systemctl show -P ActiveState nvvgpud.service)
        [ "$st" = inactive ] && [ "$(systemctl show -P ConditionResult nvvgpud.service)" = no ] &&
                ok "no /dev/fwctl device: the install's start was skipped by the condition" ||
                fail "nvvgpud.service after install without fwctl: $st"
fi
comp=/usr/share/bash-completion/completions/nvvgpuctl
out=$(inst bash -c '. "$1"; COMP_WORDS=(nvvgpuctl cr); COMP_CWORD=1; _nvvgpuctl; echo "${COMPREPLY[*]}"' sh "$comp" 2>&1)
[ "$out" = create ] && ok "bash completion: nvvgpuctl cr<TAB> -> create" || fail "bash completion ($comp): '$out'"

# ---- the demo's first steps, on the installed programs ----
S="$dir/sim.sock"
D="$dir/d.sock"
inst nvvgpu-sim --gpus 'L40S@595.45.04*2' --socket "$S" >"$dir/sim.log" 2>&1 &
spid=$!
i=0
while [ ! -S "$S" ]; do
        kill -0 "$spid" 2>/dev/null || { cat "$dir/sim.log"; echo "FAIL: the installed nvvgpu-sim did not start"; exit 1; }
        i=$((i + 1)); [ $i -gt 200 ] && { echo "FAIL: nvvgpu-sim made no socket"; exit 1; }
        sleep 0.05
done
inst nvvgpud --backend "sim:$S" --socket "$D" --state-dir "$dir/state" --mdevctl-dir '' --sysfs-root '' --libvirt '' \
        >"$dir/d.log" 2>&1 &
dpid=$!
i=0
while [ ! -S "$D" ]; do
        kill -0 "$dpid" 2>/dev/null || { cat "$dir/d.log"; echo "FAIL: the installed nvvgpud did not start"; exit 1; }
        i=$((i + 1)); [ $i -gt 400 ] && { echo "FAIL: nvvgpud made no socket"; exit 1; }
        sleep 0.05
done
[ "$(stat -c '%G %a' "$D")" = "nvvgpu 660" ] && ok "nvvgpud's socket is root:nvvgpu 0660 (the package's group)" ||
        fail "socket: $(stat -c '%U:%G %a' "$D")"
ctl() { inst NVVGPU_SOCKET="$D" nvvgpuctl "$@" 2>&1; }
out=$(ctl gpus)
[ "$(echo "$out" | grep -cE '^0000:4[12]:00\.0  L40S +595\.45\.04  ready')" = 2 ] && ok "nvvgpuctl gpus: two L40S ready" ||
        fail "nvvgpuctl gpus: $out"
uuid=$(ctl create --type L40S-8Q --vm db-1)
echo "$uuid" | grep -qxE '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' && ok "nvvgpuctl create: $uuid" ||
        fail "nvvgpuctl create --type L40S-8Q --vm db-1: $uuid"
out=$(ctl list)
echo "$out" | grep -qE "^$uuid  L40S-8Q +0000:4[12]:00\.0 +[0-9]+  created +db-1$" && [ "$(echo "$out" | wc -l)" = 2 ] &&
        ok "nvvgpuctl list: the vGPU, L40S-8Q, created, for db-1" || fail "nvvgpuctl list: $out"
out=$(inst NVVGPU_SOCKET="$D" bash -c '. "$1"; COMP_WORDS=(nvvgpuctl show --gpu ""); COMP_CWORD=3; _nvvgpuctl
        echo "${COMPREPLY[*]}"' sh "$comp" 2>&1)
[ "$out" = "0000:41:00.0 0000:42:00.0" ] && ok "bash completion: --gpu <TAB> -> the running nvvgpud's GPUs" ||
        fail "bash completion of --gpu: '$out'"
# The installed hook hands the domain XML to the installed nvvgpud, which reads it (libxml2
# loaded there) and makes the vGPU its metadata asks for; the release removes it.
xml="<domain><name>web</name><metadata><v:vgpu xmlns:v='urn:nvvgpu:libvirt:1' type='L40S-8Q'/></metadata></domain>"
out=$(echo "$xml" | inst NVVGPU_SOCKET="$D" "$hook" web prepare begin - 2>&1) && ctl list --vm web | grep -qE "L40S-8Q .* running +web$" &&
        ok "hook prepare through the installed nvvgpud: web's L40S-8Q made and running" || fail "hook prepare: $out; $(ctl list)"
out=$(inst NVVGPU_SOCKET="$D" "$hook" web release end destroyed </dev/null 2>&1) && [ "$(ctl list --vm web | wc -l)" = 1 ] &&
        ok "hook release: web's vGPU removed" || fail "hook release: $out; $(ctl list)"

[ $fails = 0 ] || { echo "$fails checks failed"; exit 1; }
echo "package: built in $((t1 - t0)) s, installed, run and purged"
