"""Ground truth: what Debian's real arm64 kernels did with each scenario under QEMU, next to what the
model of that kernel says.

The fixtures (app/data/conformance/linux-<version>-<cpu>.json, package data, so that an installed
wheel shows them too) are written by `make conformance`
(conformance/harness.py). Each recorded case names the permalink that expresses it; running that
permalink through the simulator must give what the real kernel did: the memslot's answer, each
access's outcome (errno, exit, injected abort) and, where a leaf was written, its memory type,
permissions, level and the size mapped. Disagreements the project knows of are listed in KNOWN,
each with a one-line reason and the kernel source line that explains it.
"""
from __future__ import annotations

import gzip
import json
import re
from dataclasses import replace
from functools import cache
from importlib import resources

from .permalink import canonical_url, parse_query
from .sim import KERNELS, MODELS, simulate


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

# (kernel version, case id, access number or None for the memslot/capability): (reason, source line).
KNOWN: dict[tuple[str, str, int | None], tuple[str, str]] = {}


def _af_of_an_atomic_write(op: dict | None, what: str, host: dict) -> bool:
    """The leaf an LDADD's write relaxed differs only in AF, set in the recording: on a CPU with hardware
    AF updates QEMU walks for the atomic's read first (permitted: AF set), then its write takes the
    permission fault; the models leave AF clear on an access that faults."""
    if not op or op.get("op") != "ldadd" or op.get("outcome") != "relax" or not host.get("ha"):
        return False
    m = re.fullmatch(r"attrs: real (0x[0-9a-f]+), model (0x[0-9a-f]+)", what)
    return bool(m) and int(m.group(1), 16) ^ int(m.group(2), 16) == 1 << 10 and int(m.group(1), 16) >> 10 & 1 == 1


# Differences no kernel decides, recognised by what they are: (test(recorded fault, difference, host),
# reason, source). Each is a choice the architecture leaves to the CPU, where QEMU chooses otherwise than
# the models.
KNOWN_RULES: tuple = (
    (_af_of_an_atomic_write,
     "QEMU sets the access flag when an LDADD's read walks the aged leaf, before its write takes the permission "
     "fault KVM relaxes; the architecture leaves it to the CPU and the models leave AF clear on a faulting access",
     "Arm ARM (ASL) AArch64.S2Translate(): AArch64.SettingAccessFlagPermitted() is "
     "ConstrainUnpredictableBool(Unpredictable_AFUPDATE) for a permission fault"),
)


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


# What is compared of ESR_EL2: EC, IL, ISV, SAS, SSE, SF, AR, CM, S1PTW, WnR and FSC. Not SRT (bits
# [20:16], the register the probe's guest happened to use), nor FnV, EA, SET or VNCR, which no model
# decides.
ESR_COMPARED = (0x3F << 26) | (1 << 25) | (1 << 24) | (3 << 22) | (1 << 21) | (1 << 15) | (1 << 14) \
    | (1 << 8) | (1 << 7) | (1 << 6) | 0x3F
# What is compared of a stage-2 leaf: every bit but the output address, bits [49:12] for the 4K and 16K
# granules (with LPA2, OA[51:50] sit in bits [9:8], zero for the addresses the probe maps, so comparing
# them checks that LPA2 leaves carry no SH bits).
DESC_OA = ((1 << 50) - 1) & ~((1 << 12) - 1)


def esr_fields(esr: int | None) -> str | None:
    return None if esr is None else f"{esr & ESR_COMPARED:#010x}"


def desc_attrs(desc: int | None) -> str | None:
    return None if desc is None else f"{desc & ~DESC_OA:#018x}"


def _union(ranges) -> list[list[int]]:
    out: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return out


def _clip(ranges, window) -> list[str]:
    """Ranges inside the probe's slot (or slots: `window` is one (start, end) or a tuple of them), merged,
    as 'start+size' in hex."""
    windows = window if isinstance(window[0], tuple) else (window,)
    kept = [(max(a, lo), min(b, hi)) for lo, hi in windows for a, b in ranges if a < hi and lo < b]
    return [f"{a:#x}+{b - a:#x}" for a, b in _union(kept)]


