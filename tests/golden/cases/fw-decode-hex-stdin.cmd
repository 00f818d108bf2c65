nvvgpuctl fw decode 580.65.06 --hex < @SRCDIR@/tests/golden/input/580.65.06-create_device.hex
