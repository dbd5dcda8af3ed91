"""The recorded runs as package data: the fixtures, the random campaigns and the bug runs, and
what names a run."""
from __future__ import annotations

import gzip
import json
from functools import cache
from importlib import resources


def fixture_dir():
    """The recorded runs, as package data (a Traversable: a directory in a checkout, inside the
    installed package otherwise)."""
    return resources.files("app").joinpath("data", "conformance")


# Models no Debian kernel can be booted for: they rest on reading the source alone.
SOURCE_READ_ONLY: dict[str, str] = {
    # every kernel model is checked against a booted kernel; the other revisions of the series
    # (app/sim/series.py) are mail, never a package
    **{mid: "a revision posted to the mailing lists, never packaged: no kernel package carries it"
       for mid in ("patch-v1", "patch-v2", "patch-v4", "patch-v5", "patch-v7", "patch-v8", "patch-v9", "patch-v10")},
    "block-pfnmap": "mainline between two commits of one merge, never released: no kernel package carries it",
}

# A run recorded before the probe read ID_AA64MMFR1_EL1: whether its stage 2 sets the access flag itself
# (the permalink's `ha`), which decides what an access after an age event does, is not known.
# What the recordings cannot show, and why (shown on /conformance/ and in the README).
QEMU_LIMITS = (
    "QEMU's TCG performs DC CIVAC without a stage-2 walk, so cache maintenance to an IPA outside every memslot "
    "never faults: the `.cm` path (kvm_handle_guest_abort()'s cache-maintenance skip) is checked by reading the "
    "source only, and no case issues DC CIVAC.",
    "QEMU raises no stage-2 alignment fault (an unaligned access to a Device leaf) and no FSC 0x35 (an exclusive "
    "or atomic to memory that does not support it): the `.ua` on Device and `.atomic` paths are checked by "
    "reading the source only, and no case draws them.",
    "Every QEMU CPU model recorded (max, cortex-a710, neoverse-n1) implements FEAT_HAFDBS (ID_AA64MMFR1_EL1.HAFDBS "
    "2, read by the probe), and Debian's kernels set VTCR_EL2.HA: after an age event the next access sets the "
    "access flag without a fault (host `ha`). The access-flag fault path (`.af`, handle_access_fault()) is reached "
    "only on the patch-v3 kernel built here, whose configuration lacks CONFIG_ARM64_HW_AFDBM.",
    "A walk that ends in a permission fault does not set the access flag in QEMU (the architecture lets it or "
    "not); the models make the same choice, and the guest's retried access sets it.",
    "Destroying a VM with a 52-bit IPA space on 16K pages takes QEMU about a minute (the kernel's range TLB "
    "invalidation, one instruction at a time): the 16K campaigns draw no 52-bit VM (the hand-written cases keep "
    "two).",
    "Not QEMU's but the probe's: the host ages pages with DAMON's virtual-address monitor (mmu_notifier_clear_young(), "
    "no TLB flush), where the models' `age` is page reclaim's clear_flush_young(); what the TLB holds is not "
    "compared, and which pages KVM was asked to age is read from its calls.",
)

# The v3 patch leaves the mmap lock held after refusing a COW VM_PFNMAP, so a munmap() or mmap() event
# after it never returns: the probe gives up on the VMM, and nothing after the event ran.
VMM_HUNG = "the VMM hung in the event (the v3 patch's refusal left its mmap lock held: munmap() and mmap() wait " \
    "for ever); nothing after it ran, and the models do not model the VMM's hang"
HA_UNKNOWN = "recorded before the probe read ID_AA64MMFR1_EL1.HAFDBS: whether the CPU sets the access flag itself " \
    "(host `ha`) is not known for this run"
# The probe's slot: one level-2 block at IPA 0x4000_0000 (the model's memslot is 1 GiB there; what a host
# event does at stage 2 is compared inside the probe's slot, where every access is).
TEST_IPA = 0x4000_0000
SLOT_SIZE = {"4k": 2 << 20, "16k": 32 << 20}

@cache
def fixtures(prefix: str = "linux-") -> tuple[dict, ...]:
    """The recorded runs' one-slot cases (linux-<kernel id>-<cpu>.json), or with prefix "layout-" their
    whole-VM cases (conformance/layout_cases.py: several memslots, a memslot over several VMAs)."""
    d = fixture_dir()
    if not d.is_dir():
        return ()
    out = []
    for path in sorted((p for p in d.iterdir() if p.name.startswith(prefix) and p.name.endswith(".json")),
                       key=lambda p: p.name):
        data = json.loads(path.read_text(encoding="utf-8"))
        data["file"] = path.name
        out.append(data)
    return tuple(out)


def campaigns():
    """The random campaigns, one gzipped JSON per run (random-<kernel id>-<cpu>.json.gz), in the same
    shape as a fixture, their cases drawn by conformance/campaign.py. Read one at a time and not kept:
    what the page needs of them is campaign_report()'s counts."""
    d = fixture_dir()
    if not d.is_dir():
        return
    for path in sorted((p for p in d.iterdir() if p.name.startswith("random-") and p.name.endswith(".json.gz")),
                       key=lambda p: p.name):
        data = json.loads(gzip.decompress(path.read_bytes()).decode("utf-8"))
        data["file"] = path.name
        yield data


@cache
def bug_runs() -> tuple[dict, ...]:
    """The fsdax experiment's runs (conformance/bugs.py): bugs-<kernel>-<cpu>.json."""
    d = fixture_dir()
    if not d.is_dir():
        return ()
    return tuple(json.loads(p.read_text(encoding="utf-8")) for p in sorted(d.iterdir(), key=lambda p: p.name)
                 if p.name.startswith("bugs-") and p.name.endswith(".json"))


def split_slot_rows() -> list[dict]:
    """The split-slot case (suspected bug b) in every run: what the first load mapped, whose memory the
    next loads read."""
    out = []
    for fx in fixtures():
        case = next((c for c in fx["cases"] if c["id"] == "split-pfnmap-block" and c.get("ops")), None)
        if case:
            first = case["ops"][0]
            out.append({"run": run_id(fx), "kernel": kernel_label(fx), "cpu": fx["cpu"],
                        "map": (first.get("map_call") or {}).get("size"), "leaf": (first.get("s2") or {}).get("size"),
                        "markers": [op.get("marker") for op in case["ops"][1:]]})
    return out


def kernel_label(fx: dict) -> str:
    """How a run's kernel is named on the page: its version, and for the built patch-v3 kernel its base."""
    k = fx["kernel"]
    return f"{k['version']} with the v3 patch" if k.get("built") else k["version"]


def run_id(fx: dict) -> str:
    """A run's name: its kernel id (version, and -16k for the 16K-page flavour) and CPU model."""
    return f"{fx['kernel'].get('id', fx['kernel']['version'])}-{fx['cpu']}"