def _calls(op: dict, name: str, *want: str) -> list[tuple[int, int]]:
    """The ranges of one kind of stage-2 call a recorded event made (its kprobes, summarised)."""
    out = []
    for c in op.get("kvm", ()):
        words = c.split()
        if words[0] == name and all(w in words for w in want):
            kv = dict(w.split("=", 1) for w in words[1:] if "=" in w)
            out.append((int(kv["ipa"], 16), int(kv["ipa"], 16) + int(kv["size"], 16)))
    return out


def real_event(op: dict, window: tuple[int, int]) -> dict:
    """What a host event did on the real kernel: the VMM's result (ok, an errno, not_run), the IPA ranges
    KVM unmapped and write-protected at stage 2 (kvm_pgtable_stage2_unmap() and _wrprotect(), inside the
    probe's slot, merged), and for aging whether KVM found a young leaf (a test_clear_young with mkold
    that returned 1; DAMON's test-only calls after it find nothing the guest did not touch, and the
    guest does not run during the event)."""
    result = op.get("result")
    r = {"outcome": "event", "event": op["event"], "result": "ok" if result == "0" else result,
         "unmap": _clip(_calls(op, "unmap"), window), "wrprotect": _clip(_calls(op, "wrprotect"), window)}
    if op["op"] == "age":
        r["young"] = op["young"] if "young" in op else \
            any(c.split(" (x")[0] == "young ret=1" for c in op.get("kvm", ()))
    return r


def model_event(ev, window: tuple[int, int]) -> dict:
    """The same of a modelled event, from its steps: the kvm_pgtable_stage2_unmap() walks, the
    write-protect walk of kvm_mmu_wp_memory_region() and whether kvm_age_gfn() found a young leaf."""
    unmap, wp = [], []
    for st in ev.steps:
        v = dict(st.vars)
        if st.id == "pgt.unmap":
            unmap.append((v["ipa"], v["ipa"] + v["size"]))
        elif st.id == "slot.wp":
            wp.append((v["gpa"], v["gpa"] + v["size"]))
    r = {"outcome": "event", "result": ev.result, "unmap": _clip(unmap, window), "wrprotect": _clip(wp, window)}
    if ev.kind == "age":
        r["young"] = dict(ev.changes).get("aged", 0) > 0
    return r


def real_ops(case: dict, window: tuple[int, int] = (TEST_IPA, TEST_IPA + SLOT_SIZE["4k"])) -> list[dict]:
    """What the real kernel did, per access, in the fields the model is compared on: the outcome, the
    ESR_EL2 the CPU reported for the access's fault (if it faulted) and, where a leaf was written or
    relaxed, the whole descriptor but its output address, with the size KVM asked to map; per host
    event, real_event()."""
    out = []
    for op in case.get("ops", ()):
        if "event" in op:
            out.append(real_event(op, window))
            continue
        r = {"outcome": op["outcome"], "errno": op.get("errno"), "inject": op.get("inject"),
             "esr": esr_fields(int(op["esr_el2"][0], 16)) if op.get("esr_el2") else None}
        if op.get("s2") and op["outcome"] in ("map", "relax"):
            s2 = op["s2"]
            size = op["map_call"]["size"] if op["outcome"] == "map" and op.get("map_call") else s2["size"]
            r["s2"] = {"memtype": s2["memtype"], "perm": s2["perm"], "level": s2["level"], "size": size,
                       "attrs": desc_attrs(int(s2["desc"], 16))}
        out.append(r)
    return out


def model_ops(trace, window: tuple[int, int] = (TEST_IPA, TEST_IPA + SLOT_SIZE["4k"])) -> list[dict]:
    """The model's faults and events in the order of `f`, in the fields real_ops() gives."""
    out = []
    for kind, i in trace.items or (("fault", n) for n in range(len(trace.faults))):
        if kind == "event":
            out.append(model_event(trace.events[i], window))
            continue
        f = trace.faults[i]
        r = {"outcome": f.outcome, "errno": f.errno, "inject": f.inject, "esr": esr_fields(f.esr)}
        if f.s2 is not None and f.outcome in ("map", "relax"):
            r["s2"] = {"memtype": f.s2.memtype, "perm": f.s2.perm, "level": f.s2.level, "size": f.s2.size,
                       "attrs": desc_attrs(f.s2.pte)}
        out.append(r)
    return out


