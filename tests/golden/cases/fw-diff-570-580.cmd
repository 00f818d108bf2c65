nvvgpuctl fw diff 570.144 580.65.06
