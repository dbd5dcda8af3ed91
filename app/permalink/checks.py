"""Impossible combinations in a scenario, each repaired the smallest way with a one-sentence
reason: what no host, VMA or VMM can make, and events a kernel refuses before they start."""
from __future__ import annotations

from dataclasses import replace

from ..sim import scenario as s


def check_combinations(sc: s.Scenario) -> tuple[s.Scenario, list[str]]:
    """Impossible combinations, each repaired the smallest way: slot 1's VMA (schema 1's), then every
    other VMA of a layout the same way, then the events."""
    sc, errors = check_vma(sc)
    if sc.has_layout:
        from . import layout
        sc, layout_errors = layout.check(sc, check_vma)
        errors += layout_errors
    if sc.events or "ha" in sc.host:
        sc, event_errors = check_events(sc)
        errors += event_errors
    return sc, errors


def check_vma(sc: s.Scenario) -> tuple[s.Scenario, list[str]]:
    """What no host, VMA or VMM can make of the scenario's VMA (vma, mt, mem, pg) and its slot."""
    errors = []
    mte_host = "mte" in sc.host
    if "mte" in sc.vm and not mte_host:
        errors.append("vm=mte needs host=mte: KVM_CAP_ARM_MTE is offered only on MTE hosts.")
        sc = replace(sc, vm=sc.vm - {"mte"})
    if "mteok" in sc.vma and not mte_host:
        errors.append("vma=mteok needs host=mte: VM_MTE_ALLOWED is only set on MTE hosts.")
        sc = replace(sc, vma=sc.vma - {"mteok"})
    if sc.mt == "tagged" and not mte_host:
        errors.append("mt=tagged needs host=mte: PROT_MTE mappings exist only on MTE hosts.")
        sc = replace(sc, mt="normal")
    if "mteok" in sc.vma and sc.mem == "dev" and "mte" in sc.vm:
        errors.append("vma=mteok over mem=dev in an MTE VM cannot happen: VM_MTE_ALLOWED marks RAM whose tags "
                      "the kernel keeps, and KVM would sanitise the tags of pages that do not exist.")
        sc = replace(sc, vma=sc.vma - {"mteok"})
    if "gmem" in sc.slot:
        sc, gmem_errors = check_gmem(sc)
        errors += gmem_errors
    if {"pfnmap", "hugetlb"} <= sc.vma:
        errors.append("vma cannot be both pfnmap and hugetlb: hugetlbfs mappings are never VM_PFNMAP.")
        sc = replace(sc, vma=sc.vma - {"hugetlb"})
    if {"pfnmap", "mixedmap"} <= sc.vma:
        errors.append("vma cannot be both pfnmap and mixedmap: the kernel BUG()s on that combination.")
        sc = replace(sc, vma=sc.vma - {"mixedmap"})
    if sc.pg is not None and (sc.pg == sc.g or sc.pg not in s.HOST_LEAF_SIZES[sc.g]):
        sc = replace(sc, pg=None)
    if sc.mem == "sg" and sc.g != "4k":
        errors.append("mem=sg is modelled with the 4k granule only (a udmabuf of 4 KiB memfd pages).")
        sc = replace(sc, g="4k", pg=None)
    if sc.mem == "sg" and sc.pg not in (None, "2m"):
        errors.append("mem=sg allows pg=4k or pg=2m: its pages are scattered, so only a VM_PFNMAP VMA's "
                      "alignment can make a block.")
        sc = replace(sc, pg="2m")
    if sc.mem == "sg" and sc.pg is not None and "pfnmap" not in sc.vma:
        errors.append("mem=sg with pg=2m needs vma=pfnmap: scattered pages have no huge host leaf, only a "
                      "VM_PFNMAP VMA's alignment can make a block.")
        sc = replace(sc, pg=None)
    return sc, errors


NOT_ON_LRU = frozenset({"pfnmap", "mixedmap", "io", "hugetlb"})


def check_events(sc: s.Scenario) -> tuple[s.Scenario, list[str]]:
    """Events the host cannot make on this scenario, each dropped with its reason."""
    errors: list[str] = []
    keep = []
    for ev in sc.events:
        views = _vmas_in(sc, ev) if ev.ranged else ()
        if ev.kind in ("unmap", "replace") and any(
                "hugetlb" in v.vma and "pfnmap" not in v.vma and (ev.ipa % v.host_leaf or ev.size % v.host_leaf)
                for v in views):
            pg = next(v.pg for v in views if "hugetlb" in v.vma)
            errors.append(f"{ev.kind} of a hugetlbfs VMA must be aligned to its {pg} pages: munmap() and "
                          "mmap(MAP_FIXED) refuse anything else with -EINVAL.")
            continue
        if ev.kind == "replace" and len(views) > 1:
            errors.append("replace maps one object again over its own range: the range must lie inside one VMA of "
                          "the layout.")
            continue
        if ev.kind == "age" and any(NOT_ON_LRU & v.vma or v.mem in ("dev", "zdev") or "gmem" in v.slot
                                    for v in views):
            errors.append("age: the host ages only pages on its LRU lists (anonymous, shmem, memfd and page-cache "
                          "pages); VM_IO, VM_PFNMAP, VM_MIXEDMAP, hugetlbfs, device, ZONE_DEVICE and guest_memfd "
                          "memory is never aged.")
            continue
        keep.append(ev)
    if len(keep) != len(sc.events):
        sc = replace(sc, events=tuple(keep))
    if "ha" in sc.host and any("af" in f.mods for f in sc.faults):
        errors.append("A fault with .af needs a host without ha: with FEAT_HAFDBS and VTCR_EL2.HA the stage-2 "
                      "walker sets the access flag itself, and no access-flag fault is taken.")
        sc = replace(sc, faults=tuple(replace(f, mods=f.mods - {"af"}) for f in sc.faults))
    return sc, errors


GMEM_VMA_FLAGS = frozenset({"shared", "maywrite"})


def check_gmem(sc: s.Scenario) -> tuple[s.Scenario, list[str]]:
    """A guest_memfd slot's userspace range is a MAP_SHARED mmap of the guest_memfd itself: RAM with
    a normal pgprot, VM_SHARED (and VM_MAYWRITE), nothing else; its memory never changes under it."""
    errors = []
    if sc.vma - GMEM_VMA_FLAGS or "shared" not in sc.vma:
        errors.append("slot=gmem maps the guest_memfd itself, MAP_SHARED: vma can only be shared or "
                      "shared,maywrite.")
        sc = replace(sc, vma=frozenset({"shared"}) | (sc.vma & {"maywrite"}))
    if sc.mem != "ram" or sc.mt != "normal":
        errors.append("slot=gmem memory is the guest_memfd's own RAM: mem=ram and mt=normal.")
        sc = replace(sc, mem="ram", mt="normal")
    if sc.remap:
        errors.append("slot=gmem cannot be remapped: its memory comes from the guest_memfd, not the VMA.")
        sc = replace(sc, remap=False)
    return sc, errors


def _vmas_in(sc: s.Scenario, ev: s.Event) -> list[s.Scenario]:
    """A view of every VMA of the layout that a range event's IPA range meets (schema 1: the scenario)."""
    if not sc.has_layout:
        return [sc]
    return [sc.at(v.start) for v in sc.layout.vmas if v.start < ev.end and ev.ipa < v.end]