def _diff(real: dict, model: dict) -> list[str]:
    out = []
    if real.get("outcome") == "event" or model.get("outcome") == "event":
        for key in ("outcome", "result", "unmap", "wrprotect", "young"):
            if real.get(key) != model.get(key):
                out.append(f"{key}: real {real.get(key)}, model {model.get(key)}")
        return out
    for key in ("outcome", "errno", "inject", "esr"):
        if real.get(key) != model.get(key):
            out.append(f"{key}: real {real.get(key)}, model {model.get(key)}")
    if real.get("s2") and model.get("s2"):
        for key in ("memtype", "perm", "level", "size", "attrs"):
            if real["s2"][key] != model["s2"][key]:
                out.append(f"{key}: real {real['s2'][key]}, model {model['s2'][key]}")
    return out


# Backings whose host stage 1 is made of PAGE_SIZE PTEs (remap_pfn_range() of /dev/mem and of a sysfs
# PCI resource), however the VMA is aligned (`split`: its first VMA, the /dev/mem page).
PAGE_LEAF_BACKINGS = frozenset({"devmem", "devmemp", "remapdev", "bar", "barwc", "split"})


# Kernels a model is compared with although their base is another kernel: patch-v3 is v6.14 + the v3
# patch, recorded on 6.12.117 + the v3 patch, whose VM_PFNMAP mappings are sized by the host's stage-1
# leaf (the backported "Use stage-1 leaf size for VM_PFNMAP"), where v6.14 sizes them from the VMA.
LEAF_SIZED_BASES = {"6.12.117-v3": "6.12.117 sizes VM_PFNMAP by the host's stage-1 leaf (a page for /dev/mem, "
                                   "sysfs BARs and udmabufs), v6.14 from the VMA's alignment and extent"}


CUT_BLOCK = ("the event split the host's huge stage-1 mapping of this block, and the recorded base sizes a "
             "VM_PFNMAP mapping by the stage-1 leaf, now a page; v6.14's code, which the model holds, sizes it from "
             "the VMA and maps the whole block (the end test passes for a block-aligned HVA), so the later accesses "
             "inside it do not fault there",
             "arch/arm64/kvm/mmu.c: get_vma_page_shift() (v6.14) against 6.12.117's backported \"Use stage-1 leaf "
             "size for VM_PFNMAP\" in user_mem_abort()")


def cut_block_on_a_leaf_sized_base(kernel_id: str | None, row: dict, diffs: list) -> list[tuple[str, str]]:
    """On a LEAF_SIZED_BASES run, after an unmap or replace cut a block: a page where the model maps the
    block, and the accesses after it that the model's block answers without a fault (one the real kernel
    refuses, its VMA unmapped, included: v6.14's block reaches past the VMA). Every difference of
    the case must be of that kind, from that access on, for any to count as known."""
    if kernel_id not in LEAF_SIZED_BASES or not diffs:
        return []
    real, model = row["real"]["ops"], row["modelled"]["ops"]
    cut = next((i for i, op in enumerate(real) if op.get("event", "").startswith(("unmap:", "replace:"))), None)
    first = next((i for i, (r, m) in enumerate(zip(real, model, strict=False))
                  if (r.get("s2") or {}).get("size", 0) < (m.get("s2") or {}).get("size", 0)), None)
    if cut is None or first is None or first < cut:
        return []
    for at, what in diffs:
        if at is None or at - 1 < first:
            return []
        r, m = real[at - 1], model[at - 1]
        page_for_block = at - 1 == first and what.split(":")[0] in ("level", "size", "attrs")
        answered = at - 1 > first and m["outcome"] == "no_fault" and r["outcome"] != "no_fault"
        if not (page_for_block or answered):
            return []
    return [CUT_BLOCK] * len(diffs)


def _young_from_an_atomics_walk(ops: list, i: int, what: str, host: dict, slot_end: int) -> bool:
    """An age finds the leaf young where the model finds it old, and since the age before it an LDADD
    faulted on that leaf (a permission fault KVM relaxed, or a read-only slot's -ENOSYS): QEMU's walk for
    the atomic's read set the access flag before its write faulted (_af_of_an_atomic_write())."""
    if what != "young: real True, model False" or not host.get("ha") or ops[i - 1].get("op") != "age":
        return False
    for op in reversed(ops[:i - 1]):
        if op.get("op") == "age":
            return False
        if op.get("op") == "ldadd" and op.get("outcome") in ("relax", "run_error"):
            return True
    return False


