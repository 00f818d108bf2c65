nvvgpu-sim --gpus 'Voodoo3*2' --socket /tmp/nvv-golden-unused.sock
