nvvgpuctl fw diff 570.144