def _event_end(event: str, page: int) -> int:
    parts = event.split(":")
    return int(parts[1], 16) + (int(parts[2], 16) if len(parts) > 2 else page)


def _probe_slot_ends_sooner(ops: list, i: int, what: str, host: dict, slot_end: int) -> bool:
    """An event answers otherwise after an unmap or replace reached the end of the probe's test slot: the
    probe's memslot ends there (2 MiB, 32 MiB with 16K pages), the permalink's goes on to 1 GiB with the
    VMA still there, so the model's VMM still finds a VMA past it (a munmap() notifies, a dirty-logging
    change is checked against it) where the probe's found none."""
    if "event" not in ops[i - 1] or what.split(":")[0] not in ("result", "unmap", "wrprotect", "young"):
        return False
    page = 16384 if slot_end - TEST_IPA == SLOT_SIZE["16k"] else 4096
    this = ops[i - 1]["event"]
    if ":" in this and _event_end(this, page) < slot_end:        # a range inside the probe's slot: no excuse
        return False
    return any(op.get("event", "").startswith(("unmap:", "replace:")) and _event_end(op["event"], page) >= slot_end
               for op in ops[:i])


# Differences that follow from what a case did before, recognised from the recorded operations:
# (test(recorded operations, access number, difference, host, end of the probe's slot), reason, source).
CASE_RULES: tuple = (
    (_young_from_an_atomics_walk, KNOWN_RULES[0][1], KNOWN_RULES[0][2]),
    (_probe_slot_ends_sooner,
     "the probe's memslot is 2 MiB (32 MiB with 16K pages) and an earlier unmap or replace reached its end; the "
     "permalink's memslot is 1 GiB, so past that end the model's VMA is still there, where the probe's slot had none",
     "conformance/probe/probe.c: the test slot's size; README 'A permalink': memslot 1 is 1 GiB"),
)


def _page_leaf(v):
    """A whole VM's VMA read with a page-sized host leaf where it is a remap_pfn_range() of /dev/mem."""
    return replace(v, pg=None) if v.mem == "dev" and "pfnmap" in v.flags else v


def scenario_for(mid: str, case: dict, sc, kernel_id: str | None = None):
    """A case's scenario as `mid` reads it. The recorded query's `pg` is the VMA's alignment, which is
    what the models that size VM_PFNMAP from the VMA read; a model with the stage-1 leaf fix reads
    `pg` as the host's stage-1 leaf, which for these backings is a page. A recording on a base that sizes
    by the stage-1 leaf (LEAF_SIZED_BASES) is read the same way: the sizing is the base's, not the model's
    to check, and the model's other decisions are checked with a page-sized host leaf."""
    leaf_sized = not MODELS[mid].sizes_pfnmap_from_vma or kernel_id in LEAF_SIZED_BASES
    backings = PAGE_LEAF_BACKINGS | ({"udmabuf", "udmabuf4k"} if kernel_id in LEAF_SIZED_BASES else set())
    if leaf_sized and case.get("backing") == "layout":
        # A whole VM: memslot 1's first VMA by its backing, every other /dev/mem VMA as a page-leaf one.
        first = {"pg": None} if case.get("first_vma") in backings | {"devmem"} else {}
        return replace(sc, **first, v1=tuple(_page_leaf(v) for v in sc.v1),
                       slots=tuple(replace(x, vmas=tuple(_page_leaf(v) for v in x.vmas)) for x in sc.slots))
    if leaf_sized and case.get("backing") in backings:
        return replace(sc, pg=None)
    return sc


