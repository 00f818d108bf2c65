nvvgpu-sim --gpus L40S --faults 'delay:create_device' --socket /tmp/nvv-golden-unused.sock
