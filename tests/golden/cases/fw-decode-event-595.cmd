nvvgpuctl fw decode 595.45.04 @SRCDIR@/tests/golden/input/595.45.04-event-plugin.bin
