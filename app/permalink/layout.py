"""The keys of a whole VM (issue 16), additive to schema 1: slot 1's further VMAs and memslots 2..8.

    v1=<vma>@<size>[/<vma>@<size>...]        slot 1's VMAs after its first (vma, mt, mem, pg)
    s<N>=<ipa>:<size>[:<flags>]              memslot N (2..8), registered in that order
    v<N>=<vma>[/<vma>@<size>...]             its VMAs in HVA order; the first takes what the others leave
    <vma> = <flags>[:<mt>[:<mem>[:<pg>]]]    as the keys vma, mt, mem and pg say them

Addresses and sizes are hex without 0x; a slot without v<N> is one VMA of anonymous RAM (maywrite).
Canonical: trailing defaults of a VMA left out, the first VMA's size left out, slots in key order.
"""
from __future__ import annotations

import re
from dataclasses import replace

from ..sim import scenario as s
from ..sim.scenario import SlotDef, VmaDef

MAX_SLOTS, MAX_VMAS, MAX_SLOT_SIZE = s.MAX_SLOTS, s.MAX_VMAS, s.MAX_SLOT_SIZE
SLOT_KEYS = tuple(f"s{n}" for n in range(2, MAX_SLOTS + 1))
VMA_KEYS = tuple(f"v{n}" for n in range(1, MAX_SLOTS + 1))
KEYS = ("v1",) + tuple(k for n in range(2, MAX_SLOTS + 1) for k in (f"s{n}", f"v{n}"))
EXTRA_SLOT_FLAGS = tuple(f for f in s.SLOT_FLAGS if f != "gmem")     # log, ro (and the series' cacheable)
IPA_END_MAX = 1 << s.IPA_BITS_MAX

_HEX = r"(?:0x)?([0-9a-f_]+)"
_SLOT_RE = re.compile(rf"^{_HEX}:{_HEX}(?::([a-z,]*))?$")


class LayoutError(ValueError):
    """One sentence about a layout key."""


def parse(values: dict[str, str], g: str, errors: list[str]) -> tuple[tuple[VmaDef, ...], tuple[SlotDef, ...]]:
    """(slot 1's further VMAs, memslots 2..) from the query's layout keys; each error is appended as one
    sentence and the offending key (or slot) left out, which leaves the nearest valid layout."""
    values = {k: v for k, v in values.items() if k not in KEYS or v.strip()}      # empty: as if not given
    page = s.GRANULE_SIZE[g]
    v1: tuple[VmaDef, ...] = ()
    if "v1" in values:
        try:
            v1 = _vmas("v1", values["v1"], g, page, s.MEMSLOT_SIZE, first_given=True)
        except LayoutError as e:
            errors.append(str(e))
    slots: list[SlotDef] = []
    for n in range(2, MAX_SLOTS + 1):
        key, vkey = f"s{n}", f"v{n}"
        if key not in values:
            if vkey in values:
                errors.append(f"{vkey} describes the VMAs of memslot {n}, but there is no {key}.")
            later = [k for k in SLOT_KEYS[n - 1:] if k in values]
            if later:
                errors.append(f"{later[0]} is given without {key}: number the memslots 2, 3, ... in the order the "
                              "VMM registers them.")
            break
        try:
            slot = _slot(key, values[key], page)
        except LayoutError as e:
            errors.append(str(e))
            break
        if vkey in values:
            try:
                vmas = _vmas(vkey, values[vkey], g, page, slot.size, first_given=False)
                slot = replace(slot, vmas=() if vmas == (VmaDef(),) else vmas)
            except LayoutError as e:
                errors.append(str(e))
        clash = _overlap(slot, slots)
        if clash:
            errors.append(clash)
            break
        slots.append(slot)
    count = 1 + len(v1) + sum(max(1, len(x.vmas)) for x in slots)
    if count > MAX_VMAS:
        errors.append(f"At most {MAX_VMAS} VMAs in a VM, not {count}.")
        while slots and count > MAX_VMAS:
            count -= max(1, len(slots.pop().vmas))
        v1 = v1[:MAX_VMAS - 1]
    return v1, tuple(slots)


