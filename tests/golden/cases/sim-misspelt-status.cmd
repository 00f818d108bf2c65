nvvgpu-sim --gpus 'L40S@570.144*2' --faults 'status:create_device:NV_ERR_INSUFICIENT_RESOURCES@1' --socket /tmp/nvv-golden-unused.sock
