nvvgpuctl fw decode 535.113.01 @SRCDIR@/tests/golden/input/535.113.01-add_vgpu_types.bin
