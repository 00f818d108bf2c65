#!/bin/sh
# The README's two commands: `tools/setup.sh demo` and `tools/setup.sh test`.
# Both install what the project needs from Debian 12's archive (as root), then build.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

# Every build and test dependency, by Debian package name.
PACKAGES="build-essential autoconf automake pkg-config libjson-c-dev libnl-3-dev libnl-genl-3-dev
libudev-dev libvirt-dev libxml2-dev libfuse3-dev fuse3 libcmocka-dev libumockdev-dev umockdev
clang libclang-rt-14-dev xz-utils mdevctl util-linux
libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 libvirt-clients
debhelper devscripts dpkg-dev fakeroot man-db"

# Tests that run more than one thread (the golden tests start nvvgpu-sim).
TSAN_TESTS="tests/unit/test-ring tests/unit/test-genl tests/unit/test-fwctl tests/unit/test-vmgmt tests/unit/test-channel tests/unit/test-simplug
tests/unit/test-agreement tests/unit/test-pgpu tests/unit/test-daemon tests/unit/test-sock tests/unit/test-host-umockdev tests/golden/run-cli-golden.sh tests/fuzz/fuzz-simgpu"

install_packages() {
        missing=""
        for p in $PACKAGES; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
        done
        [ -z "$missing" ] && return 0
        if [ "$(id -u)" != 0 ]; then
                echo "setup: missing packages:$missing — run as root or install them first" >&2
                exit 1
        fi
        echo "setup: installing$missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

configure_build() { # DIR [configure options]
        dir=$1; shift
        [ -x configure ] || autoreconf -fi
        mkdir -p "$dir"
        (cd "$dir" && "$top/configure" -q "$@")
        make -C "$dir" -j"$jobs" >/dev/null
}

# Tests run outside automake (the Debian package), added to the summary.
extra_pass=0
extra_fail=0

summary() { # add up the automake test logs of the given build dirs
        pass=$extra_pass; fail=$extra_fail
        for d in "$@"; do
                [ -f "$d/test-suite.log" ] || continue
                p=$(sed -n 's/^# PASS: *//p' "$d/test-suite.log"); f=$(sed -n 's/^# FAIL: *//p' "$d/test-suite.log")
                e=$(sed -n 's/^# ERROR: *//p' "$d/test-suite.log")
                pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0} + ${e:-0}))
        done
        echo "$pass passed, $fail failed"
}

case "${1:-}" in
demo)
        install_packages
        configure_build build
        exec sh "$top/tools/demo.sh" "$top/build"
        ;;
test)
        install_packages
        status=0
        echo "$(date +%T) == build with -Werror, unit, golden and fuzz-corpus tests"
        configure_build build --enable-werror
        make -C build -j"$jobs" check >/dev/null || { status=1; cat build/test-suite.log; }
        echo "$(date +%T) == the same under AddressSanitizer and UndefinedBehaviorSanitizer"
        configure_build build-asan --enable-werror --enable-sanitizers
        make -C build-asan -j"$jobs" check >/dev/null || { status=1; cat build-asan/test-suite.log; }
        echo "$(date +%T) == the threaded tests (simulator, channel, events, hotplug) under ThreadSanitizer"
        configure_build build-tsan --enable-werror --enable-tsan
        make -C build-tsan -j"$jobs" check TESTS="$TSAN_TESTS" >/dev/null || { status=1; cat build-tsan/test-suite.log; }
        echo "$(date +%T) == libFuzzer smoke run (clang)"
        configure_build build-fuzz --enable-werror --enable-fuzzing --enable-sanitizers CC=clang
        for t in build-fuzz/tests/fuzz/libfuzzer-*; do
                name=$(basename "$t" | sed 's/^libfuzzer-/fuzz-/')
                corpus=$(mktemp -d)
                cp -r "tests/fuzz/corpus/$name/." "$corpus/"
                NVVGPU_FWABI_DIR="$top/data/fwabi" NVVGPU_GPUS_DIR="$top/data/gpus" NVV_TOP_SRCDIR="$top" \
                        "$t" -max_total_time=15 -rss_limit_mb=2048 "$corpus" \
                        >"build-fuzz/$name.log" 2>&1 || { status=1; tail -40 "build-fuzz/$name.log"; }
                echo "$name: $(grep -o 'Done [0-9]* runs' "build-fuzz/$name.log" | awk '{print $2}') executions in 15 s"
                rm -rf "$corpus"
        done
        echo "$(date +%T) == reliability, bounded: 40 kill points of the crash storm, every fault case, 10 s of load (doc/reliability.md)"
        t0=$(date +%s)
        if NVV_REL_PARTS="crash faults load" NVV_REL_KILLS=40 NVV_REL_LOAD_SECS=10 make -C build check-reliability \
                >build/reliability.log 2>&1; then
                extra_pass=$((extra_pass + 1))
                echo "reliability (bounded): ok in $(( $(date +%s) - t0 )) s"
        else
                status=1
                extra_fail=$((extra_fail + 1))
                tail -60 build/reliability.log
        fi
        echo "$(date +%T) == make distcheck"
        if make -C build -j"$jobs" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror >build/distcheck.log 2>&1; then
                echo "distcheck: ok"
        else
                status=1
                tail -60 build/distcheck.log
        fi
        echo "$(date +%T) == the Debian package: built from a copy of the tree, installed with dpkg, run, purged"
        t0=$(date +%s)
        st=0
        NVV_TOP_SRCDIR="$top" bash tests/integration/package.sh >build/package.log 2>&1 || st=$?
        t1=$(date +%s)
        case $st in
        0) extra_pass=$((extra_pass + 1)); echo "package: ok in $((t1 - t0)) s" ;;
        77) grep '^SKIP' build/package.log || true ;;
        *) status=1; extra_fail=$((extra_fail + 1)); tail -40 build/package.log; echo "package: failed after $((t1 - t0)) s" ;;
        esac
        summary build build-asan build-tsan
        exit $status
        ;;
*)
        echo "usage: tools/setup.sh demo|test" >&2
        exit 2
        ;;
esac
