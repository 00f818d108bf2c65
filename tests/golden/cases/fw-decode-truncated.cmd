head -c 3000 @SRCDIR@/tests/golden/input/570.144-create_device.bin | nvvgpuctl fw decode 570.144
