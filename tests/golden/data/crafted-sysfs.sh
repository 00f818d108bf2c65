#!/bin/sh
# A crafted sysfs tree in $1 (made afresh): names carrying terminal escapes and bytes that
# are not UTF-8, and links pointing out of the tree. Used by the host-scan-crafted cases.
set -eu
t=$1
rm -rf "$t"
d=$t/devices/pci0000:00
mkdir -p "$d/0000:41:00.0" "$d/0000:42:00.0" "$t/bus/pci/devices" "$t/bus/pci/drivers" \
        "$t/kernel/iommu_groups/12" "$t/proc/driver/nvidia/gpus/0000:41:00.0"
for f in 0000:41:00.0 0000:42:00.0; do
        printf '0x10de\n' >"$d/$f/vendor"
        printf '0x030200\n' >"$d/$f/class"
        ln -s "../../../devices/pci0000:00/$f" "$t/bus/pci/devices/$f"
done
printf '0x26b9\n' >"$d/0000:41:00.0/device"
printf '32\n' >"$d/0000:41:00.0/sriov_totalvfs"
ln -s "../../../bus/pci/drivers/nv$(printf '\033[2J')idia$(printf '\377')" "$d/0000:41:00.0/driver"
ln -s ../../../kernel/iommu_groups/12 "$d/0000:41:00.0/iommu_group"
ln -s /etc/passwd "$d/0000:42:00.0/device"
ln -s ../../../../../../../../etc/passwd "$t/bus/pci/devices/$(printf '\033[31m')evil"
printf 'GPU Firmware: 580.65.06\n' >"$t/proc/driver/nvidia/gpus/0000:41:00.0/information"