def compare_case(fx: dict, case: dict) -> dict:
    """One recorded case against its model: everything the page and the test need."""
    mid = fx.get("model")
    kver = fx["kernel"]["version"]
    granule = fx["kernel"].get("granule", "4k")
    window = (TEST_IPA, TEST_IPA + SLOT_SIZE[granule])
    if case.get("memslots") and case.get("query"):
        # A whole VM: the probe's slot 1, and every other memslot as the permalink has it (as the probe).
        window = (window,) + tuple((x.gpa, x.gpa + x.size) for x in parse_query(case["query"]).scenario.slots)
    row = {"id": case["id"], "title": case["title"], "kernel": kver, "label": kernel_label(fx), "cpu": fx["cpu"],
           "model": mid,
           "run": run_id(fx), "granule": granule,
           "real": {"memslot": case.get("memslot"), "cap_vm": case.get("cap_vm"), "ops": real_ops(case, window)}}
    if "memslots" in case:
        row["real"]["memslots"] = [m["result"] for m in case["memslots"]]
    events = [op["event"] for op in case.get("ops", ()) if "event" in op]
    if events:
        row["events"] = events
    for key in ("skipped", "error", "no_permalink"):
        if case.get(key):
            row["status"], row["why"] = "not_compared", case[key]
            return row
    if events and "hafdbs" not in fx["host"]:
        row["status"], row["why"] = "not_compared", HA_UNKNOWN
        return row
    if case.get("vmm_hang") and any(op.get("result") is None for op in case["ops"] if "event" in op):
        row["status"], row["why"] = "not_compared", VMM_HUNG
        return row
    parsed = parse_query(case["query"])
    if not parsed.ok:
        row["status"], row["why"] = "bad_permalink", "; ".join(parsed.errors)
        return row
    row["faults"] = [op.get("event") or op["fault"] for op in case["ops"]]
    if mid not in MODELS:
        row["permalink"] = canonical_url(mid or "?", parsed.scenario)
        row["status"], row["why"] = "no_model", f"no model {mid} yet" if mid else "no model claims this kernel"
        return row
    sc = scenario_for(mid, case, parsed.scenario, fx["kernel"].get("id"))
    row["permalink"] = canonical_url(mid, sc)
    # A scenario with events is traced: what an event did at stage 2 is read from its steps.
    tr = simulate(mid, sc, trace=bool(sc.events))
    row["modelled"] = {"memslot": tr.memslot.result, "cap_vm": tr.cap_cacheable_pfnmap, "ops": model_ops(tr, window)}
    for r, m in zip(row["real"]["ops"], row["modelled"]["ops"], strict=False):
        if m["outcome"] == "event":
            m["event"] = r.get("event")
    diffs: list[tuple[int | None, str]] = []
    if row["real"]["memslot"] != tr.memslot.result:
        diffs.append((None, f"memslot: real {row['real']['memslot']}, model {tr.memslot.result}"))
    if "memslots" in row["real"]:
        # Each memslot's registration, in the VMM's order (JSON memslots[].result; not_run after a refusal).
        row["modelled"]["memslots"] = [a.result for a in tr.slots]
        if row["real"]["memslots"] != row["modelled"]["memslots"]:
            diffs.append((None, f"memslots: real {row['real']['memslots']}, model {row['modelled']['memslots']}"))
    if isinstance(case.get("cap_vm"), int) and case["cap_vm"] != tr.cap_cacheable_pfnmap:
        diffs.append((None, f"capability 243 on the VM fd: real {case['cap_vm']}, model {tr.cap_cacheable_pfnmap}"))
    for i, (r, m) in enumerate(zip(row["real"]["ops"], row["modelled"]["ops"], strict=True)):
        diffs += [(i + 1, d) for d in _diff(r, m)]
    row["diffs"] = [{"access": i, "what": d} for i, d in diffs]
    known = [KNOWN[(kver, case["id"], i)] for i, _ in diffs if (kver, case["id"], i) in KNOWN]
    known += cut_block_on_a_leaf_sized_base(fx["kernel"].get("id"), row, diffs)
    known += [rule[1:] for i, d in diffs if (kver, case["id"], i) not in KNOWN
              for rule in KNOWN_RULES if rule[0](case["ops"][i - 1] if i else None, d, fx["host"])]
    known += [rule[1:] for i, d in diffs if i and (kver, case["id"], i) not in KNOWN
              for rule in CASE_RULES if rule[0](case["ops"], i, d, fx["host"], window[1])]
    if not diffs:
        row["status"] = "same"
    elif len(known) == len(diffs):
        row["status"], row["known"] = "known", [{"reason": r, "source": s} for r, s in known]
    else:
        row["status"] = "differs"
    return row


STATUSES = ("same", "known", "differs", "not_compared")


COMPARED = ("same", "known", "differs")
EVENT_KINDS = ("unmap", "replace", "age", "logon", "logoff", "delslot")


