nvvgpuctl fw probe --backend fwctl:/nonexistent/fwctl
