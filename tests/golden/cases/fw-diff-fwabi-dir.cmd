nvvgpuctl fw diff 570.144 999.1.0 --fwabi-dir @SRCDIR@/tests/golden/input/fwabi-new
