nvvgpuctl fw diff 580.159.04 580.65.06
