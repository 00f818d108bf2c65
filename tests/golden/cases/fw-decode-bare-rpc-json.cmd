nvvgpuctl fw decode 580.159.04 @SRCDIR@/tests/golden/input/580.65.06-create_device.rpc --json
