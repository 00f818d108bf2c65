#!/bin/sh
# Golden tests for everything a person sees from the CLI. Each tests/golden/cases/NAME.cmd
# holds one command line (run with sh from the build directory, "nvvgpuctl" on PATH);
# its stdout, stderr and exit status must equal tests/golden/expected/NAME.out.
# NVV_TEST_REGENERATE_OUTPUT=1 rewrites the expected files instead of comparing.
# @SRCDIR@ in a case is the source tree; in output, the source tree path becomes @SRCDIR@.
set -u
src=${NVV_TOP_SRCDIR:?}
build=${NVV_TOP_BUILDDIR:?}
PATH="$build:$PATH"
export PATH
out_dir="$build/tests/golden/out"
mkdir -p "$out_dir"
pass=0; fail=0
for case in "$src"/tests/golden/cases/*.cmd; do
        [ -e "$case" ] || { echo "no golden cases found in $src/tests/golden/cases"; exit 1; }
        name=$(basename "$case" .cmd)
        cmd=$(sed "s|@SRCDIR@|$src|g" "$case")
        actual="$out_dir/$name.out"
        ( cd "$build" && sh -c "$cmd" ) >"$actual.stdout" 2>"$actual.stderr"
        rc=$?
        { cat "$actual.stdout"; if [ -s "$actual.stderr" ]; then echo "--- stderr"; cat "$actual.stderr"; fi; echo "--- exit $rc"; } |
                sed "s|$src|@SRCDIR@|g" >"$actual"
        expected="$src/tests/golden/expected/$name.out"
        if [ "${NVV_TEST_REGENERATE_OUTPUT:-0}" = 1 ]; then
                cp "$actual" "$expected"
                echo "regenerated $name"
                continue
        fi
        if [ ! -f "$expected" ]; then
                echo "FAIL $name: no expected output (run with NVV_TEST_REGENERATE_OUTPUT=1)"
                fail=$((fail + 1))
        elif diff -u "$expected" "$actual"; then
                pass=$((pass + 1))
        else
                echo "FAIL $name"
                fail=$((fail + 1))
        fi
done
echo "golden: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
