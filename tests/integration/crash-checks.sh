# The invariant checks crash-storm.sh and tests/reliability/rel-crash.sh run after each restart
# (sourced; both define fail). $dir/acks holds each request as "ask OP NAME" before it is sent
# and "ack OP NAME" once nvvgpud acknowledged it; a request with no ack after its ask was cut
# off by the kill, and either outcome is right for it.

# Definitions: each acknowledged one there with its autostart flag, each acknowledged undefine
# gone. Writes $dir/defs (nvvgpuctl list --defined) and $dir/defverdicts.
check_definitions() {
        awk '$1 == "ask" && $2 ~ /define/ {pend[$3] = 1}
             $1 == "ack" && $2 ~ /define/ {last[$3] = $2; pend[$3] = 0}
             END {for (u in pend) if (!pend[u]) print (last[u] == "undefine" ? "undefined" : last[u]), u}' "$dir/acks" |
                sort >"$dir/defverdicts"
        nvvgpuctl list --defined >"$dir/defs" 2>&1 || fail "list --defined: $(cat "$dir/defs")"
        awk '/^5d9b4f6e/ {print $1, ($4 == "yes" ? "auto" : "noauto")}' "$dir/defs" | sort >"$dir/havedefs"
        while read -r v u; do
                case $v in
                undefined) ! grep -q "^$u " "$dir/havedefs" ||
                        fail "$u is defined although its undefine was acknowledged (or it was never defined)" ;;
                define-*) grep -qx "$u ${v#define-}" "$dir/havedefs" ||
                        fail "acknowledged definition of $u ($v) lost: [$(tr '\n' ';' <"$dir/havedefs")]" ;;
                esac
        done <"$dir/defverdicts"
}

# vGPUs by name (after check_definitions): each acknowledged create there, each acknowledged
# destroy gone unless an autostart definition makes it again, every autostart definition made.
# $dir/have: the names that exist, one per line.
check_acked_vgpus() {
        awk '$1 == "ask" && $2 ~ /^(create|destroy)$/ {pend[$3] = 1}
             $1 == "ack" && $2 ~ /^(create|destroy)$/ {last[$3] = $2; pend[$3] = 0}
             END {for (u in pend) if (!pend[u]) print (last[u] == "create" ? "must" : "mustnot"), u}' "$dir/acks" |
                sort >"$dir/verdicts"
        for u in $(awk '$1 == "must" {print $2}' "$dir/verdicts"); do
                grep -qx "$u" "$dir/have" || fail "acknowledged create of $u lost"
        done
        for u in $(awk '$1 == "mustnot" {print $2}' "$dir/verdicts"); do
                # Made again at start by an autostart definition: certain, or possible when the
                # definition's last request was cut off.
                grep -qx "define-auto $u" "$dir/defverdicts" && continue
                if ! grep -q " $u\$" "$dir/defverdicts" && grep -q "define-auto $u\$" "$dir/acks"; then continue; fi
                ! grep -qx "$u" "$dir/have" || fail "$u exists although its destroy was acknowledged (or it was never made)"
        done
        for u in $(awk '$1 == "define-auto" {print $2}' "$dir/defverdicts"); do
                grep -qx "$u" "$dir/have" || fail "$u has an autostart definition but was not made at start"
        done
}

# No write-ahead intent left unsettled in the state file.
check_no_intents() {
        ! grep -q '"creating"\|"destroying"\|"starting"' "$dir/state/state.json" || fail "unsettled intents in the state file"
}