def tally(rows) -> dict:
    """Counts of compared rows: per status, how many had host events and which event kinds they had,
    and why the others were not compared."""
    out: dict = {s: 0 for s in STATUSES + ("bad_permalink", "no_model")}
    out |= {"compared": 0, "with_events": 0, "events": {k: 0 for k in EVENT_KINDS}, "not_compared_why": {}}
    for r in rows:
        out[r["status"]] = out.get(r["status"], 0) + 1
        if r["status"] in COMPARED:
            out["compared"] += 1
            if r.get("events"):
                out["with_events"] += 1
                for e in r["events"]:
                    out["events"][e.split(":")[0]] += 1
        elif r["status"] == "not_compared":
            out["not_compared_why"][r["why"]] = out["not_compared_why"].get(r["why"], 0) + 1
    return out


def add_tally(a: dict, b: dict) -> dict:
    keys = STATUSES + ("bad_permalink", "no_model", "compared", "with_events", "cases")
    out = {k: a.get(k, 0) + b.get(k, 0) for k in keys}
    out["events"] = {k: a.get("events", {}).get(k, 0) + b.get("events", {}).get(k, 0) for k in EVENT_KINDS}
    why = dict(a.get("not_compared_why", {}))
    for k, n in b.get("not_compared_why", {}).items():
        why[k] = why.get(k, 0) + n
    out["not_compared_why"] = why
    return out


@cache
def campaign_report() -> dict[str, dict]:
    """Each run's random campaign compared: counts, and the rows that are not the same."""
    out = {}
    for fx in campaigns():
        rows = [compare_case(fx, c) for c in fx["cases"]]
        out[run_id(fx)] = {"file": fx["file"], "seed": fx["campaign"]["seed"], "cases": len(rows), **tally(rows),
                           "model": fx.get("model"), "kernel": fx["kernel"]["version"],
                           "granule": fx["kernel"].get("granule", "4k"),
                           "rows": [r for r in rows if r["status"] not in ("same", "not_compared")]}
    return out


@cache
def report() -> dict:
    """Every recorded case compared, grouped per model, with the counts the page shows: the hand-written
    cases one by one, the random campaigns as counts (and any case of theirs that differs)."""
    rows = [compare_case(fx, c) for fx in fixtures() + fixtures("layout-") for c in fx["cases"]]
    camp = campaign_report()
    runs = [{"file": fx["file"], "run": run_id(fx), "kernel": fx["kernel"], "model": fx.get("model"),
             "model_note": fx.get("model_note"), "qemu": fx["qemu"],
             "cpu": fx["cpu"], "host": fx["host"], "date": fx["date"], "seconds": fx.get("seconds"),
             "cases": len(fx["cases"]), "campaign": {k: v for k, v in camp.get(run_id(fx), {}).items() if k != "rows"},
             "cap_dev": next((c["cap_dev"] for c in fx["cases"] if "cap_dev" in c), None)} for fx in fixtures()]
    models = []
    for mid in KERNELS:
        mine = [r for r in rows if r["model"] == mid]
        drawn = [c for c in camp.values() if c["model"] == mid]
        random_counts: dict = tally(())
        for c in drawn:
            random_counts = add_tally(random_counts, {k: v for k, v in c.items() if k != "rows"})
        by_granule = []
        for g in sorted({r["granule"] for r in mine}):
            rnd: dict = tally(())
            for c in drawn:
                if c["granule"] == g:
                    rnd = add_tally(rnd, {k: v for k, v in c.items() if k != "rows"})
            by_granule.append({"granule": g, "kernels": sorted({r["label"] for r in mine if r["granule"] == g}),
                               "runs": len({r["run"] for r in mine if r["granule"] == g}),
                               "hand": tally(r for r in mine if r["granule"] == g), "random": rnd})
        hand = tally(mine)
        why = add_tally(hand, random_counts)["not_compared_why"]
        models.append({"model": mid, "kernels": sorted({r["label"] for r in mine}), "not_compared_why": why,
                       "granules": sorted({r["granule"] for r in mine}),
                       "source_read_only": SOURCE_READ_ONLY.get(mid) if not mine else None,
                       **{k: hand[k] for k in STATUSES}, "compared": hand["compared"], "hand": hand,
                       "random": random_counts, "by_granule": by_granule})
    waiting = sorted({(fx["kernel"]["version"], fx.get("model") or "") for fx in fixtures()
                      if fx.get("model") not in MODELS})
    return {"schema": 1, "runs": runs, "models": models, "qemu_limits": list(QEMU_LIMITS),
            "bugs": {"split_slot": split_slot_rows(), "fsdax": list(bug_runs())},
            "no_model_yet": [{"kernel": k, "model": m or None} for k, m in waiting], "cases": rows,
            "random_rows": [r for c in camp.values() for r in c["rows"]]}


