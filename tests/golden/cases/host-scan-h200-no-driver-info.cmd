nvvgpuctl host scan --sysfs-root @SRCDIR@/tests/fixtures/h200-passthrough/sysfs --proc-root @SRCDIR@/tests/golden/data
