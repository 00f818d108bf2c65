nvvgpuctl fw diff --json 570.144 580.65.06
