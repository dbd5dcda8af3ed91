"""`make conformance`: boot each pinned Debian arm64 kernel under QEMU with KVM inside, run the
cases of conformance/cases.py on several CPU models, and write one fixture per (kernel, CPU) under
tests/conformance/.

    python -m conformance.harness [--kernel 6.17.13 ...] [--cpu max ...] [--timeout 240] [--only-layout]

The whole-VM cases of conformance/layout_cases.py (several memslots, a memslot over several VMAs) go to
a fixture of their own per run, layout-<kernel>-<cpu>.json; --only-layout boots to run only them.

A package that cannot be fetched, or a boot that fails, is said on stderr and its old fixtures
are kept.
"""
from __future__ import annotations

import argparse
import base64
import datetime
import gzip
import io
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from app.conformance.readings import union

from . import campaign
from .cases import CASES, EVENTS
from .layout_cases import CASES as LAYOUT_CASES
from .layout_cases import at_page

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = Path(os.environ.get("W", HERE / "work"))
FIXTURES = ROOT / "app" / "data" / "conformance"      # package data: the wheel's /conformance/ reads them

# The model each kernel is compared with (None: no model claims this kernel yet).
MODEL_OF = {"6.12.117": "v6.12", "6.16.12": "v6.14", "6.17.13": "v6.17", "7.1.3": "v7.1", "7.2.13": "v7.3",
            "7.3.4": "v7.3"}
# Why a kernel is compared with a model of another version (written into its fixtures and shown on
# /conformance/).
MODEL_NOTE = {
    "7.2.13": "compared with v7.3 (Linux 7.3.4): read from linux-source-7.2 7.2.13-1, the fault path is 7.3.4's. "
              "arch/arm64/kvm/hyp/pgtable.c, kvm_pgtable.h, esr.h, inject_fault.c, mmio.c and asm/mman.h are "
              "identical; arch/arm64/kvm/mmu.c differs in one condition only: 7.2 tops up the page-table cache "
              "before a permission fault only for a write on a logging slot (mmu.c:2097), 7.3 for any fault on a "
              "logging slot or under pKVM (mmu.c:2100). That decides where page-table pages are allocated, not "
              "any field compared here; virt/kvm/kvm_main.c and guest_memfd.c differ in memslot bookkeeping "
              "(guest_memfd binding on commit, vCPU creation), not in a decision of these cases.",
    "6.16.12": "compared with v6.14: Debian ships 6.16.3 and 6.16.12 as arm64 binaries only (the orig tarballs "
               "404), the last kernels before the cacheable-PFNMAP series (merged for 6.17). None of the recorded "
               "cases differs from v6.14, so there is no difference to explain. What else changed on this path "
               "between v6.14 and 6.17 (from the reading of both sources in kernel-behaviour.md 3.1: pKVM no "
               "longer forcing pages, the memcache selection, SEA handled before the IPA range checks, the "
               "injection helpers renamed) decides no field compared here; mainline's history between them could "
               "not be read here (the torvalds/linux snapshot is 8.6 GB, over the 500 MB a fetch may bring).",
    "6.12.117-v3": "compared with patch-v3 on the nearest base Debian's archive has source for: linux-source-6.12 "
                   "6.12.117-1 with the v3 patch as mailed (four hunks apply with offsets; mmu.c hunk 4's context, "
                   "a comment 6.12 lacks, moved, so conformance/v3/port-6.12.117.patch ports it), built here with a "
                   "small configuration (conformance/v3). This base checks the patch's own decisions: the COW "
                   "VM_PFNMAP refusal at fault time (-EINVAL from KVM_RUN), cacheable_devmem (a VM_PFNMAP whose "
                   "pgprot is MT_NORMAL is not made Device), the fault-time refusal without FWB (-EINVAL), and no "
                   "memslot check or capability 243. It cannot check where 6.12 is not v6.14: 6.12.117 sizes "
                   "VM_PFNMAP by the host's stage-1 leaf (the backported 'Use stage-1 leaf size for VM_PFNMAP'), so "
                   "these cases are read with a page-sized leaf and v6.14's VMA-based block sizing goes unchecked; "
                   "its THP-adjust gate lacks `device` (no recorded case has a device PFN under a huge stage-1 "
                   "leaf); hugetlb VMAs are not VM_MTE_ALLOWED on 6.12; its PFN lookup is __gfn_to_pfn_memslot(), "
                   "not __kvm_faultin_pfn() (the same outcomes for these cases). Its small configuration lacks "
                   "CONFIG_ARM64_HW_AFDBM, so kvm_get_vtcr() does not set VTCR_EL2.HA: stage 2 leaves the access "
                   "flag to KVM although every recorded CPU model has FEAT_HAFDBS, and its permalinks say no `ha`: "
                   "these are the runs where an access after an age event takes the access-flag fault "
                   "(handle_access_fault()).",
}

# CPU models and the host variant each gives under QEMU 10 (checked against the boot log).
# A run is named after its CPU model, with "-nvhe" when KVM is told to use nVHE mode.
CPUS = {
    "max": ("virt,virtualization=on,gic-version=3,mte=on,iommu=smmuv3", "FWB, DIC and MTE"),
    "cortex-a710": ("virt,virtualization=on,gic-version=3,iommu=smmuv3", "FWB without DIC"),
    "neoverse-n1": ("virt,virtualization=on,gic-version=3,iommu=smmuv3", "neither FWB nor DIC"),
    "neoverse-n1-nvhe": ("virt,virtualization=on,gic-version=3,iommu=smmuv3", "neither, KVM in nVHE mode"),
}
APPEND = "console=ttyAMA0 rdinit=/init panic=-1 iomem=relaxed mem=1536M quiet"


def model_of(kid: str) -> str | None:
    """The model a kernel id is compared with: the built patch-v3 kernel's (id ending in -v3), or its
    version's."""
    return "patch-v3" if kid.endswith("-v3") else MODEL_OF.get(version_of(kid))


