d=$(mktemp -d); s=$d/sim.sock
nvvgpu-sim --gpus 'L40S@570.144,H200@580.159.04,L40S@999.1.0' --fwabi-dir @SRCDIR@/tests/golden/input/fwabi-new --socket $s >$d/log 2>&1 & p=$!
i=0; while [ ! -S $s ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
nvvgpuctl fw probe --backend sim:$s >$d/out; r=$?
sed -E 's/round trip [0-9.]+ us/round trip N us/' $d/out
kill $p; wait $p; rm -rf $d; exit $r
