nvvgpuctl fw diff 535.113.01 550.40.07 --json