def version_of(kid: str) -> str:
    """A kernel id of the lock ("7.3.4", "7.3.4-16k") -> its version."""
    return kid.split("-")[0]


def granule_of(kid: str) -> str:
    return "16k" if kid.endswith("-16k") else "4k"


def cases_for(kid: str) -> list:
    """The hand-written cases a run of kernel id `kid` performs (its granule's)."""
    return [c for c in CASES if granule_of(kid) in c.granules]


def layout_cases_for(kid: str) -> list:
    """The whole-VM cases a run of kernel id `kid` performs (its granule's, sized for its pages)."""
    page = {"4k": 0x1000, "16k": 0x4000}[granule_of(kid)]
    return [at_page(c, page) for c in LAYOUT_CASES if granule_of(kid) in c.granules]


def run_cases(kid: str, cpu: str, random_cases: bool = True) -> list:
    """Everything one boot performs: the hand-written cases, then the random campaign's."""
    return cases_for(kid) + (campaign.draw(kid, cpu) if random_cases else [])


def append(cpu: str) -> str:
    return APPEND + (" kvm-arm.mode=nvhe" if cpu.endswith("-nvhe") else "")


def log(msg: str) -> None:
    print(f"conformance: {msg}", file=sys.stderr, flush=True)


# ---- the lock file and the fetched packages ------------------------------------------------

