printf "hello, firmware" | nvvgpuctl fw decode 570.144
