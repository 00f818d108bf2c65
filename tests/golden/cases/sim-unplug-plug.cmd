d=$(mktemp -d); s=$d/sim.sock
nvvgpu-sim --gpus 'L40S@570.144*2' --socket $s >/dev/null 2>&1 & p=$!
i=0; while [ ! -S $s ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
nvvgpu-sim inject --socket $s 'unplug'; echo "inject unplug without a GPU: $?"
nvvgpu-sim inject --socket $s 'unplug@1'; echo "inject unplug@1: $?"
nvvgpu-sim inject --socket $s 'unplug@1'; echo "inject unplug@1 again: $?"
nvvgpu-sim inject --socket $s 'reset@1'; echo "inject reset@1: $?"
nvvgpu-sim status --socket $s 1 | grep -E '"present"|"types"'
nvvgpu-sim inject --socket $s 'plug@1'; echo "inject plug@1: $?"
nvvgpu-sim inject --socket $s 'plug@1'; echo "inject plug@1 again: $?"
nvvgpu-sim status --socket $s 1 | grep -E '"present"|"types"'
kill $p; wait $p; rm -rf $d
