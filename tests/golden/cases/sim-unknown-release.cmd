nvvgpu-sim --gpus 'L40S@575.51.02' --socket /tmp/nvv-golden-unused.sock
