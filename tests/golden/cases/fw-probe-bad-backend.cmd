nvvgpuctl fw probe --backend sim-socket
