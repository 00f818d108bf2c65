nvvgpuctl fw probe --backend sim:/nonexistent/sim.sock
