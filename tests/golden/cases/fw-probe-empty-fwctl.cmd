nvvgpuctl fw probe --backend fwctl:
