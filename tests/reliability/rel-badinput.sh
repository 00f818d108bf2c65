#!/bin/bash
# Bad input (doc/reliability.md): each libFuzzer target for NVV_REL_FUZZ_SECS (default 60)
# seconds, NVV_REL_FUZZ_JOBS (default 2) at a time, from a copy of its corpus: zero crashes,
# executions counted. Then `make check` in an ASan+UBSan build (NVV_REL_ASAN=0 skips it), and
# the unit tests under valgrind memcheck (NVV_REL_VALGRIND=0 skips it): no error, no leak
# definitely lost. Builds go to build-fuzz/ and build-asan/ beside the main build (reused).
set -u
top=${NVV_TOP_SRCDIR:?set NVV_TOP_SRCDIR}
build=${NVV_TOP_BUILDDIR:?set NVV_TOP_BUILDDIR}
results=${NVV_REL_RESULTS:-/dev/null}
secs=${NVV_REL_FUZZ_SECS:-60}
jobs=${NVV_REL_FUZZ_JOBS:-2}
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
export NVVGPU_FWABI_DIR="$top/data/fwabi" NVVGPU_GPUS_DIR="$top/data/gpus" NVV_TOP_SRCDIR="$top"
fz="$top/build-fuzz"
asan="$top/build-asan"
work=$(mktemp -d /tmp/nvv-relbad-XXXXXX)
trap 'rm -rf "$work"' EXIT
configure() { # DIR OPTIONS...
        d=$1; shift
        [ -f "$d/Makefile" ] || { mkdir -p "$d" && (cd "$d" && "$top/configure" -q "$@"); } || return 1
        make -C "$d" -j2 >"$d/rel-make.log" 2>&1
}

if [ "$secs" != 0 ]; then
        if ! command -v clang >/dev/null; then
                echo "SKIP: fuzzing: clang is not installed"
        elif ! configure "$fz" --enable-werror --enable-fuzzing --enable-sanitizers CC=clang; then
                bad "the libFuzzer build failed: $(tail -5 "$fz/rel-make.log")"
        else
                ts=$(for f in "$fz"/tests/fuzz/libfuzzer-*; do [ -f "$f" ] && [ -x "$f" ] && echo "$f"; done)
                n=0
                for t in $ts; do
                        name=$(basename "$t" | sed 's/^libfuzzer-/fuzz-/')
                        (
                                c="$work/$name"
                                mkdir -p "$c"
                                cp -r "$top/tests/fuzz/corpus/$name/." "$c/" 2>/dev/null
                                "$t" -max_total_time="$secs" -rss_limit_mb=2048 -artifact_prefix="$work/$name-" "$c" \
                                        >"$work/$name.log" 2>&1
                                echo $? >"$work/$name.rc"
                        ) &
                        n=$((n + 1))
                        [ $((n % jobs)) = 0 ] && wait
                        echo "rel-badinput: fuzzing $n of $(echo $ts | wc -w) targets, $secs s each" >&2
                done
                wait
                total=0
                for t in $ts; do
                        name=$(basename "$t" | sed 's/^libfuzzer-/fuzz-/')
                        runs=$(grep -o 'Done [0-9]* runs' "$work/$name.log" | awk '{print $2}')
                        rc=$(cat "$work/$name.rc")
                        if [ "$rc" != 0 ] || [ -z "$runs" ]; then
                                bad "$name: exit $rc: $(grep -m3 'ERROR\|SUMMARY\|crash-' "$work/$name.log" | tr '\n' '|')"
                                cp "$work/$name.log" "$build/rel-$name.log" 2>/dev/null
                        fi
                        echo "fuzz.$name ${runs:-0}" >>"$results"
                        total=$((total + ${runs:-0}))
                done
                echo "fuzz.targets $(echo $ts | wc -w)" >>"$results"
                echo "fuzz.secs_each $secs" >>"$results"
                echo "fuzz.total_execs $total" >>"$results"
        fi
fi

if [ "${NVV_REL_ASAN:-1}" != 0 ]; then
        echo "rel-badinput: make check under ASan+UBSan (build-asan)" >&2
        if ! configure "$asan" --enable-werror --enable-sanitizers; then
                bad "the ASan build failed: $(tail -5 "$asan/rel-make.log")"
        else
                make -C "$asan" -j2 check >"$work/asan.log" 2>&1 || bad "make check under ASan+UBSan: $(grep -E '^(FAIL|ERROR):' "$asan/test-suite.log" | head -5 | tr '\n' '|')"
                echo "asan.pass $(sed -n 's/^# PASS: *//p' "$asan/test-suite.log")" >>"$results"
                echo "asan.skip $(sed -n 's/^# SKIP: *//p' "$asan/test-suite.log")" >>"$results"
                echo "asan.fail $(( $(sed -n 's/^# FAIL: *//p' "$asan/test-suite.log") + $(sed -n 's/^# ERROR: *//p' "$asan/test-suite.log") ))" >>"$results"
        fi
fi

if [ "${NVV_REL_VALGRIND:-1}" != 0 ]; then
        if ! command -v valgrind >/dev/null; then
                echo "SKIP: valgrind is not installed"
        else
                vp=0 vf=0 vs=0
                for t in "$build"/tests/unit/test-*; do
                        [ -x "$t" ] && [ -f "$t" ] || continue
                        name=$(basename "$t")
                        echo "rel-badinput: valgrind $name" >&2
                        # umockdev's tests run under its wrapper (its LD_PRELOAD), valgrind inside it.
                        wrap=
                        [ "$name" = test-host-umockdev ] && wrap=umockdev-wrapper
                        (cd "$build" && NVV_TOP_BUILDDIR="$build" NVV_FIXTURES="$top/tests/fixtures" NVV_FUZZ_CORPUS="$top/tests/fuzz/corpus" \
                                CK_TIMEOUT_MULTIPLIER=20 CMOCKA_TEST_ABORT=1 \
                                timeout 600 $wrap valgrind -q --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \
                                --error-exitcode=99 --suppressions="$top/tests/reliability/valgrind.supp" \
                                --log-file="$work/vg-$name.log" "$t" >"$work/vg-$name.out" 2>&1)
                        rc=$?
                        case $rc in
                        0) vp=$((vp + 1)) ;;
                        77) vs=$((vs + 1)) ;;
                        *) vf=$((vf + 1)); bad "valgrind $name: exit $rc: $(grep -m2 'Invalid\|uninitialised\|definitely lost\|Conditional' "$work/vg-$name.log" | tr '\n' '|')"
                           cp "$work/vg-$name.log" "$build/rel-valgrind-$name.log" 2>/dev/null ;;
                        esac
                done
                echo "valgrind.pass $vp" >>"$results"
                echo "valgrind.fail $vf" >>"$results"
                echo "valgrind.skip $vs" >>"$results"
        fi
fi
echo "badinput.failed $fails" >>"$results"
[ $fails = 0 ]
