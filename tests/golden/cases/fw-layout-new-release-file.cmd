nvvgpuctl fw layout 999.1.0 NV0000_CTRL_VGPU_CREATE_DEVICE_PARAMS --fwabi-dir @SRCDIR@/tests/golden/input/fwabi-new
