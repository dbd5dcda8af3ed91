"""The page's form: turn what a browser submits into a contract query, and back.

Browsers submit one key per checkbox and forget unchecked ones, so set-valued keys come with a
hidden empty field and repeat; a preset fills controls; the fault composer appends a fault. None
of these form-only forms reach a permalink: the page answers with a redirect to the canonical URL.
"""
from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qsl, urlencode

from ..permalink import Parsed, canonical_query, clip, parse_query
from ..sim.presets import PRESETS, VM_PRESETS
from ..sim.scenario import EVENT_KINDS, FAULT_KINDS, FAULT_MODS, HOST_LEAF_SIZES, RANGE_EVENTS

SET_KEYS = ("vma", "host", "vm", "slot")
FORM_KEYS = ("preset", "fire", "fire_ipa", "fire_kind", "fire_mod", "fire_instr", "clear", "host_was", "story",
             "event", "event_kind", "event_ipa", "event_size")
# VMAs that arch_calc_vm_flag_bits() marks VM_MTE_ALLOWED on an MTE host: anonymous, shmem/memfd and
# hugetlbfs mappings of RAM; never VM_PFNMAP, VM_MIXEDMAP or VM_IO driver mappings.
NOT_MTE_CAPABLE = frozenset({"pfnmap", "mixedmap", "io"})


def parse_form(pairs: list[tuple[str, str]]) -> Parsed:
    """Parse submitted (key, value) pairs; contract queries pass through unchanged."""
    merged: dict[str, list[str]] = {}
    extra: dict[str, list[str]] = {}
    rest: list[tuple[str, str]] = []
    for k, v in pairs:
        if k in SET_KEYS:
            merged.setdefault(k, []).append(v)
        elif k in FORM_KEYS:
            extra.setdefault(k, []).append(v)
        else:
            rest.append((k, v))
    if len(merged.get("slot", [])) > 1 and "gmem" in merged["slot"]:
        rest = _gmem_mapping(merged, rest)
    if "host_was" in extra and "host" in merged:
        _mte_host_toggled(merged, rest, extra["host_was"][-1])
    query = [(k, ",".join(x for x in vs if x)) for k, vs in merged.items()] + _drop_stale_pg(rest)
    if "clear" in extra:
        query = [(k, v) for k, v in query if k != "f"]
    parsed = parse_query(urlencode(query, safe=",."))
    if parsed.errors:
        return parsed
    sc = parsed.scenario
    preset = (extra.get("preset") or [""])[-1]
    if preset:
        if preset not in PRESETS and preset not in VM_PRESETS:
            return Parsed(sc, parsed.step, [f"Unknown preset '{clip(preset)}': use {', '.join(PRESETS)}, or a "
                                            f"whole VM: {', '.join(VM_PRESETS)}."])
        sc = (PRESETS.get(preset) or VM_PRESETS[preset]).apply(sc)
    for key, compose in (("fire", _composed_fault), ("event", _composed_event)):
        if key in extra:
            item, error = compose(extra)
            if error:
                return Parsed(sc, parsed.step, [error])
            f = dict(parse_qsl(canonical_query(sc))).get("f", "")
            probe = parse_query(urlencode([("f", ",".join(x for x in (f, item) if x))], safe=",.:"))
            if probe.errors:
                return Parsed(sc, parsed.step, [probe.errors[0]])
            sc = replace(sc, faults=probe.scenario.faults, events=probe.scenario.events)
            parsed = replace(parsed, step=None)
    return replace(parsed, scenario=sc)


def _mte_host_toggled(merged: dict, rest: list[tuple[str, str]], was: str) -> None:
    """Ticking MTE for the host gives a RAM VMA of the kind the kernel marks (anonymous, shmem,
    hugetlbfs) VM_MTE_ALLOWED, as a real MTE host does; unticking it takes the flag away again (it
    exists only on MTE hosts). A permalink always says which it is."""
    before, now = "mte" in was.split(","), "mte" in merged["host"]
    vma = merged.setdefault("vma", [])
    mem = next((v for k, v in rest if k == "mem"), "ram")
    if now and not before and mem == "ram" and not NOT_MTE_CAPABLE & set(vma) and "mteok" not in vma:
        vma.append("mteok")
    elif before and not now:
        merged["vma"] = [v for v in vma if v != "mteok"]


def _gmem_mapping(merged: dict, rest: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Ticking the guest_memfd slot in the form maps the guest_memfd itself (MAP_SHARED RAM with a
    normal pgprot), as a VMM does; a permalink that says otherwise is still refused."""
    merged["vma"] = ["shared", "maywrite"]
    return [(k, v) for k, v in rest if k not in ("mem", "mt", "remap")]


def _drop_stale_pg(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A granule change leaves the old host-leaf size in the form: drop it rather than refuse."""
    g = next((v for k, v in pairs if k == "g"), "4k").lower()
    sizes = HOST_LEAF_SIZES.get(g, {})
    return [(k, v) for k, v in pairs if not (k == "pg" and sizes and v.lower() not in sizes)]


def _composed_fault(extra: dict) -> tuple[str, str | None]:
    """The fault the form fires, as its f item: the IPA, the access, the instruction and modifiers."""
    ipa = (extra.get("fire_ipa") or [""])[-1].strip()
    kind = (extra.get("fire_kind") or ["r"])[-1]
    mods = [m for m in extra.get("fire_mod", []) if m] + [m for m in extra.get("fire_instr", [])[-1:] if m]
    if kind not in FAULT_KINDS or any(m not in FAULT_MODS for m in mods):
        return "", "The fault to fire needs a kind of r, w or x and known modifiers."
    text = f"{ipa}{kind}" + "".join("." + m for m in mods)
    probe = parse_query(urlencode([("f", text)], safe=",."))
    return (text, None) if not probe.errors else ("", probe.errors[0])


def _composed_event(extra: dict) -> tuple[str, str | None]:
    """The host event the form adds, as its f item: unmap/replace/age over an IPA range, or a
    memslot change (logon, logoff, delslot) of the slot its IPA falls in."""
    kind = (extra.get("event_kind") or [""])[-1]
    if kind not in EVENT_KINDS:
        return "", f"The host event must be one of {', '.join(EVENT_KINDS)}."
    ipa = (extra.get("event_ipa") or [""])[-1].strip()
    if kind in RANGE_EVENTS:
        size = (extra.get("event_size") or [""])[-1].strip()
        return f"{kind}:{ipa}" + (f":{size}" if size else ""), None
    return (f"{kind}:{ipa}" if ipa else kind), None         # the memslot the IPA falls in (slot 1: bare)