def _slot(key: str, text: str, page: int) -> SlotDef:
    m = _SLOT_RE.match(text.lower())
    if not m or not m.group(1).strip("_") or not m.group(2).strip("_"):
        raise LayoutError(f"{key} must be <hex IPA>:<hex size>[:<flags>], e.g. {key}=8000000000:40000000.")
    gpa, size = int(m.group(1).replace("_", ""), 16), int(m.group(2).replace("_", ""), 16)
    flags = {f.strip() for f in (m.group(3) or "").split(",") if f.strip()}
    bad = flags - set(EXTRA_SLOT_FLAGS)
    if bad:
        raise LayoutError(f"{key}: '{sorted(bad)[0]}' is not a flag of an added memslot: use "
                          f"{', '.join(EXTRA_SLOT_FLAGS)} (a guest_memfd slot is modelled as slot 1 only).")
    if size == 0 or gpa % page or size % page:
        raise LayoutError(f"{key}: the IPA and the size must be multiples of the {page >> 10}K page, the size not 0.")
    if size > MAX_SLOT_SIZE:
        raise LayoutError(f"{key}: a memslot here is at most 1 TiB ({MAX_SLOT_SIZE:#x}), not {size:#x}.")
    if gpa + size > IPA_END_MAX:
        raise LayoutError(f"{key}: the slot must end inside the {s.IPA_BITS_MAX}-bit IPA space.")
    return SlotDef(gpa, size, frozenset(flags))


def _overlap(slot: SlotDef, before: list[SlotDef]) -> str | None:
    ranges = [(1, s.MEMSLOT_GPA, s.MEMSLOT_GPA + s.MEMSLOT_SIZE)]
    ranges += [(i + 2, x.gpa, x.end) for i, x in enumerate(before)]
    for n, a, b in ranges:
        if slot.gpa < b and a < slot.end:
            return (f"s{len(before) + 2} [{slot.gpa:#x}, {slot.end:#x}) overlaps memslot {n} [{a:#x}, {b:#x}): "
                    "memslots must not overlap (KVM refuses the second with -EEXIST).")
    return None


def _vmas(key: str, text: str, g: str, page: int, total: int, first_given: bool) -> tuple[VmaDef, ...]:
    """The VMAs of one key. For v1 every VMA carries its size (slot 1's first VMA, the keys vma, mt,
    mem and pg, takes the rest); for v<N> the first takes what the others leave."""
    items = text.lower().split("/")
    out = [_vma(key, k, item, g, page) for k, item in enumerate(items, 2 if first_given else 1)]
    sized = out if first_given else out[1:]
    if any(v.size == 0 for v in sized):
        raise LayoutError(f"{key}: each VMA after a slot's first needs its size, as <vma>@<hex size>, "
                          "e.g. maywrite@200000.")
    rest = total - sum(v.size for v in sized)
    if rest <= 0:
        raise LayoutError(f"{key}: the VMAs after the first take {total - rest:#x} bytes of the slot's {total:#x}, "
                          "leaving nothing for its first VMA; the VMAs must tile the slot exactly (for a range "
                          "without a VMA, unmap it after registration).")
    if not first_given:
        if out[0].size not in (0, rest):
            raise LayoutError(f"{key}: its VMAs' sizes add up to {out[0].size + total - rest:#x}, not the slot's "
                              f"{total:#x}: the VMAs must tile the slot's userspace range exactly.")
        out[0] = replace(out[0], size=0)
    return tuple(out)


def _vma(key: str, k: int, text: str, g: str, page: int) -> VmaDef:
    body, at, size_text = text.partition("@")
    parts = body.split(":")
    if len(parts) > 4:
        raise LayoutError(f"{key}: VMA {k} '{_clip(text)}' is not <flags>[:<mt>[:<mem>[:<pg>]]][@<hex size>].")
    flags = {f.strip() for f in parts[0].split(",") if f.strip()}
    bad = flags - set(s.VMA_FLAGS)
    if bad:
        raise LayoutError(f"{key}: '{_clip(sorted(bad)[0])}' is not a VMA flag: use {', '.join(s.VMA_FLAGS)}.")
    mt = (parts[1] if len(parts) > 1 else "") or "normal"
    mem = (parts[2] if len(parts) > 2 else "") or "ram"
    pg = (parts[3] if len(parts) > 3 else "") or None
    if mt not in s.MEM_TYPES:
        raise LayoutError(f"{key}: '{_clip(mt)}' is not a memory type: use {', '.join(s.MEM_TYPES)}.")
    if mem not in s.BACKINGS:
        raise LayoutError(f"{key}: '{_clip(mem)}' is not a backing: use {', '.join(s.BACKINGS)}.")
    if pg is not None and pg not in s.HOST_LEAF_SIZES[g]:
        raise LayoutError(f"{key}: '{_clip(pg)}' is not a host leaf size for the {g} granule: use "
                          f"{', '.join(s.HOST_LEAF_SIZES[g])}.")
    size = 0
    if at:
        try:
            size = int(size_text.strip().removeprefix("0x").replace("_", ""), 16)
        except ValueError:
            raise LayoutError(f"{key}: VMA {k}'s size '{_clip(size_text)}' is not hex.") from None
        if size == 0 or size % page:
            raise LayoutError(f"{key}: VMA {k}'s size must be a non-zero multiple of the {page >> 10}K page.")
    return VmaDef(frozenset(flags), mt, mem, None if pg == g else pg, size)


