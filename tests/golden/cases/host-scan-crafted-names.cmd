sh @SRCDIR@/tests/golden/data/crafted-sysfs.sh tests/golden/out/crafted && nvvgpuctl host scan --no-udev --sysfs-root tests/golden/out/crafted --proc-root tests/golden/out/crafted/proc
