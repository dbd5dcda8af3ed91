"""Suspected kernel bugs that need a machine of their own (kernel-behaviour.md 3.6 a): an nvdimm in
fsdax mode, then in device-dax mode, under the guest's memslot. `make conformance ARGS=...` does not run it; as root:

    python -m conformance.bugs [--kernel 6.12.117 --kernel 7.3.4] [--cpu max]

QEMU gets a memory-backend-ram region described to the kernel by a device-tree `pmem-region` node (the
virt machine describes nvdimms to ACPI only, and these boots use a device tree), inside the RAM hidden
with mem=1536M; init-fsdax.sh puts it in fsdax mode and mounts ext4 -o dax on it; the probe maps a file of
it as the test slot (2 MiB-aligned, so the host maps it with a PMD), lets the guest load page 1, and
reads the reference counts of pages 0 and 1 (/proc/kpagecount) before the run, after it and after the VM
is gone, then truncates the file under a 10 s alarm (dax_layout_busy_page() waits for every reference to
go); then the namespace becomes device-dax (/dev/dax0.0, always mapped with 2 MiB PMDs) and the same
load runs on it. /proc/kpagecount reads 0 for ZONE_DEVICE pages (it only reads online pages), so the
counts cannot show a moved reference. Writes app/data/conformance/bugs-<kernel>-<cpu>.json.
"""
from __future__ import annotations

import argparse
import datetime
import gzip
import json
import lzma
import re
import subprocess
import sys
import time

from . import harness
from .cases import Case, T

# In load order; crc32c is crc32c_generic up to 6.x, crc32c-cryptoapi in 7.x.
DAX_MODULES = ("libnvdimm", "nd_btt", "nd_pmem", "of_pmem", "device_dax", "dax_pmem", "crc16",
               "crc32c_generic|crc32c-cryptoapi", "mbcache", "jbd2", "ext4")
PMEM_BASE, PMEM_SIZE = 0xB000_0000, 0x1000_0000     # inside the RAM mem=1536M hides (0xA000_0000 up)
CASE = Case("fsdax-release", "fsdax file (an nvdimm in fsdax mode, ext4 -o dax), 2 MiB-aligned: load page 1",
            "fsdax", (T("r", 1),))
# The same nvdimm as a device-dax character device: always mapped with 2 MiB PMDs, ZONE_DEVICE pages GUP
# takes references on (what the fsdax file cannot promise: ext2's blocks are not 2 MiB-aligned).
DEVDAX = Case("devdax-release", "device-dax (/dev/dax0.0), 2 MiB-aligned: load page 1", "devdax", (T("r", 1),))


def modules(kid: str) -> dict[str, bytes]:
    out = {}
    for r in harness.lock():
        if r["kernel"] != kid:
            continue
        for entry in DAX_MODULES:
            for name in entry.split("|"):
                for path in (harness.WORK / "pkg" / r["package"]).glob(f"usr/lib/modules/*/kernel/**/{name}.ko*"):
                    data = path.read_bytes()
                    out[entry] = lzma.decompress(data) if path.suffix == ".xz" else data
    missing = [m for m in DAX_MODULES if m not in out]
    if missing:
        raise SystemExit(f"conformance: Linux {kid}: no {', '.join(missing)} among the fetched packages")
    return {f"mods/{i:02d}-{n.split('|')[0]}.ko": out[n] for i, n in enumerate(DAX_MODULES)}


