nvvgpuctl fw decode 570.144 @SRCDIR@/tests/golden/input/580.65.06-create_device.rpc
