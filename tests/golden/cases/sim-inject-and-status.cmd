d=$(mktemp -d); s=$d/sim.sock
nvvgpu-sim --gpus 'L40S@570.144' --socket $s >/dev/null 2>&1 & p=$!
i=0; while [ ! -S $s ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
nvvgpu-sim inject --socket $s 'crash:3'; echo "inject crash: $?"
nvvgpu-sim inject --socket $s 'status:create_device:NV_ERR_INSUFFICIENT_RESOURCES*2'; echo "inject status: $?"
nvvgpu-sim inject --socket $s 'frobnicate:create_device'; echo "inject bad: $?"
nvvgpu-sim status --socket $s | sed -E 's/"rpcs": [0-9]+/"rpcs": N/'
kill $p; wait $p; rm -rf $d
