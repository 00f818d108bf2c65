nvvgpuctl fw diff 570.144 570.144
