#!/bin/busybox sh
# /init of the fsdax initramfs (conformance/bugs.py): an nvdimm region from the device tree (of_pmem),
# put in fsdax mode by hand through sysfs (what `ndctl create-namespace -m fsdax` does: a pfn device
# whose memmap lives in RAM, 2 MiB alignment, a fresh uuid), an ext4 filesystem mounted -o dax on it,
# then the probe.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
echo "@@H uname $(uname -r)"
dmesg | grep -E 'Stage-2 Force Write-Back|Instruction cache invalidation not required|Memory Tagging|VHE mode|KVM|LPA2' | sed 's/^/@@B /'
for m in /mods/*.ko; do insmod "$m" 2>&1 | sed 's/^/@@B insmod: /'; done
sleep 1
nd=/sys/bus/nd/devices
ns=$(cd $nd && ls -d namespace*.0 2>/dev/null | head -1)
pfn=$(cat $nd/region0/pfn_seed 2>/dev/null)
echo "@@B nd region0 namespace=$ns pfn=$pfn"
step() { "$@" 2>&1 | sed 's/^/@@B step: /'; }
step sh -c "echo $ns > /sys/bus/nd/drivers/nd_pmem/unbind"
step sh -c "echo $ns > $nd/$pfn/namespace"
step sh -c "echo ram > $nd/$pfn/mode"
step sh -c "echo 2097152 > $nd/$pfn/align"
step sh -c "cat /proc/sys/kernel/random/uuid > $nd/$pfn/uuid"
step sh -c "echo $pfn > /sys/bus/nd/drivers/nd_pmem/bind"
sleep 1
echo "@@B pfn $(cat $nd/$pfn/mode) $(cat $nd/$pfn/align) $(cat $nd/$pfn/namespace)"
ls /dev/pmem* 2>&1 | sed 's/^/@@B device /'
mke2fs -b 4096 /dev/pmem0 > /dev/null 2>&1 && echo "@@B mke2fs ok"
mkdir -p /mnt/dax
mount -t ext4 -o dax /dev/pmem0 /mnt/dax 2>&1 | sed 's/^/@@B mount: /'
grep /mnt/dax /proc/mounts | sed 's/^/@@B mounted /'
dmesg | grep -iE 'dax|pmem|nd_' | tail -5 | sed 's/^/@@B /'
head -1 /cases.txt | /probe
# Then the same namespace as device-dax (what `ndctl create-namespace -m devdax` does): always mapped
# with 2 MiB PMDs, which the fsdax file cannot promise (ext2's blocks are not 2 MiB-aligned).
umount /mnt/dax
dax=$(cat $nd/region0/dax_seed 2>/dev/null)
step sh -c "echo $pfn > /sys/bus/nd/drivers/nd_pmem/unbind"
step sh -c "echo > $nd/$pfn/namespace"
step sh -c "echo $ns > $nd/$dax/namespace"
step sh -c "echo 2097152 > $nd/$dax/align"
step sh -c "echo ram > $nd/$dax/mode"
step sh -c "cat /proc/sys/kernel/random/uuid > $nd/$dax/uuid"
step sh -c "echo $dax > /sys/bus/nd/drivers/dax_pmem/bind"
sleep 1
ls /dev/dax* 2>&1 | sed 's/^/@@B device /'
tail -1 /cases.txt | /probe
echo "@@H finished"
poweroff -f