@cache
def _by_permalink() -> dict[str, tuple[dict, ...]]:
    """Every compared hand-written case by permalink, in the little a trace page's line needs: a trace
    page asks for it, so it stays small (not the whole report)."""
    out: dict[str, list[dict]] = {}
    for fx in fixtures() + fixtures("layout-"):
        for case in fx["cases"]:
            r = compare_case(fx, case)
            if r.get("permalink") and r["status"] in ("same", "known", "differs"):
                out.setdefault(r["permalink"], []).append(
                    {k: r[k] for k in ("id", "kernel", "cpu", "run", "model", "status")}
                    | {"package": fx["kernel"]["package"], "qemu": fx["qemu"]["version"], "date": fx["date"]})
    return {k: tuple(v) for k, v in out.items()}


def checked(model: str, canonical: str) -> dict | None:
    """For a trace page: was this exact scenario run on the real kernel of `model`?
    `canonical` is the page's canonical URL (/<model>/?<query>, any step dropped)."""
    base = canonical.split("&step=")[0].split("?step=")[0]
    rows = [r for r in _by_permalink().get(base, ()) if r["model"] == model]
    if not rows:
        return None
    # Several runs can record the same scenario (VHE and nVHE); a difference in any of them shows.
    r = next((r for r in rows if r["status"] == "differs"), next((r for r in rows if r["status"] == "known"), rows[0]))
    return {"kernel": r["kernel"], "package": r["package"], "qemu": r["qemu"],
            "cpu": r["cpu"], "date": r["date"], "same": r["status"] == "same", "status": r["status"],
            "href": f"/conformance/#{anchor(r)}",
            "text": f"checked against Linux {r['kernel']} under QEMU {r['qemu']} ({r['cpu']}): "
                    + {"same": "same result", "known": "a known difference",
                       "differs": "DIFFERENT result"}[r["status"]]}


def anchor(row: dict) -> str:
    return f"{row['run']}-{row['id']}"


def verdict(side: dict | None) -> str:
    """'reg=ok | map normal RWX 4K | exit_mmio': one side of a comparison, the way the tests print it."""
    if not side:
        return ""
    parts = [f"reg={side['memslot']}" + (f" ({' '.join(side['memslots'])})" if side.get("memslots") else "")]
    for op in side["ops"]:
        if op.get("s2"):
            s2 = op["s2"]
            size = {4096: "4K", 16384: "16K", 2 << 20: "2M", 32 << 20: "32M", 1 << 30: "1G"}.get(s2["size"],
                                                                                             str(s2["size"]))
            parts.append(f"{op['outcome']} {s2['memtype']} {s2['perm']} {size} L{s2['level']}")
        elif op["outcome"] == "event":
            did = [f"unmap {r}" for r in op.get("unmap", ())] + [f"wrprotect {r}" for r in op.get("wrprotect", ())]
            if op.get("young") is not None:
                did.append("young" if op["young"] else "old")
            parts.append(f"[{op.get('event')}: {op.get('result')}" + "".join("; " + d for d in did) + "]")
        else:
            parts.append(" ".join(x for x in (op["outcome"], op.get("errno"), op.get("inject")) if x))
    return " | ".join(parts)


# ---- the page and its JSON ------------------------------------------------------------------

from flask import Blueprint, jsonify, render_template  # noqa: E402

bp = Blueprint("conformance", __name__)


@bp.get("/conformance/")
def page():
    rep = report()
    runs = []
    for run in rep["runs"]:
        rows = [r for r in rep["cases"] if r["run"] == run["run"]]
        variant = ", ".join(k.upper() for k in ("fwb", "dic", "mte", "lpa2") if run["host"].get(k)) \
            or "no FWB, no DIC"
        runs.append({**run, "rows": rows, "variant": variant + (", nVHE" if run["host"].get("nvhe") else "")})
    return render_template("conformance.html", rep=rep, runs=runs, verdict=verdict, anchor=anchor)


@bp.get("/conformance.json")
def as_json():
    return jsonify(report())
