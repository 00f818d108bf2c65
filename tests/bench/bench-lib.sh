# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the shell benchmarks (POSIX sh; sourced): the same statistics and figure lines as
# tests/bench/bench.h's bench_stats_of and bench_report (doc/benchmarks.md, "Results").

# bench_stats FILE [COLUMN [DIVISOR]]: "median spread n p10 p90" of the numbers in COLUMN
# (default 1) of FILE, each divided by DIVISOR (default 1). With the n samples sorted, the
# median is sample n/2 and the p-th percentile sample (n-1)*p/100, counted from 0; the spread
# is p90 - p10. No samples: "- - 0 - -".
bench_stats() {
        sort -g -k"${2:-1}","${2:-1}" "$1" | awk -v c="${2:-1}" -v d="${3:-1}" '
                NF >= c { v[n++] = $c / d }
                END {
                        if (n == 0) { print "- - 0 - -"; exit }
                        lo = v[int((n - 1) * 10 / 100)]; hi = v[int((n - 1) * 90 / 100)]
                        printf "%.6g %.6g %d %.6g %.6g\n", v[int(n / 2)], hi - lo, n, lo, hi
                }'
}

# bench_report KEY=VALUE...: one figure line into $NVV_BENCH_RESULTS (nothing when unset).
# Keys: bench figure stat (median) value spread n unit baseline base_value base_spread
# vs (ratio | delta | none) target met (1 | 0) note. No target: the verdict is "info".
# Returns 1 when the line cannot be written.
bench_report() {
        [ -n "${NVV_BENCH_RESULTS:-}" ] || return 0
        _b_bench=- _b_figure=- _b_stat=median _b_value=- _b_spread=- _b_n=1 _b_unit=- _b_baseline=-
        _b_base_value=- _b_base_spread=- _b_vs=none _b_target=- _b_met=0 _b_note=-
        for _b_kv in "$@"; do
                _b_v=${_b_kv#*=}
                case $_b_kv in
                bench=*) _b_bench=$_b_v ;;
                figure=*) _b_figure=$_b_v ;;
                stat=*) _b_stat=$_b_v ;;
                value=*) _b_value=$_b_v ;;
                spread=*) _b_spread=$_b_v ;;
                n=*) _b_n=$_b_v ;;
                unit=*) _b_unit=$_b_v ;;
                baseline=*) _b_baseline=$_b_v ;;
                base_value=*) _b_base_value=$_b_v ;;
                base_spread=*) _b_base_spread=$_b_v ;;
                vs=*) _b_vs=$_b_v ;;
                target=*) _b_target=$_b_v ;;
                met=*) _b_met=$_b_v ;;
                note=*) _b_note=$_b_v ;;
                *) echo "bench_report: unknown field $_b_kv" >&2; return 1 ;;
                esac
        done
        # Through the environment, not awk -v, which would read backslashes in names as escapes.
        B_BENCH=$_b_bench B_FIGURE=$_b_figure B_STAT=$_b_stat B_VALUE=$_b_value B_SPREAD=$_b_spread B_N=$_b_n \
        B_UNIT=$_b_unit B_BASELINE=$_b_baseline B_BVALUE=$_b_base_value B_BSPREAD=$_b_base_spread B_VS=$_b_vs \
        B_TARGET=$_b_target B_MET=$_b_met B_NOTE=$_b_note awk '
                function field(s) { gsub(/[\t\r\n]/, " ", s); return s == "" ? "-" : s }
                function num(s) { return s == "-" || s == "" ? "-" : sprintf("%.6g", s) }
                BEGIN {
                        bench = ENVIRON["B_BENCH"]; figure = ENVIRON["B_FIGURE"]; stat = ENVIRON["B_STAT"]
                        value = ENVIRON["B_VALUE"]; spread = ENVIRON["B_SPREAD"]; n = ENVIRON["B_N"] + 0
                        unit = ENVIRON["B_UNIT"]; baseline = ENVIRON["B_BASELINE"]; bvalue = ENVIRON["B_BVALUE"]
                        bspread = ENVIRON["B_BSPREAD"]; vs = ENVIRON["B_VS"]; target = ENVIRON["B_TARGET"]
                        met = ENVIRON["B_MET"]; note = ENVIRON["B_NOTE"]
                        c = "-"
                        if (baseline != "-" && value != "-" && bvalue != "-") {
                                if (vs == "ratio" && bvalue + 0 != 0) c = sprintf("%.2fx", value / bvalue)
                                else if (vs == "delta") c = sprintf("%+.2f", value - bvalue)
                        }
                        verdict = target == "-" || target == "" ? "info" : met == 1 ? "met" : "MISSED"
                        printf "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", field(bench), field(figure),
                                field(stat), num(value), (n > 1 ? num(spread) : "-"), n, field(unit), field(baseline),
                                (baseline == "-" ? "-" : num(bvalue)), (baseline == "-" ? "-" : num(bspread)), c,
                                field(target), verdict, field(note)
                }' >>"$NVV_BENCH_RESULTS" || { echo "bench_report: cannot write $NVV_BENCH_RESULTS" >&2; return 1; }
}

# bench_skip REASON: this benchmark cannot run here; says so and exits 77.
bench_skip() {
        echo "SKIP: $*"
        exit 77
}
