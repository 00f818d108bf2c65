nvvgpuctl fw frobnicate
