nvvgpu-sim --gpus 'L40S@585.12.01' --socket /tmp/nvv-golden-unused.sock
