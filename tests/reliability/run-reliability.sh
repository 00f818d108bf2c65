#!/bin/bash
# make check-reliability (doc/reliability.md): the parts named in NVV_REL_PARTS (default
# "crash faults load badinput"), each a script of tests/reliability/, a progress line on
# stderr throughout, and a summary table with every figure at the end, also written to
# $NVV_TOP_BUILDDIR/reliability-results.txt. Exit status non-zero when any part failed.
set -u
top=${NVV_TOP_SRCDIR:?set NVV_TOP_SRCDIR}
build=${NVV_TOP_BUILDDIR:?set NVV_TOP_BUILDDIR}
export NVV_TOP_SRCDIR NVV_TOP_BUILDDIR
export NVVGPU_FWABI_DIR="${NVVGPU_FWABI_DIR:-$top/data/fwabi}" NVVGPU_GPUS_DIR="${NVVGPU_GPUS_DIR:-$top/data/gpus}"
parts=${NVV_REL_PARTS:-crash faults load badinput}
out="$build/reliability-results.txt"
raw=$(mktemp /tmp/nvv-rel-XXXXXX)
trap 'rm -f "$raw"' EXIT
export NVV_REL_RESULTS="$raw"
status=0
declare -A wall verdict
for p in $parts; do
        case $p in crash|faults|load|badinput) ;; *) echo "run-reliability: unknown part '$p' (crash faults load badinput)" >&2; exit 2 ;; esac
        echo "== reliability: $p" >&2
        t0=$(date +%s)
        bash "$top/tests/reliability/rel-$p.sh"
        rc=$?
        wall[$p]=$(( $(date +%s) - t0 ))
        case $rc in 0) verdict[$p]=pass ;; 77) verdict[$p]=skip ;; *) verdict[$p]=FAIL; status=1 ;; esac
        echo "== reliability: $p: ${verdict[$p]} in ${wall[$p]} s" >&2
done
v() { awk -v k="$1" '$1 == k {$1 = ""; sub(/^ /, ""); print; exit}' "$raw"; }
{
        echo "nvvgpu reliability results ($(date -u '+%Y-%m-%d %H:%M UTC'), parts: $parts)"
        printf '%-46s %s\n' "FIGURE" "VALUE"
        for p in $parts; do
                printf '%-46s %s\n' "[$p]" "${verdict[$p]} in ${wall[$p]} s"
                case $p in
                crash)
                        for k in kills kills_daemon kills_sim kills_both checks settled made_again recoveries; do
                                printf '%-46s %s\n' "  crash: $k" "$(v crash.$k)"
                        done ;;
                faults)
                        for k in kinds cases errors recoveries failed slowest_ms slowest_case; do
                                printf '%-46s %s\n' "  faults: $k" "$(v faults.$k)"
                        done ;;
                load)
                        for k in clients secs ops errors_client errors_other overcommit_samples max_held; do
                                printf '%-46s %s\n' "  load: $k" "$(v load.$k)"
                        done
                        grep '^load\.op\.' "$raw" | while read -r k rest; do printf '%-46s %s\n' "  load: ${k#load.op.}" "$rest"; done ;;
                badinput)
                        grep '^fuzz\.fuzz-' "$raw" | while read -r k n; do printf '%-46s %s\n' "  fuzz: ${k#fuzz.} executions" "$n"; done
                        for k in fuzz.targets fuzz.secs_each fuzz.total_execs asan.pass asan.skip asan.fail valgrind.pass valgrind.fail valgrind.skip; do
                                printf '%-46s %s\n' "  $k" "$(v $k)"
                        done ;;
                esac
        done
} >"$out"
cat "$out"
echo "(written to $out)"
exit $status
