nvvgpuctl fw releases --json
