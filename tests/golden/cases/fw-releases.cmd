nvvgpuctl fw releases
