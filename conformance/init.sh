#!/bin/busybox sh
# /init of the conformance initramfs: mount what the probe needs, report the host, run the cases.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
echo "@@H uname $(uname -r)"
dmesg | grep -E 'Stage-2 Force Write-Back|Instruction cache invalidation not required|Memory Tagging|VHE mode|Hyp mode|KVM|LPA2|52-bit|Large System Extensions|Hardware dirty bit management|Access Flag' | sed 's/^/@@B /'
for m in /mods/*.ko; do
    [ -e "$m" ] && { insmod "$m" 2>&1 | sed 's/^/@@B insmod: /'; echo "@@B loaded ${m#/mods/}"; }
done
[ -d /sys/bus/pci/drivers/vfio-pci ] && echo "@@B vfio-pci driver present"
# The probe's records go to a file first and reach the console compressed at the end: the emulated
# serial port moves about 20 KB/s, so a random campaign's megabytes would take minutes as text.
echo "@@H probe_start $(cut -d' ' -f1 /proc/uptime)"
/probe < /cases.txt > /out.txt 2>&1
echo "@@H probe_end $(cut -d' ' -f1 /proc/uptime)"
echo "@@Z $(wc -c < /out.txt)"
gzip -c /out.txt | base64
echo "@@Z end"
echo "@@H dump_end $(cut -d' ' -f1 /proc/uptime)"
echo "@@H finished"
poweroff -f
