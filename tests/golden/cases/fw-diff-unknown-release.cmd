NVVGPU_FWABI_DIR=@SRCDIR@/tests/golden/input/fwabi-new nvvgpuctl fw diff 999.1.0 575.51.02
