#!/bin/busybox sh
# /init of the conformance initramfs: mount what the probe needs, report the host, run the cases.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
echo "@@H uname $(uname -r)"
dmesg | grep -E 'Stage-2 Force Write-Back|Instruction cache invalidation not required|Memory Tagging|VHE mode|Hyp mode|KVM|LPA2|52-bit|Large System Extensions' | sed 's/^/@@B /'
echo 16 > /proc/sys/vm/nr_hugepages
for m in /mods/*.ko; do
    [ -e "$m" ] && { insmod "$m" 2>&1 | sed 's/^/@@B insmod: /'; echo "@@B loaded ${m#/mods/}"; }
done
/probe < /cases.txt
echo "@@H finished"
poweroff -f
