nvvgpuctl fw decode 570.144 /nonexistent/capture.bin