def dtb(cpu: str) -> bytes:
    """QEMU's own device tree for the machine, with a pmem-region node added."""
    machine, _ = harness.CPUS[cpu]
    raw = harness.WORK / f"virt-{cpu}.dtb"
    subprocess.run([str(harness.HERE / "qemu.sh"), str(harness.WORK / "qemu"), "60", "-machine",
                    f"{machine},dumpdtb={raw}", "-cpu", cpu.removesuffix("-nvhe"), "-m", "2G", "-smp", "1",
                    "-nographic", "-nic", "none"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dts = subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dts", str(raw)], check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    node = (f"\tpmem@{PMEM_BASE:x} {{\n\t\tcompatible = \"pmem-region\";\n"
            f"\t\treg = <0x00 {PMEM_BASE:#x} 0x00 {PMEM_SIZE:#x}>;\n\t}};\n")
    dts = dts.rstrip()[:-2] + node + "};\n"
    return subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb"], input=dts.encode(), check=True,
                          stdout=subprocess.PIPE).stdout


def run(kid: str, cpu: str, timeout: int) -> dict:
    probe = harness.build_probe()
    busybox = harness.WORK / "pkg" / "busybox-static" / "usr" / "bin" / "busybox"
    lines = f"{CASE.probe_line()}\n{DEVDAX.probe_line()}\n".encode()
    files = {"init": ((harness.HERE / "init-fsdax.sh").read_bytes(), 0o755), "probe": (probe.read_bytes(), 0o755),
             "bin/busybox": (busybox.read_bytes(), 0o755), "cases.txt": (lines, 0o644)}
    files.update({k: (v, 0o644) for k, v in modules(kid).items()})
    initrd = harness.WORK / f"init-fsdax-{kid}.cpio.gz"
    with gzip.open(initrd, "wb", compresslevel=1) as gz:
        gz.write(harness._cpio(files, dirs=("bin", "dev", "proc", "sys", "mods", "mnt")))
    tree = harness.WORK / f"virt-{cpu}-pmem.dtb"
    tree.write_bytes(dtb(cpu))
    row = next(r for r in harness.lock() if r["role"] == "kernel" and r["kernel"] == kid)
    machine, _ = harness.CPUS[cpu]
    args = ["-machine", machine, "-cpu", cpu.removesuffix("-nvhe"), "-m", "2G", "-smp", "1", "-nographic", "-nic",
            "none", "-no-reboot", "-kernel", str(harness.kernel_image(row["package"])), "-initrd", str(initrd),
            "-dtb", str(tree), "-append", harness.append(cpu)]
    t0 = time.monotonic()
    p = subprocess.run([str(harness.HERE / "qemu.sh"), str(harness.WORK / "qemu"), str(timeout), *args],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    raw = p.stdout.decode(errors="replace")
    (harness.WORK / "logs").mkdir(exist_ok=True)
    (harness.WORK / "logs" / f"fsdax-{kid}-{cpu}.log").write_text(raw)
    host = harness.host_features(raw)
    results = harness.parse(raw, kid, host, [CASE, DEVDAX])[0]
    counts = [dict(zip(("when", "page"), m.groups()[:2], strict=False), pfn=m.group(3), count=int(m.group(4)))
              for m in re.finditer(r"kpagecount (\S+) (\S+) pfn=(\S+) count=(\d+) present=1", raw)]
    trunc = re.search(r"@@E \S+ 0 truncate (\S+) alarmed=(\d) ms=(\d+)", raw)
    setup = [ln[4:] for ln in raw.splitlines() if ln.startswith("@@B ") and re.search(r"nd |device|mke2fs|mount", ln)]
    return {"schema": 1, "what": "fsdax page references (kernel-behaviour.md 3.6 a)",
            "kernel": {"id": kid, "version": harness.version_of(kid), "package": row["package"],
                       "package_version": row["version"], "sha256": row["sha256"]},
            "cpu": cpu, "date": datetime.date.today().isoformat(), "seconds": round(time.monotonic() - t0, 1),
            "host": host, "setup": setup, "case": results[0], "devdax": results[1], "kpagecount": counts,
            "truncate": {"result": trunc.group(1), "alarmed": trunc.group(2) == "1", "ms": int(trunc.group(3))}
            if trunc else None, "completed": "@@K done" in raw}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", action="append", default=[])
    ap.add_argument("--cpu", action="append", default=[])
    ap.add_argument("--timeout", type=int, default=300)
    a = ap.parse_args(argv)
    for kid in a.kernel or ["6.12.117", "7.3.4"]:
        for cpu in a.cpu or ["max"]:
            out = run(kid, cpu, a.timeout)
            path = harness.FIXTURES / f"bugs-{kid}-{cpu}.json"
            path.write_text(json.dumps(out, indent=1) + "\n")
            harness.log(f"fsdax on Linux {kid}, {cpu}: {'completed' if out['completed'] else 'DID NOT COMPLETE'} "
                        f"-> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