def lock() -> list[dict]:
    rows = []
    for line in (HERE / "packages.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            role, kver, root, pkg, ver, sha = line.split("\t")
            rows.append({"role": role, "kernel": kver, "root": root, "package": pkg, "version": ver,
                         "sha256": sha})
    return rows


def fetch(only: list[str] | None = None) -> tuple[set[str], set[str]]:
    """Run fetch.sh (for the packages `only` names, or all); return the packages present and verified,
    and those the archive would not give (gone from it, or with another SHA-256 than the lock's)."""
    env = {**os.environ, "W": str(WORK)}
    if only:
        env["ONLY"] = " ".join(only)
    out = subprocess.run([str(HERE / "fetch.sh")], stdout=subprocess.PIPE, text=True, env=env).stdout
    ok, gone = set(), set()
    for line in out.splitlines():
        if line.startswith("ok "):
            ok.add(line[3:].strip())
        elif line.startswith("FAILED"):
            log(line)
            m = re.match(r"FAILED (\S+?)=\S+: (apt-get download failed|SHA-256)", line)
            if m:
                gone.add(m.group(1))
    return ok, gone


def kernel_image(pkg: str) -> Path | None:
    base = WORK / "pkg" / pkg
    found = sorted(base.glob("boot/vmlinuz-*")) + sorted(base.glob("usr/lib/modules/*/vmlinuz"))
    return found[0] if found else None


# ---- probe and initramfs -------------------------------------------------------------------

VFIO_MODULES = ("vfio", "vfio_iommu_type1", "vfio-pci-core", "vfio-pci")     # in load order


def vfio_modules(kver: str) -> dict[str, bytes]:
    """The vfio-pci modules of one kernel, decompressed (busybox insmod takes plain .ko files)."""
    out = {}
    for r in lock():
        if r["kernel"] != kver:
            continue
        for name in VFIO_MODULES:
            for path in (WORK / "pkg" / r["package"]).glob(f"usr/lib/modules/*/kernel/drivers/vfio/**/{name}.ko*"):
                data = path.read_bytes()
                out[name] = lzma.decompress(data) if path.suffix == ".xz" else data
    if set(out) != set(VFIO_MODULES):
        return {}
    return {f"mods/{i}-{n}.ko": out[n] for i, n in enumerate(VFIO_MODULES)}


def build_probe() -> Path:
    probe = WORK / "probe"
    subprocess.run(["aarch64-linux-gnu-gcc", "-O2", "-static", "-Wall", "-o", str(probe),
                    str(HERE / "probe" / "probe.c"), str(HERE / "probe" / "guest.S")], check=True)
    return probe


def build_initramfs(probe: Path, kver: str, cases: list) -> Path:
    busybox = WORK / "pkg" / "busybox-static" / "usr" / "bin" / "busybox"
    files = {
        "init": ((HERE / "init.sh").read_bytes(), 0o755),
        "probe": (probe.read_bytes(), 0o755),
        "bin/busybox": (busybox.read_bytes(), 0o755),
        "cases.txt": ("\n".join(c.probe_line() for c in cases).encode() + b"\n", 0o644),
    }
    mods = vfio_modules(kver)
    if not mods:
        log(f"Linux {kver}: no vfio modules among the fetched packages; its vfio cases will fail")
    files.update({name: (data, 0o644) for name, data in mods.items()})
    out = WORK / f"init-{kver}.cpio.gz"
    with gzip.open(out, "wb", compresslevel=1) as gz:
        gz.write(_cpio(files, dirs=("bin", "dev", "proc", "sys", "mods")))
    return out


def _cpio(files: dict, dirs) -> bytes:
    """A newc archive, written here so that no host cpio quirk matters."""
    buf = io.BytesIO()
    ino = 1

    def entry(name: str, mode: int, data: bytes = b"") -> None:
        nonlocal ino
        hdr = "070701" + "".join(f"{v:08x}" for v in (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0,
                                                       len(name) + 1, 0))
        buf.write(hdr.encode() + name.encode() + b"\0")
        buf.write(b"\0" * (-buf.tell() % 4))
        buf.write(data)
        buf.write(b"\0" * (-buf.tell() % 4))
        ino += 1

    for d in dirs:
        entry(d, 0o040755)
    for name, (data, perm) in files.items():
        entry(name, 0o100000 | perm, data)
    entry("TRAILER!!!", 0)
    return buf.getvalue()


# ---- one boot ------------------------------------------------------------------------------

def boot(image: Path, cpu: str, initrd: Path, timeout: int) -> tuple[str, float]:
    machine, _ = CPUS[cpu]
    args = ["-machine", machine, "-cpu", cpu.removesuffix("-nvhe"), "-m", "2G", "-smp", "1", "-nographic",
            "-nic", "none", "-no-reboot", "-object", "memory-backend-ram,id=s2vbar,size=32M",
            "-device", "ivshmem-plain,memdev=s2vbar", "-kernel", str(image), "-initrd", str(initrd),
            "-append", append(cpu)]
    t0 = time.monotonic()
    p = subprocess.run([str(HERE / "qemu.sh"), str(WORK / "qemu"), str(timeout), *args],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return unpack_console(p.stdout.decode(errors="replace")), time.monotonic() - t0


def unpack_console(console: str) -> str:
    """The console with the probe's records, which init.sh sends gzipped and base64-encoded between
    "@@Z <bytes>" and "@@Z end", put back in place as text."""
    m = re.search(r"^@@Z (\d+)\s*$(.*?)^@@Z end\s*$", console, re.M | re.S)
    if not m:
        return console
    b64 = "".join(ln.strip() for ln in m.group(2).splitlines() if re.fullmatch(r"[A-Za-z0-9+/=]+", ln.strip()))
    try:
        data = gzip.decompress(base64.b64decode(b64))
    except (ValueError, OSError, EOFError) as e:
        return console + f"\n@@X the probe's records could not be unpacked: {e}\n"
    if len(data) != int(m.group(1)):
        return console + f"\n@@X the probe's records came {len(data)} bytes long, not {m.group(1)}\n"
    text = data.decode(errors="replace")
    return console[:m.start()] + text + console[m.end():]


def merge_tree(src: Path, dst: Path) -> None:
    """Copy an unpacked package into a tree shared with other packages. Symlinks stay symlinks: the
    QEMU package's usr/share/doc/qemu-system-arm points into a package that is not unpacked here."""
    for dirpath, dirnames, filenames in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in dirnames + filenames:
            s, d = Path(dirpath) / name, dst / rel / name
            if s.is_symlink():
                if d.is_symlink() or d.is_file():
                    d.unlink()
                d.symlink_to(os.readlink(s))
            elif s.is_file():
                shutil.copy2(s, d)


def qemu_version() -> str:
    out = subprocess.run([str(WORK / "qemu" / "usr" / "bin" / "qemu-system-aarch64"), "--version"],
                         stdout=subprocess.PIPE, text=True).stdout
    m = re.search(r"version (\S+)", out)
    return m.group(1) if m else "unknown"


# ---- reading what the probe printed --------------------------------------------------------

def host_features(raw: str) -> dict:
    boot_lines = [ln for ln in raw.splitlines() if ln.startswith("@@B ")]
    text = "\n".join(boot_lines)
    page = re.search(r"^@@H page_size (\d+)", raw, re.M)
    max_ipa = re.search(r"^@@H max_ipa (-?\d+)", raw, re.M)
    mmfr1 = re.search(r"^@@H id_aa64mmfr1_el1 (0x[0-9a-f]+)", raw, re.M)
    hafdbs = int(mmfr1.group(1), 16) & 0xF if mmfr1 else None
    # CONFIG_ARM64_HW_AFDBM: cpufeature.c's "Hardware dirty bit management" entry exists only with it (6.12's
    # has_hw_dbm() says yes on every CPU, 7.x's names the CPUs that have DBM), and only with it does
    # kvm_get_vtcr() set VTCR_EL2.HA. Debian's kernels have it; the v3 kernel's allnoconfig does not.
    afdbm = "Hardware dirty bit management" in text
    return {
        "page_size": int(page.group(1)) if page else 4096,
        "max_ipa": int(max_ipa.group(1)) if max_ipa else None,
        "fwb": "Stage-2 Force Write-Back" in text,
        "dic": "Instruction cache invalidation not required" in text,
        "mte": "Memory Tagging Extension" in text,
        "lpa2": "LPA2" in text,
        "vhe": "VHE mode initialized" in text and "nVHE mode initialized" not in text,
        "nvhe": "nVHE mode initialized" in text,
        "vfio": ("@@B vfio-pci driver present" in text or "@@B loaded 3-vfio-pci.ko" in text)
                and "insmod:" not in text,
        # ID_AA64MMFR1_EL1.HAFDBS of the CPU (the probe reads a vCPU's reset value, the host's sanitised
        # register), and whether stage 2 then sets the access flag itself: the permalink's `ha`.
        "id_aa64mmfr1_el1": mmfr1.group(1) if mmfr1 else None,
        "hafdbs": hafdbs,
        "hw_afdbm": afdbm,
        "ha": bool(hafdbs and afdbm),
    }


def level_size(level: int, page: int = 4096) -> int:
    shift = page.bit_length() - 1
    return 1 << (shift + (shift - 3) * (3 - level))


def decode_leaf(desc: int, level: int, has_fwb: bool, page: int = 4096) -> dict:
    """A stage-2 leaf, read by the architecture's rules (not by the simulator's code)."""
    memattr = (desc >> 2) & 0xF
    if has_fwb:
        kinds = {0b0110: "normal", 0b0101: "normal_nc", 0b0001: "device_nGnRE", 0b0000: "device_nGnRnE"}
    else:
        kinds = {0b1111: "normal", 0b0101: "normal_nc", 0b0001: "device_nGnRE", 0b0000: "device_nGnRnE"}
    xn = (desc >> 53) & 3
    perm = ("R" if desc & (1 << 6) else "-") + ("W" if desc & (1 << 7) else "-") + ("-" if xn else "X")
    return {"memtype": kinds.get(memattr, "other"), "memattr": memattr, "perm": perm,
            "size": level_size(level, page), "level": level, "desc": f"{desc:#018x}"}


def relax_prot(prot: int, kver: str) -> set[str]:
    """enum kvm_pgtable_prot changed in 7.0: X W R DEVICE NC became PX UX W R DEVICE NC."""
    new = tuple(int(x) for x in kver.split(".")[:2]) >= (7, 0)
    r, w, x = ((prot >> 3) & 1, (prot >> 2) & 1, prot & 3) if new else ((prot >> 2) & 1, (prot >> 1) & 1, prot & 1)
    return {n for n, v in (("R", r), ("W", w), ("X", x)) if v}


def apply_relax(desc: int, perms: set[str]) -> int:
    if "R" in perms:
        desc |= 1 << 6
    if "W" in perms:
        desc |= 1 << 7
    if "X" in perms:
        desc &= ~(3 << 53)
    return desc


_KV = re.compile(r"(\w+)=(\S+)")


def parse(raw: str, kver: str, host: dict, cases: list | None = None) -> tuple[list[dict], dict]:
    """The probe's records -> one result per case."""
    by_id = {c.id: c for c in (cases if cases is not None else cases_for(kver))}
    recs: dict[str, dict] = {}
    kprobes = {}
    for line in raw.splitlines():
        line = line.strip()
        if line.startswith("@@K "):
            parts = line.split()
            if len(parts) == 3:
                kprobes[parts[1]] = parts[2]
            continue
        m = re.match(r"@@([COET]) (\S+) (.*)$", line)
        if not m or m.group(2) not in by_id:
            continue
        kind, cid, rest = m.groups()
        r = recs.setdefault(cid, {"cfg": [], "ops": {}})
        if kind == "C":
            r["cfg"].append(rest.split())
        else:
            num, _, body = rest.partition(" ")
            r["ops"].setdefault(int(num), []).append((kind, body))
    results = [_case_result(c, recs.get(c.id), kver, host) for c in by_id.values()]
    return results, kprobes


_FAULT = re.compile(r"kvm_guest_fault: ipa (0x[0-9a-f]+), (?:esr|hsr) (0x[0-9a-f]+)")
_PTE = re.compile(r"s2v_pte: .* new=(0x[0-9a-f]+) addr=(0x[0-9a-f]+) level=(-?\d+)")
_ATTR = re.compile(r"s2v_attr: .* old=(0x[0-9a-f]+) addr=(0x[0-9a-f]+) level=(-?\d+)")


def fault_item(ipa: int, esr: int) -> str:
    """The permalink fault the CPU reported: its kind from EC and WnR, its modifiers from CM, S1PTW,
    ISV and the fault status code (an access-flag fault, FSC 0x35)."""
    if esr >> 26 in (0x20, 0x21):
        kind, mods = "x", []
    else:
        kind = "w" if esr >> 6 & 1 else "r"
        mods = ["cm"] if esr >> 8 & 1 else ["ptw"] if esr >> 7 & 1 else [] if esr >> 24 & 1 else ["noisv"]
    fsc = esr & 0x3F
    if fsc == 0x35:
        mods.append("atomic")
    elif fsc & 0x3C == 0x08:
        mods.append("af")
    return f"{ipa:x}{kind}" + "".join("." + m for m in mods)


def _fault_result(case, i: int, op: str, ipa: int, events: list, n: int, last: bool, leaves: dict, page: int,
                  kver: str, host: dict) -> dict:
    """One fault of access i (its n-th), from the events between its report and the next one."""
    res = {"op": op, "ipa": f"{ipa:#x}", "fault": case.item(i, page)}
    if n:
        res["retry"] = n
    mapped = relaxed = relax_with = None
    runerr = inject = exit_ = None
    esrs = []
    maps = []
    for kind, body in events:
        if kind == "T":
            m = _PTE.search(body)
            if m:
                desc, addr, level = int(m.group(1), 16), int(m.group(2), 16), int(m.group(3))
                is_leaf = level == 3 or (desc & 3) == 1
                size = level_size(level, page)
                if is_leaf and addr <= ipa < addr + size:
                    leaves[addr] = (desc, level)
                    mapped = addr
                    res.setdefault("writes", []).append([f"{desc:#018x}", level])
            elif body.startswith("s2v_map:"):
                kv = dict(_KV.findall(body))
                if int(kv["ipa"], 16) <= ipa < int(kv["ipa"], 16) + int(kv["size"], 16):
                    maps.append({"ipa": kv["ipa"], "size": int(kv["size"], 16), "phys": kv["phys"]})
            elif body.startswith("s2v_relax:"):
                kv = dict(_KV.findall(body))
                relax_with = relax_prot(int(kv["prot"], 16), kver)
                for addr, (desc, level) in list(leaves.items()):
                    size = level_size(level, page)
                    if addr <= ipa < addr + size:
                        leaves[addr] = (apply_relax(desc, relax_with), level)
                        relaxed = addr
            elif body.startswith("s2v_attr:"):
                # The leaf as stage2_attr_walker() found it (after the relax call, before its change):
                # host events and the CPU's access-flag updates since the map are in it, so the relaxed
                # leaf is this one with the relax applied.
                m = _ATTR.search(body)
                desc, addr, level = int(m.group(1), 16), int(m.group(2), 16), int(m.group(3))
                if addr <= ipa < addr + level_size(level, page):
                    leaves[addr] = (desc, level)
                    if relaxed is not None:
                        leaves[addr] = (apply_relax(desc, relax_with), level)
                        relaxed = addr
            else:
                m2 = _FAULT.search(body)
                if m2 and int(m2.group(1), 16) >> 12 == ipa >> 12:
                    esrs.append(m2.group(2))
        else:
            words = body.split()
            if words[0] == "run":
                runerr = words[1]
            elif words[0] == "mmio" and int(words[1], 16) >> 12 == ipa >> 12:
                exit_ = "exit_mmio"
            elif words[0] == "nisv":
                exit_ = "exit_nisv"
            elif words[0] == "esr":
                ec = int(words[1], 16) >> 26
                res.setdefault("guest_esr", words[1])
                inject = {0x20: "iabt", 0x21: "iabt", 0x24: "dabt", 0x25: "dabt"}.get(ec, inject)
                if ec == 0:
                    res["guest_undef"] = True
            elif words[0] == "val" and op in ("r", "ldp", "ldxr") and runerr is None and case.slot_base(i) is not None:
                v = int(words[1], 16)
                p4k = (ipa - case.slot_base(i)) >> 12       # markers count 4K pages from the start of their slot
                res["marker"] = ("own" if v == 0x5332564D00000000 | p4k else
                                 "replaced" if v == 0x5332564E00000000 | p4k else
                                 "hidden RAM" if v == 0x5332564800000000 | p4k else "foreign")
                res["value"] = words[1]
    if esrs:
        res["esr_el2"] = esrs
        res["fault"] = fault_item(ipa, int(esrs[0], 16))
    if maps:
        res["map_call"] = maps[-1]
    if runerr == "timeout":
        res["outcome"] = "timeout"
    elif runerr:
        res["outcome"], res["errno"] = "run_error", runerr
    elif inject:
        res["outcome"], res["inject"] = "inject", inject
    elif exit_:
        res["outcome"] = exit_
    elif relaxed is not None:
        res["outcome"] = "relax"
    elif mapped is not None:
        res["outcome"] = "map"
    else:
        res["outcome"] = "no_fault" if not esrs else "resume"
    if res["outcome"] in ("exit_mmio", "exit_nisv", "run_error", "inject", "timeout"):
        res.pop("marker", None)       # the value the guest loaded did not come from the slot's memory
        res.pop("value", None)
    key = relaxed if relaxed is not None else mapped
    if key is not None and res["outcome"] in ("map", "relax"):
        desc, level = leaves[key]
        res["s2"] = decode_leaf(desc, level, host["fwb"], page)
    return res


KEEP_REPEATS = 3


def collapse_repeats(faults: list[dict]) -> list[dict]:
    """An access KVM resumes without changing anything faults again, for as long as the probe lets the
    vCPU run (a livelock: 6.16's udmabuf fetch without DIC faults ~2000 times in the 3 s the probe
    allows). Keep the first KEEP_REPEATS of such identical faults, the last saying how many came and
    how the run ended; the rest would add nothing to compare."""
    if len(faults) <= KEEP_REPEATS + 1:
        return faults
    key = (faults[1]["fault"], faults[1].get("esr_el2"))
    if any(f["outcome"] != "resume" or (f["fault"], f.get("esr_el2")) != key for f in faults[1:-1]):
        return faults
    kept = faults[:KEEP_REPEATS]
    kept[-1] = {**kept[-1], "repeated": len(faults) - 1, "ended": faults[-1]["outcome"]}
    return kept


_EVENT_PROBES = {"s2v_unmap": "unmap", "s2v_wrprot": "wrprotect", "s2v_young": "test_clear_young",
                 "s2v_youngret": "young", "s2v_mkyoung": "mkyoung"}


def _event_result(case, i: int, page: int, events: list, leaves: dict) -> dict:
    """A host event: the VMM's result and what KVM did at stage 2 meanwhile (each call, in order)."""
    op = case.ops[i][0]
    res = {"op": op, "event": case.item(i, page), "outcome": "event"}
    calls = []
    for kind, body in events:
        if kind == "E" and body.startswith("event "):
            res["result"] = body.split()[1]
        elif kind == "T":
            name = body.split(":", 1)[0]
            if name in _EVENT_PROBES:
                kv = dict(_KV.findall(body))
                calls.append(" ".join([_EVENT_PROBES[name]] + [f"{k}={v}" for k, v in kv.items()]))
                if name == "s2v_unmap":
                    lo, n = int(kv["ipa"], 16), int(kv["size"], 16)
                    for addr in [a for a in leaves if lo <= a < lo + n]:
                        del leaves[addr]
    if calls:
        res["kvm"] = _summarise(calls)
    if op == "age":
        # Only what KVM did in the probe's slot: a sample of another mapping of the VMM's would age its
        # own memslot. Each mkold call is paired with the return after it.
        slot = (0x4000_0000, 0x4000_0000 + page * page // 8)
        mine = [r for r in _ranges(calls, "test_clear_young", "mkold=1") if slot[0] <= r[0] < slot[1]]
        young = False
        for n, c in enumerate(calls):
            if c.startswith("test_clear_young ") and "mkold=1" in c.split():
                lo = int(dict(_KV.findall(c))["ipa"], 16)
                after = calls[n + 1] if n + 1 < len(calls) else ""
                young |= slot[0] <= lo < slot[1] and after == "young ret=1"
        res["young"] = young
        aged = union(mine)
        if len(aged) == 1:
            # DAMON asks KVM about the page of each address it samples and the next (the address is
            # random inside its page), a PMD-mapped THP from that address for a PMD: the event is named by
            # what KVM was asked to age.
            lo, hi = aged[0]
            res["event"] = f"age:{lo:x}" + (f":{hi - lo:x}" if hi - lo != page else "")
            if res["event"] != case.item(i, page):
                res["asked"] = case.item(i, page)
    return res


def _ranges(calls: list[str], name: str, *want: str) -> list[tuple[int, int]]:
    out = []
    for c in calls:
        words = c.split()
        if words[0] == name and all(w in words for w in want):
            kv = dict(_KV.findall(c))
            lo = int(kv["ipa"], 16)
            out.append((lo, lo + int(kv["size"], 16)))
    return out


def _summarise(calls: list[str]) -> list[str]:
    """Each distinct call once, in the order first seen, with how often it came when more than once
    (aging samples the range hundreds of times)."""
    counts: dict[str, int] = {}
    for c in calls:
        counts[c] = counts.get(c, 0) + 1
    return [c if n == 1 else f"{c} (x{n})" for c, n in counts.items()]


def cfg_of(rec) -> dict:
    return {c[0]: c[1:] for c in rec["cfg"]} if rec else {}


def _case_result(case, rec, kver: str, host: dict) -> dict:
    out = {"id": case.id, "title": case.title, "backing": case.backing}
    missing = [n for n in case.needs if not host.get(n)]
    page = host.get("page_size", 4096)
    if "unsupported" in cfg_of(rec):
        what = " ".join(cfg_of(rec)["unsupported"])
        out["skipped"] = ("the host does not allow it: " if what.startswith("IPA size") else
                          "the kernel does not offer it: ") + what
        return out
    if missing:
        out["skipped"] = " and ".join({"mte": "needs a host with MTE",
                                       "vfio": "needs vfio-pci, whose modules this kernel's packages lack"}[n]
                                      for n in missing)
        return out
    if rec is None:
        out["error"] = "the probe printed nothing for this case"
        return out
    cfg = {c[0]: c[1:] for c in rec["cfg"]}
    for key in ("vm_error", "backing_error", "code_slot_error", "vcpu_error"):
        if key in cfg:
            out["error"] = f"{key}: {' '.join(cfg[key])}"
            return out
    if "cap_dev" in cfg:
        ret, err = cfg["cap_dev"]
        out["cap_dev"] = int(ret) if err == "0" else err
    if "cap_vm" in cfg:
        ret, err = cfg["cap_vm"]
        out["cap_vm"] = int(ret) if err == "0" else err
    if "hung" in cfg:
        out["vmm_hang"] = "hung " + " ".join(cfg["hung"])
    out["memslot"] = "ok" if case.backing == "none" else ("ok" if cfg.get("reg") == ["0"] else
                                                          (cfg.get("reg") or ["?"])[0])
    if case.backing == "layout":
        # Each memslot's KVM_SET_USER_MEMORY_REGION, in order; the probe stops at the first refusal, as
        # QEMU does, so the slots after it are not_run. The registration as a whole: ok or that refusal.
        got = {int(c[1]): ("ok" if c[2] == "0" else c[2]) for c in rec["cfg"] if c[0] == "memslot"}
        out["first_vma"] = case.first_vma
        out["memslots"] = [{"slot": n, "result": got.get(n, "not_run")} for n in range(1, len(case.slots) + 1)]
        out["memslot"] = next((m["result"] for m in out["memslots"] if m["result"] != "ok"), "ok")
    leaves: dict[int, tuple[int, int]] = {}        # block IPA -> (desc, level), as the ops go
    ops = []
    for i, spec in enumerate(case.ops):
        op = spec[0]
        events = rec["ops"].get(i + 1, [])
        if op in EVENTS:
            ops.append(_event_result(case, i, page, events, leaves))
            continue
        ipa = case.ipa(i, page)
        # One entry per fault the access raised, in order: the CPU reports a fault, KVM resolves it,
        # the guest retries and may fault again (an atomic's write after its read mapped read-only).
        # An access that did not fault is one entry, "no_fault".
        segments: list[list] = [[]]
        for kind, body in events:
            m = _FAULT.search(body) if kind == "T" else None
            if m and int(m.group(1), 16) >> 12 == ipa >> 12:
                if segments[-1] and any(_FAULT.search(b) for k, b in segments[-1] if k == "T"):
                    segments.append([])
            segments[-1].append((kind, body))
        faults = [_fault_result(case, i, op, ipa, seg, n, n == len(segments) - 1, leaves, page, kver, host)
                  for n, seg in enumerate(segments)]
        ops += collapse_repeats(faults)
    out["ops"] = ops
    if out["memslot"] != "ok":
        for o in ops:
            if o["outcome"] == "event":
                o["result"] = "not_run"
            else:
                o["outcome"] = "not_run"
    return out


# ---- main ----------------------------------------------------------------------------------

def make_fixture(r: dict, cpu: str, raw: str, secs: float, qver: str, qpkg_version: str, date: str,
                 cases: list | None = None) -> tuple[dict, dict | None]:
    """The run's fixture (its hand-written cases) and its random campaign (None if it ran none)."""
    host = host_features(raw)
    cases = cases if cases is not None else cases_for(r["kernel"])
    by_id = {c.id: c for c in cases}
    results, kprobes = parse(raw, r["kernel"], host, cases)
    uname = re.search(r"@@H uname (\S+)", raw)
    model = model_of(r["kernel"])
    for c in results:
        name_permalink(c, model, host, by_id[c["id"]], version_of(r["kernel"]))
    drawn = [c for c in results if campaign.is_drawn(c["id"])]
    fx = {
        "schema": 1,
        "kernel": {"version": version_of(r["kernel"]), "id": r["kernel"], "granule": granule_of(r["kernel"]),
                   "package": r["package"], "package_version": r["version"],
                   "sha256": r["sha256"], "uname": uname.group(1) if uname else None, **r.get("extra", {})},
        "model": model,
        "qemu": {"version": qver, "package_version": qpkg_version},
        "cpu": cpu, "machine": CPUS[cpu][0], "append": append(cpu),
        "host": host,
        "date": date,
        "seconds": round(secs, 1),
        "kprobes": kprobes,
        "cases": [c for c in results if not campaign.is_drawn(c["id"])],
    }
    _note(fx)
    if not drawn:
        return fx, None
    head = {k: v for k, v in fx.items() if k not in ("cases", "kprobes")}
    return fx, {**head, "campaign": {"seed": campaign.SEED, "cases": len(drawn)},
                "cases": [_compact(c) for c in drawn]}


def _compact(c: dict) -> dict:
    """A random case as the campaign file keeps it: what is compared and what explains it."""
    out = {k: v for k, v in c.items() if k != "ops"}
    if "ops" in c:
        out["ops"] = [{k: v for k, v in op.items() if k not in ("ipa", "value", "writes")} for op in c["ops"]]
        for op in out["ops"]:
            if "map_call" in op:
                op["map_call"] = {"size": op["map_call"]["size"]}
    return out


def name_permalink(c: dict, model: str | None, host: dict, case=None, kernel: str = "7.3.4") -> None:
    """The permalink of a recorded case, for the host the boot log reported (FWB, DIC, MTE and LPA2)."""
    c.pop("query", None)
    c.pop("no_permalink", None)
    case = case or next(x for x in CASES + list(LAYOUT_CASES) if x.id == c["id"])
    items = [op.get("event") or op["fault"] for op in c["ops"]] if c.get("ops") else None
    link, why = case.permalink(model or "MODEL", {k for k in ("fwb", "dic", "mte", "lpa2", "ha") if host.get(k)},
                               host.get("page_size", 4096), items, kernel)
    if link:
        c["query"] = link.split("?", 1)[1]
    else:
        c["no_permalink"] = why


def _note(fx: dict) -> None:
    fx.pop("model_note", None)
    for key in (fx["kernel"].get("id"), fx["kernel"]["version"]):
        if key in MODEL_NOTE:
            fx["model_note"] = MODEL_NOTE[key]
            return


def requery() -> int:
    """Rewrite every fixture's permalinks from conformance/cases.py and the run's recorded host (after a
    change to how a case is expressed; what the kernel did is not touched)."""
    for path in sorted(FIXTURES.glob("linux-*.json")) + sorted(FIXTURES.glob("layout-*.json")):
        fx = json.loads(path.read_text())
        fx["model"] = model_of(fx["kernel"].get("id", fx["kernel"]["version"]))
        fx["kernel"].setdefault("id", fx["kernel"]["version"])
        fx["kernel"].setdefault("granule", "4k")
        _note(fx)
        layout = {x.id: x for x in layout_cases_for(fx["kernel"]["id"])} if path.name.startswith("layout-") else {}
        for c in fx["cases"]:
            name_permalink(c, fx["model"], fx["host"], layout.get(c["id"]), kernel=fx["kernel"]["version"])
        path.write_text(dump(fx))
    return 0


def reparse() -> int:
    """Rewrite the fixtures from the raw logs of the last recording (after a change to parse())."""
    rows = {r["kernel"]: r for r in lock() if r["role"] == "kernel"}
    for path in sorted(FIXTURES.glob("linux-*.json")) + sorted(FIXTURES.glob("layout-*.json")):
        old = json.loads(path.read_text())
        kid = old["kernel"].get("id", old["kernel"]["version"])
        if old["kernel"].get("built"):
            k = old["kernel"]
            rows[kid] = {"role": "kernel", "kernel": kid, "package": k["package"], "version": k["package_version"],
                         "sha256": k["sha256"], "extra": {"built": k["built"]}}
        raw_path = WORK / "logs" / f"{kid}-{old['cpu']}.log"
        if path.name.startswith("layout-") and (WORK / "logs" / f"{kid}-{old['cpu']}-layout.log").exists():
            raw_path = WORK / "logs" / f"{kid}-{old['cpu']}-layout.log"
        if not raw_path.exists():
            log(f"{path.name}: no log at {raw_path}, kept as it is")
            continue
        raw = raw_path.read_text()
        if path.name.startswith("layout-"):
            if not any(f"@@C {c.id} begin" in raw for c in layout_cases_for(kid)):
                log(f"{path.name}: the last log of {kid} on {old['cpu']} has no layout case, kept as it is")
                continue
            fx, _ = make_fixture(rows[kid], old["cpu"], raw, old["seconds"], old["qemu"]["version"],
                                 old["qemu"]["package_version"], old["date"], layout_cases_for(kid))
            path.write_text(dump(fx))
            log(f"{path.name}: re-read from {raw_path.name}")
            continue
        if not any(f"@@C {c.id} begin" in raw for c in cases_for(kid)):
            log(f"{path.name}: the last log of {kid} on {old['cpu']} has only layout cases, kept as it is")
            continue
        random_cases = any(campaign.is_drawn(m) for m in re.findall(r"^@@C (\S+) begin", raw, re.M))
        fx, drawn = make_fixture(rows[kid], old["cpu"], raw, old["seconds"], old["qemu"]["version"],
                                 old["qemu"]["package_version"], old["date"], run_cases(kid, old["cpu"], random_cases))
        path.write_text(dump(fx))
        if drawn:
            write_campaign(drawn, FIXTURES / f"random-{kid}-{old['cpu']}.json.gz")
        log(f"{path.name}: re-read from {raw_path.name}")
    return 0


def write_campaign(drawn: dict, path: Path) -> None:
    """One compact file per run (gzip's mtime 0, so the same record gives the same bytes)."""
    data = json.dumps(drawn, separators=(",", ":")).encode()
    path.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))


# record()'s exit status when a pinned package is no longer in Debian's archive (nothing was run).
GONE = 3


def built_row(image: Path, kid: str) -> dict:
    """A kernel built here (conformance/v3/build.sh), in the shape of a lock row: its build.json beside it
    names the source, patches and configuration it was built from, with their SHA-256."""
    build = json.loads((image.parent / "build.json").read_text())
    return {"role": "kernel", "kernel": kid, "root": "-", "package": f"built here: {build['base']}",
            "version": "patch-v3", "sha256": build["image_sha256"], "image": image, "extra": {"built": build}}


def record(kernels: list[str], cpus: list[str], timeout: int, out: Path = FIXTURES, random_cases: bool = True,
           image: Path | None = None, only_layout: bool = False) -> int:
    t_all = time.monotonic()
    rows = lock()
    if image:
        kid = kernels[0] if kernels else "6.12.117-v3"
        rows = [r for r in rows if r["role"] != "kernel"] + [built_row(image, kid)]
        kernels = [kid]
    wanted = [r["package"] for r in rows if r["role"] in ("busybox", "qemu")
              or not kernels or r["kernel"] in kernels]
    present, gone = fetch([w for w in wanted if not w.startswith("built here")])
    present |= {r["package"] for r in rows if "image" in r}
    missing_tools = [r["package"] for r in rows if r["role"] in ("busybox", "qemu") and r["package"] not in present]
    if missing_tools:
        log("cannot run: missing " + ", ".join(missing_tools) + "; every old fixture is kept")
        return GONE if set(missing_tools) <= gone else 1
    qroot = WORK / "qemu"
    if not (qroot / "usr" / "bin" / "qemu-system-aarch64").exists():
        for r in rows:
            if r["role"] == "qemu":
                merge_tree(WORK / "pkg" / r["package"], qroot)
    qver = qemu_version()
    qpkg = next(r for r in rows if r["package"] == "qemu-system-arm")
    probe = build_probe()
    out.mkdir(parents=True, exist_ok=True)
    (WORK / "logs").mkdir(exist_ok=True)
    failed = 0
    unavailable = 0
    for r in rows:
        if r["role"] != "kernel" or (kernels and r["kernel"] not in kernels):
            continue
        if r["package"] not in present:
            log(f"{r['package']} {r['version']} could not be fetched: its fixtures are kept")
            if r["package"] in gone:
                unavailable += 1
            else:
                failed += 1
            continue
        image = r.get("image") or kernel_image(r["package"])
        for cpu in cpus:
            cases = [] if only_layout else run_cases(r["kernel"], cpu, random_cases)
            layout = layout_cases_for(r["kernel"])
            if not cases + layout:
                log(f"Linux {r['kernel']}: no whole-VM case is run with its page size; not booted")
                break
            initrd = build_initramfs(probe, r["kernel"], cases + layout)
            raw, secs = boot(image, cpu, initrd, timeout)
            # A run of the whole-VM cases alone keeps its own log, so that --reparse still finds the last
            # full run's.
            (WORK / "logs" / f"{r['kernel']}-{cpu}{'-layout' if only_layout else ''}.log").write_text(raw)
            if "@@K done" not in raw:
                log(f"Linux {r['kernel']} on {cpu}: the run did not complete (boot failure, or over {timeout} s) "
                    f"(log: {WORK / 'logs'}); its old fixture is kept")
                failed += 1
                continue
            today = datetime.date.today().isoformat()
            if layout:
                fixture, _ = make_fixture(r, cpu, raw, secs, qver, qpkg["version"], today, layout)
                path = out / f"layout-{r['kernel']}-{cpu}.json"
                path.write_text(dump(fixture))
                regs = " ".join(c["memslot"] for c in fixture["cases"] if "memslot" in c)
                log(f"Linux {r['kernel']} on {cpu} ({_variant(fixture['host'])}): {len(fixture['cases'])} whole-VM "
                    f"cases (registration: {regs}) -> {path}")
            if only_layout:
                continue
            fixture, drawn = make_fixture(r, cpu, raw, secs, qver, qpkg["version"], today, cases)
            path = out / f"linux-{r['kernel']}-{cpu}.json"
            path.write_text(dump(fixture))
            if drawn:
                write_campaign(drawn, out / f"random-{r['kernel']}-{cpu}.json.gz")
            host, cases = fixture["host"], fixture["cases"]
            n_ops = sum(len(c.get("ops", ())) for c in cases)
            log(f"Linux {r['kernel']} on {cpu} ({_variant(host)}): {len(cases)} cases, {n_ops} accesses, "
                f"{secs:.0f} s -> {path}")
    log(f"done in {time.monotonic() - t_all:.0f} s" + (f"; {failed} run(s) failed, see above" if failed else "")
        + (f"; {unavailable} kernel(s) no longer in the archive" if unavailable else ""))
    return 1 if failed else GONE if unavailable else 0


def dump(fixture: dict) -> str:
    """JSON with one line per case and per access, so that a re-recording diffs readably."""
    head = {k: v for k, v in fixture.items() if k != "cases"}
    lines = ["{"] + [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()] + [' "cases": [']
    cases = []
    for c in fixture["cases"]:
        top = json.dumps({k: v for k, v in c.items() if k != "ops"})[:-1]
        if "ops" not in c:
            cases.append(f"  {top}}}")
            continue
        ops = ",\n".join(f"   {json.dumps(op)}" for op in c["ops"])
        cases.append(f"  {top}, \"ops\": [\n{ops}\n  ]}}")
    return "\n".join(lines) + "\n" + ",\n".join(cases) + "\n ]\n}\n"


def _variant(host: dict) -> str:
    return ", ".join(k.upper() for k in ("fwb", "dic", "mte") if host[k]) or "no FWB, no DIC"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", action="append", default=[], help="only this kernel version (repeatable)")
    ap.add_argument("--cpu", action="append", default=[], choices=sorted(CPUS), help="only this CPU model")
    ap.add_argument("--timeout", type=int, default=240, help="seconds one boot may take (default 240)")
    ap.add_argument("--reparse", action="store_true", help="rewrite the fixtures from the last run's logs")
    ap.add_argument("--requery", action="store_true", help="rewrite the fixtures' permalinks from cases.py")
    ap.add_argument("--out", type=Path, default=FIXTURES, help="where the fixtures go (default app/data/conformance)")
    ap.add_argument("--no-random", action="store_true", help="leave the random campaign out")
    ap.add_argument("--only-layout", action="store_true", help="run only the whole-VM cases (conformance/"
                    "layout_cases.py) and write only their fixtures, layout-<kernel>-<cpu>.json")
    ap.add_argument("--image", type=Path, help="boot this Image (built by conformance/v3/build.sh, with its "
                    "build.json) instead of a pinned package; --kernel names it (default 6.12.117-v3)")
    a = ap.parse_args(argv)
    if a.reparse:
        return reparse()
    if a.requery:
        return requery()
    return record(a.kernel, a.cpu or list(CPUS), a.timeout, a.out, not a.no_random, a.image, a.only_layout)


if __name__ == "__main__":
    sys.exit(main())