# ---- canonical text -------------------------------------------------------------------------------

def vma_text(v: VmaDef, g: str, sized: bool) -> str:
    fields = [",".join(f for f in s.VMA_FLAGS if f in v.flags), v.mt, v.mem, v.pg or g]
    defaults = (None, "normal", "ram", g)
    while len(fields) > 1 and fields[-1] == defaults[len(fields) - 1]:
        fields.pop()
    return ":".join(fields) + (f"@{v.size:x}" if sized else "")


def canonical_parts(sc: s.Scenario) -> list[str]:
    """The layout keys of the canonical query, in order."""
    parts = []
    if sc.v1:
        parts.append("v1=" + "/".join(vma_text(v, sc.g, True) for v in sc.v1))
    for n, slot in enumerate(sc.slots, 2):
        flags = ",".join(f for f in EXTRA_SLOT_FLAGS if f in slot.flags)
        parts.append(f"s{n}={slot.gpa:x}:{slot.size:x}" + (f":{flags}" if flags else ""))
        if slot.vmas and slot.vmas != (VmaDef(),):
            parts.append(f"v{n}=" + "/".join(vma_text(v, sc.g, i > 0) for i, v in enumerate(slot.vmas)))
    return parts


# ---- what no VMM can lay out ----------------------------------------------------------------------

def check(sc: s.Scenario, check_vma) -> tuple[s.Scenario, list[str]]:
    """A layout's VMAs each checked as schema 1 checks its one VMA (check_vma: the VMA's fields on a
    scenario -> repaired scenario and errors), plus what only a layout can get wrong."""
    errors: list[str] = []
    if "gmem" in sc.slot and sc.v1:
        errors.append("slot=gmem maps one guest_memfd over the whole of slot 1: it takes no v1.")
        sc = replace(sc, v1=())
    v1 = tuple(_checked(sc, "v1", k, v, check_vma, errors) for k, v in enumerate(sc.v1, 2))
    slots = []
    for n, slot in enumerate(sc.slots, 2):
        vmas = tuple(_checked(sc, f"v{n}", k, v, check_vma, errors) for k, v in enumerate(slot.vmas, 1))
        slots.append(replace(slot, vmas=vmas))
    sc = replace(sc, v1=v1, slots=tuple(slots))
    for v in sc.layout.vmas:
        if "hugetlb" in v.flags and "pfnmap" not in v.flags:
            leaf = s.HOST_LEAF_SIZES[sc.g][v.pg or sc.g]
            if v.start % leaf or v.size % leaf:
                errors.append(f"A hugetlbfs VMA starts and ends on its huge pages ({v.pg or sc.g}): VMA {v.index + 1} "
                              f"[{v.start:#x}, {v.end:#x}) does not.")
                sc = _without_hugetlb(sc, v.index)
    return sc, errors


def _checked(sc: s.Scenario, key: str, k: int, v: VmaDef, check_vma, errors: list[str]) -> VmaDef:
    if v.mem == "sg":
        errors.append(f"{key}: mem=sg (a udmabuf) is modelled for slot 1's first VMA only.")
        v = replace(v, mem="ram")
    one = replace(sc, vma=v.flags, mt=v.mt, mem=v.mem, pg=v.pg, slot=frozenset(), remap=False, faults=(), events=(),
                  v1=(), slots=())
    fixed, errs = check_vma(one)
    errors += [f"{key} (VMA {k}): {e}" for e in errs]
    return replace(v, flags=fixed.vma, mt=fixed.mt, mem=fixed.mem, pg=fixed.pg)


def _without_hugetlb(sc: s.Scenario, index: int) -> s.Scenario:
    """The layout with VMA `index`'s VM_HUGETLB dropped (the nearest valid one)."""
    if index == 0:
        return replace(sc, vma=sc.vma - {"hugetlb"})
    n = 1 + len(sc.v1)
    if index < n:
        v1 = list(sc.v1)
        v1[index - 1] = replace(v1[index - 1], flags=v1[index - 1].flags - {"hugetlb"})
        return replace(sc, v1=tuple(v1))
    slots = list(sc.slots)
    for i, slot in enumerate(slots):
        vmas = slot.vmas or (VmaDef(),)
        if index < n + len(vmas):
            vs = list(vmas)
            vs[index - n] = replace(vs[index - n], flags=vs[index - n].flags - {"hugetlb"})
            slots[i] = replace(slot, vmas=tuple(vs))
            break
        n += len(vmas)
    return replace(sc, slots=tuple(slots))


def _clip(text: str, n: int = 40) -> str:
    text = "".join(c if c.isprintable() else "?" for c in text[: n + 1])
    return text if len(text) <= n else text[: n - 1] + "…"
