#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make bench: every benchmark in turn, each measuring its baseline in the same run; then one
# table of all their figures (doc/benchmarks.md).
#
#   run-all.sh                      run them (NVV_TOP_SRCDIR, NVV_TOP_BUILDDIR: make sets them)
#   run-all.sh 'NAME|WHAT|CMD'...   run these instead (the test's way in; CMD is split at blanks)
#   run-all.sh --format IN TXT JSON the table and JSON of the figure lines in IN (the test's way in)
#
# A progress line per benchmark goes to stderr, each benchmark's own table to stdout, then the
# whole table, written also to $NVV_TOP_BUILDDIR/bench-results.txt and .json (the figure lines
# as the benchmarks wrote them: bench-results.tsv, their output: bench-logs/). Exit 1 when a
# figure missed its target or a benchmark failed to run; one that cannot run here (exit 77)
# is a SKIP row with its reason, neither pass nor failure.
# NVV_BENCH_ONLY="fw pgpu": only these (names with or without "bench-").
# NVV_BENCH_TIMEOUT: seconds one benchmark may take (default 900), then it is an ERROR.
set -u

# ---- the table and the JSON ----

# format IN TXT JSON: prints the table; returns 1 when a figure is MISSED or ERROR (or IN has
# a line that is not a figure: that is an ERROR row), else 0.
format() {
        local in=$1 txt=$2 json=$3
        awk -F '\t' -v txt="$txt" -v json="$json" '
                function jstr(s,    i, c, o) {
                        if (s == "-") return "null"
                        o = ""
                        for (i = 1; i <= length(s); i++) {
                                c = substr(s, i, 1)
                                if (c == "\\" || c == "\"") o = o "\\" c
                                else if (index(ctl, c)) o = o sprintf("\\u%04x", index(ctl, c))
                                else o = o c
                        }
                        return "\"" o "\""
                }
                function jnum(s) {
                        return s ~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ ? s : "null"
                }
                # For the eye: 4 or so significant digits (the JSON keeps all the line has).
                function show(s,    a) {
                        if (s !~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/) return s
                        a = s < 0 ? -s : s
                        return a >= 1000 ? sprintf("%.0f", s) : a >= 100 ? sprintf("%.1f", s) : \
                               a >= 1 ? sprintf("%.2f", s) : a == 0 ? "0" : sprintf("%.3g", s)
                }
                function add(f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14) {
                        n++
                        F[n, 1] = f1; F[n, 2] = f2; F[n, 3] = f3; F[n, 4] = f4; F[n, 5] = f5; F[n, 6] = f6
                        F[n, 7] = f7; F[n, 8] = f8; F[n, 9] = f9; F[n, 10] = f10; F[n, 11] = f11; F[n, 12] = f12
                        F[n, 13] = f13; F[n, 14] = f14
                }
                BEGIN {
                        for (i = 1; i < 32; i++) ctl = ctl sprintf("%c", i)
                        ok_verdict["met"] = ok_verdict["MISSED"] = ok_verdict["info"] = 1
                        ok_verdict["SKIP"] = ok_verdict["ERROR"] = 1
                }
                /^$/ { next }
                {
                        if (NF != 14 || !($13 in ok_verdict) || $6 !~ /^[0-9]+$/) {
                                line = $0
                                gsub(/\t/, " | ", line)
                                add("run-all", "(a line that is not a figure)", "-", "-", "-", "0", "-", "-", "-",
                                    "-", "-", "-", "ERROR", "line " NR ": " substr(line, 1, 120))
                                next
                        }
                        add($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                        D[n, 4] = show($4); D[n, 5] = show($5); D[n, 9] = show($9); D[n, 10] = show($10)
                }
                END {
                        split("bench figure stat value spread unit baseline base_value base_spread vs target verdict note",
                              H, " ")
                        # table column -> field
                        split("1 2 3 4 5 7 8 9 10 11 12 13 14", C, " ")
                        nc = 13
                        for (c = 1; c <= nc; c++) W[c] = length(H[c])
                        for (r = 1; r <= n; r++)
                                for (c = 1; c <= nc; c++)
                                        if (length(((r, C[c]) in D) ? D[r, C[c]] : F[r, C[c]]) > W[c])
                                                W[c] = length(((r, C[c]) in D) ? D[r, C[c]] : F[r, C[c]])
                        line = ""
                        for (c = 1; c <= nc; c++)
                                line = line sprintf(c < nc ? "%-" W[c] "s  " : "%s", toupper(H[c]))
                        print line > txt
                        for (r = 1; r <= n; r++) {
                                line = ""
                                for (c = 1; c <= nc; c++) {
                                        v = ((r, C[c]) in D) ? D[r, C[c]] : F[r, C[c]]
                                        # numbers to the right
                                        if (C[c] == 4 || C[c] == 5 || C[c] == 9 || C[c] == 10 || C[c] == 11)
                                                line = line sprintf("%" W[c] "s  ", v)
                                        else
                                                line = line sprintf(c < nc ? "%-" W[c] "s  " : "%s", v)
                                }
                                print line > txt
                                count[F[r, 13]]++
                                if (F[r, 1] != "run-all") benches[F[r, 1]] = 1
                        }
                        nb = 0
                        for (b in benches) nb++
                        printf "%d figures from %d benchmarks: %d met, %d MISSED, %d info, %d SKIP, %d ERROR " \
                               "(spread: p90 - p10 of the samples)\n", n, nb, count["met"], count["MISSED"],
                               count["info"], count["SKIP"], count["ERROR"] > txt
                        printf "[" > json
                        for (r = 1; r <= n; r++) {
                                printf "%s\n  {\"bench\": %s, \"figure\": %s, \"stat\": %s, \"value\": %s, \"spread\": %s, " \
                                       "\"spread_kind\": \"p90-p10\", \"n\": %d, \"unit\": %s, \"baseline\": %s, " \
                                       "\"base_value\": %s, \"base_spread\": %s, \"vs\": %s, \"target\": %s, " \
                                       "\"verdict\": %s, \"note\": %s}", (r > 1 ? "," : ""),
                                       jstr(F[r, 1]), jstr(F[r, 2]), jstr(F[r, 3]), jnum(F[r, 4]), jnum(F[r, 5]),
                                       F[r, 6], jstr(F[r, 7]), jstr(F[r, 8]), jnum(F[r, 9]), jnum(F[r, 10]),
                                       jstr(F[r, 11]), jstr(F[r, 12]), jstr(F[r, 13]), jstr(F[r, 14]) > json
                        }
                        printf "\n]\n" > json
                        exit (count["MISSED"] + count["ERROR"] > 0)
                }' "$in"
        local st=$?
        cat "$txt"
        return $st
}

if [ "${1:-}" = --format ]; then
        [ $# = 4 ] || { echo "usage: run-all.sh --format IN TXT JSON" >&2; exit 2; }
        format "$2" "$3" "$4"
        exit $?
fi

# ---- running them ----

src=${NVV_TOP_SRCDIR:?run it through make bench}
build=${NVV_TOP_BUILDDIR:?run it through make bench}
tmp=$(mktemp -d /tmp/nvv-bench-all-XXXXXX) || exit 1
child=
cleanup() {
        [ -n "$child" ] && kill -TERM -- "$child" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# name|what it measures (the progress line)|command
benches=(
        "bench-fw|RPC encode + frame vs the copy and checksum floor|$build/tests/bench/bench-fw"
        "bench-channel|RPC round trip and type upload vs an echo through the same rings|$build/tests/bench/bench-channel"
        "bench-vmgmt|upstream assign + deassign vs two RPC round trips|$build/tests/bench/bench-vmgmt"
        "bench-pgpu|bring-up and create vs their channel calls|$build/tests/bench/bench-pgpu"
        "bench-partition|packing quality vs optimum and first-fit, decision time|$build/tests/bench/bench-partition"
        "bench-plan|planning on live state vs the first search|$build/tests/bench/bench-plan"
        "bench-daemon|16 x 32 scale (RSS, restart, list) and IPC vs a socket echo|$build/tests/bench/bench-daemon"
        "bench-sysfs|nvvgpuctl vs mdevctl, create through FUSE vs a no-op write|bash $src/tests/bench/bench-sysfs.sh"
        "bench-hook|virsh start/destroy and hook calls vs a no-op hook|sh $src/tests/bench/bench-hook.sh"
)
[ $# -gt 0 ] && benches=("$@")
if [ -n "${NVV_BENCH_ONLY:-}" ]; then
        sel=()
        for b in "${benches[@]}"; do
                for want in $NVV_BENCH_ONLY; do
                        [ "${b%%|*}" = "bench-${want#bench-}" ] && sel+=("$b")
                done
        done
        [ ${#sel[@]} -gt 0 ] || { echo "run-all: NVV_BENCH_ONLY=$NVV_BENCH_ONLY names no benchmark" >&2; exit 1; }
        benches=("${sel[@]}")
fi

logs=$build/bench-logs
mkdir -p "$logs" || exit 1
all=$tmp/all.tsv
: >"$all"
total=${#benches[@]}
t_all=${EPOCHREALTIME/./}
i=0
# One row of run-all's own: SKIP or ERROR for a benchmark, with the reason.
own_row() { # BENCH FIGURE VERDICT REASON
        printf '%s\t%s\t-\t-\t-\t0\t-\t-\t-\t-\t-\t-\t%s\t%s\n' "$1" "$2" "$3" "$(printf '%s' "$4" | tr '\t\n\r' '   ')" >>"$all"
}
for b in "${benches[@]}"; do
        i=$((i + 1))
        name=${b%%|*}
        rest=${b#*|}
        what=${rest%%|*}
        cmd=${rest#*|}
        echo "[$i/$total] $name: $what ..." >&2
        res=$tmp/$name.tsv
        : >"$res"
        t0=${EPOCHREALTIME/./}
        # Its own process group (timeout's), so that a timeout stops what it started too.
        # shellcheck disable=SC2086 # cmd is "program" or "shell script"
        NVV_BENCH_RESULTS=$res timeout -k 30 "${NVV_BENCH_TIMEOUT:-900}" $cmd </dev/null >"$logs/$name.log" 2>"$logs/$name.err" &
        child=$!
        wait "$child"
        rc=$?
        child=
        secs=$(awk -v a="$t0" -v b="${EPOCHREALTIME/./}" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
        cat "$logs/$name.log"
        echo
        nfig=$(grep -c . "$res")
        nmiss=$(awk -F '\t' '$13 == "MISSED"' "$res" | grep -c .)
        cat "$res" >>"$all"
        reason=
        case $rc in
        0) [ "$nfig" -gt 0 ] || reason="exited 0 but reported no figures" ;;
        2) [ "$nmiss" -gt 0 ] || reason="exited 2 (a target missed) but reported no missed figure" ;;
        77) ;;
        124|137) reason="ran past ${NVV_BENCH_TIMEOUT:-900} s and was stopped" ;;
        *) if [ "$rc" -gt 128 ]; then reason="killed by signal $((rc - 128))"; else reason="exit status $rc"; fi ;;
        esac
        if [ "$rc" = 77 ]; then
                why=$(cat "$logs/$name.log" "$logs/$name.err" | sed -n 's/^SKIP: *//p' | tail -n 1)
                own_row "$name" "(skipped)" SKIP "${why:-no reason given}"
                verdict="SKIP: ${why:-no reason given}"
        elif [ -n "$reason" ]; then
                # What it said last: its FAIL line, else the end of its stderr, else of its output.
                last=$(sed -n 's/^FAIL: *//p' "$logs/$name.log" | tail -n 1)
                [ -n "$last" ] || last=$(grep -v '^$' "$logs/$name.err" | tail -n 1)
                [ -n "$last" ] || last=$(grep -v '^$' "$logs/$name.log" | tail -n 1)
                own_row "$name" "(failed to run)" ERROR "$reason${last:+: $last}"
                verdict="ERROR: $reason"
                { echo "--- $name: stderr (last 20 lines; all in $logs/$name.err)"; tail -n 20 "$logs/$name.err"; } >&2
        elif [ "$nmiss" -gt 0 ]; then
                verdict="$nfig figures, $nmiss MISSED"
        else
                verdict="$nfig figures, none missed"
        fi
        echo "[$i/$total] $name: $verdict ($secs s)" >&2
done
cp "$all" "$build/bench-results.tsv"
echo "==== all benchmarks ($(awk -v a="$t_all" -v b="${EPOCHREALTIME/./}" 'BEGIN { printf "%.0f", (b - a) / 1e6 }') s)"
format "$all" "$build/bench-results.txt" "$build/bench-results.json"
st=$?
echo "written: $build/bench-results.txt, $build/bench-results.json"
exit $st
