nvvgpuctl host scan --sysfs-root @SRCDIR@/tests/fixtures/h200-passthrough --fwabi-dir /nonexistent/fwabi
