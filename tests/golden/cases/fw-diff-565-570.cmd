nvvgpuctl fw diff 565.77 570.144
