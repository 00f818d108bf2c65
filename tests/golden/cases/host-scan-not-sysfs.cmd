nvvgpuctl host scan --sysfs-root @SRCDIR@/tests/golden
