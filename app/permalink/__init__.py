"""Permalinks, schema 1: parse a query into a Scenario and write the canonical URL back.

Parsing is lenient where the contract says so (0x prefixes, underscores in hex, upper case,
any key order, repeated commas); anything else is an error with one sentence of explanation.
Every error also leaves a repaired scenario behind, the nearest valid one, for the 400 page.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, urlsplit

from ..sim import LATEST, MODELS
from ..sim import scenario as s
from . import layout
from .checks import check_combinations

SCHEMA1_KEYS = ("vma", "mt", "mem", "host", "vm", "slot", "g", "ipa", "pg", "gs1", "remap", "f", "step")
KEYS = SCHEMA1_KEYS + layout.KEYS
DEFAULT = s.Scenario()
MAX_QUERY = 4096


class ScenarioError(ValueError):
    """A scenario that cannot be understood; str() is one sentence for the user."""


@dataclass
class Parsed:
    scenario: s.Scenario
    step: int | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


_FAULT_RE = re.compile(r"^(?:0x)?([0-9a-f_]+)([rwx])((?:\.[a-z]+)*)$")
_EVENT_RE = re.compile(r"^([a-z]+)(?::(?:0x)?([0-9a-f_]*))?(?::(?:0x)?([0-9a-f_]*))?$")


class _Repaired(ScenarioError):
    """An error in part of a field: the field keeps the rest (`value`), the nearest valid scenario."""

    def __init__(self, message: str, value):
        super().__init__(message)
        self.value = value


def parse_query(query: str) -> Parsed:
    """Parse a query string (without '?'); never raises."""
    values: dict[str, str] = {}
    errors: list[str] = []
    if len(query) > MAX_QUERY:
        return Parsed(DEFAULT, None, [f"The query is longer than {MAX_QUERY} characters."])
    for key, value in parse_qsl(query, keep_blank_values=True):
        key = key.strip().lower()
        if key not in KEYS:
            if re.fullmatch(r"[sv]\d+", key):
                errors.append(f"Unknown key '{_clip(key)}': a VM has at most {s.MAX_SLOTS} memslots, s2 to "
                              f"s{s.MAX_SLOTS} (and v1 to v{s.MAX_SLOTS} their VMAs).")
            else:
                errors.append(f"Unknown key '{_clip(key)}': the keys are {', '.join(SCHEMA1_KEYS)}, and for a whole "
                              f"VM v1 and s2..s{s.MAX_SLOTS} with v2..v{s.MAX_SLOTS}.")
            continue
        if key in values:
            errors.append(f"The key '{key}' is given twice.")
            continue
        values[key] = value.strip()
    fields: dict = {}
    for key, parse in _FIELD_PARSERS.items():
        if key == "f":
            fields["v1"], fields["slots"] = layout.parse(values, fields.get("g", DEFAULT.g), errors)
        if key in values:
            try:
                fields[key] = parse(values[key], fields)
            except _Repaired as e:
                errors.append(str(e))
                fields[key] = e.value
            except ScenarioError as e:
                errors.append(str(e))
    if "f" in fields:
        fields["faults"], fields["events"] = fields.pop("f")
    sc = replace(DEFAULT, **fields)
    sc, combo_errors = check_combinations(sc)
    errors += combo_errors
    step = None
    if "step" in values:
        try:
            step = int(values["step"])
            if step < 1:
                raise ValueError
        except ValueError:
            errors.append(f"step must be a whole number from 1 up, not '{_clip(values['step'])}'.")
    return Parsed(sc, step, errors)


def parse_url(url: str) -> tuple[str, Parsed]:
    """Parse a permalink ('https://host/v6.17/?...' or '/v6.17/?...'); returns (model, parsed).
    Raises ScenarioError for an unknown model."""
    parts = urlsplit(url.strip())
    segs = [p for p in parts.path.split("/") if p]
    if segs[:2] == ["api", "v1"]:
        segs = segs[2:]
    if len(segs) != 1:
        raise ScenarioError(f"'{_clip(parts.path)}' is not a permalink path: expected /<model>/?<query>.")
    mid = resolve_model(segs[0])
    return mid, parse_query(parts.query)


def resolve_model(name: str) -> str:
    name = name.strip()
    if name == "latest":
        return LATEST
    if name not in MODELS:
        raise ScenarioError(f"Unknown model '{_clip(name)}': the models are {', '.join(MODELS)}.")
    return name


def canonical_query(sc: s.Scenario, step: int | None = None) -> str:
    parts = []
    if sc.vma != DEFAULT.vma:
        parts.append("vma=" + ",".join(v for v in s.VMA_FLAGS if v in sc.vma))
    for key, default in (("mt", DEFAULT.mt), ("mem", DEFAULT.mem)):
        if getattr(sc, key) != default:
            parts.append(f"{key}={getattr(sc, key)}")
    for key, order in (("host", s.HOST_FEATURES), ("vm", s.VM_OPTIONS), ("slot", s.SLOT_FLAGS)):
        if getattr(sc, key) != getattr(DEFAULT, key):
            parts.append(f"{key}=" + ",".join(v for v in order if v in getattr(sc, key)))
    if sc.g != DEFAULT.g:
        parts.append(f"g={sc.g}")
    if sc.ipa != DEFAULT.ipa:
        parts.append(f"ipa={sc.ipa}")
    if sc.pg is not None and sc.pg != sc.g:
        parts.append(f"pg={sc.pg}")
    if sc.gs1 != DEFAULT.gs1:
        parts.append(f"gs1={sc.gs1}")
    if sc.remap:
        parts.append("remap=1")
    parts += layout.canonical_parts(sc)
    if sc.faults or sc.events:
        parts.append("f=" + ",".join(fault_text(x) if kind == "fault" else event_text(x, sc)
                                     for kind, x in sc.items()))
    if step is not None:
        parts.append(f"step={step}")
    return "&".join(parts)


def canonical_url(mid: str, sc: s.Scenario, step: int | None = None, prefix: str = "") -> str:
    q = canonical_query(sc, step)
    return f"{prefix}/{mid}/" + (f"?{q}" if q else "")


def fault_text(f: s.Fault) -> str:
    return f"{f.ipa:x}{f.kind}" + "".join("." + m for m in s.FAULT_MODS if m in f.mods)


def event_text(ev: s.Event, sc: s.Scenario) -> str:
    """An event as f writes it: kind, then for a range its IPA and, unless one page, its size (hex); a
    memslot change names its slot by the slot's base IPA, slot 1 (schema 1's) by nothing."""
    if not ev.ranged:
        return ev.kind if ev.slot == 0 else f"{ev.kind}:{sc.layout.slots[ev.slot].gpa:x}"
    return f"{ev.kind}:{ev.ipa:x}" + (f":{ev.size:x}" if ev.size != sc.page_size else "")


# ---- field parsers ------------------------------------------------------------------------------

def _set(key: str, vocab: tuple[str, ...], meaning: str):
    def parse(value: str, _fields) -> frozenset[str]:
        items = [v for v in value.lower().split(",") if v.strip()]
        out = set()
        for item in items:
            item = item.strip()
            if item not in vocab:
                raise ScenarioError(f"'{_clip(item)}' is not a {meaning} for {key}: use {', '.join(vocab)}.")
            out.add(item)
        return frozenset(out)
    return parse


def _one(key: str, vocab: tuple[str, ...], meaning: str):
    def parse(value: str, _fields) -> str:
        v = value.lower()
        if v not in vocab:
            raise ScenarioError(f"'{_clip(value)}' is not a {meaning} for {key}: use {', '.join(vocab)}.")
        return v
    return parse


def _ipa_bits(value: str, _fields) -> int:
    try:
        bits = int(value)
    except ValueError:
        raise ScenarioError(f"ipa must be a number of bits from {s.IPA_BITS_MIN} to {s.IPA_BITS_MAX}, "
                            f"not '{_clip(value)}'.") from None
    if not s.IPA_BITS_MIN <= bits <= s.IPA_BITS_MAX:
        raise ScenarioError(f"ipa must be from {s.IPA_BITS_MIN} to {s.IPA_BITS_MAX} bits, not {_clip(str(bits))}.")
    return bits


def _pg(value: str, fields) -> str:
    g = fields.get("g", DEFAULT.g)
    v = value.lower()
    allowed = tuple(s.HOST_LEAF_SIZES[g])
    if v not in allowed:
        raise ScenarioError(f"pg '{_clip(value)}' is not a host leaf size for the {g} granule: "
                            f"use {', '.join(allowed)}.")
    return v


def _remap(value: str, _fields) -> bool:
    if value not in ("0", "1"):
        raise ScenarioError(f"remap must be 0 or 1, not '{_clip(value)}'.")
    return value == "1"


def _faults(value: str, fields) -> tuple[tuple[s.Fault, ...], tuple[s.Event, ...]]:
    """f: faults and host events in order. A bad fault drops f; a bad event only itself."""
    items = [v.strip() for v in value.lower().split(",") if v.strip()]
    if len(items) > s.MAX_FAULTS:
        raise ScenarioError(f"At most {s.MAX_FAULTS} faults and events in f, not {len(items)}.")
    g = fields.get("g", DEFAULT.g)
    sc = replace(DEFAULT, g=g, v1=fields.get("v1", ()), slots=fields.get("slots", ()))
    faults: list[s.Fault] = []
    events: list[s.Event] = []
    first_error = None
    for item in items:
        if ":" not in item and item not in s.EVENT_KINDS:      # a hex IPA may be all letters: a fault
            faults.append(_fault(item))
            continue
        try:
            events.append(_event(item, sc, len(faults), events))
        except ScenarioError as e:
            first_error = first_error or str(e)
    if first_error:
        raise _Repaired(first_error, (tuple(faults), tuple(events)))
    return tuple(faults), tuple(events)


def _event(text: str, sc: s.Scenario, after: int, before: list) -> s.Event:
    """An event of f. `sc` holds the granule and the layout the event's addresses are read against."""
    page = sc.page_size
    m = _EVENT_RE.match(text)
    if not m:
        raise ScenarioError(f"Event '{_clip(text)}' is not <event>[:<hex IPA>[:<hex size>]], e.g. unmap:40000000.")
    kind, ipa_text, size_text = m.group(1), m.group(2), m.group(3)
    if kind not in s.EVENT_KINDS:
        raise ScenarioError(f"'{_clip(text)}' is neither a fault (<hex IPA><r|w|x>) nor an event: the events are "
                            f"{', '.join(s.EVENT_KINDS)}.")
    if kind not in s.RANGE_EVENTS:
        slot = 0
        if ipa_text is not None:
            where = sc.layout.slot_at(int(ipa_text.replace("_", ""), 16)) if ipa_text.strip("_") and \
                size_text is None else None
            if where is None:
                raise ScenarioError(f"Event '{_clip(text)}': {kind} names its memslot by an IPA inside it, or by "
                                    f"nothing for slot 1 (e.g. {kind} or {kind}:{s.MEMSLOT_GPA:x}); no memslot covers "
                                    "that address.")
            slot = where.index
        deleted = any(e.kind == "delslot" and e.slot == slot for e in before)
        if kind in ("logon", "logoff") and deleted:
            raise ScenarioError(f"Event '{_clip(text)}': after delslot there is no memslot whose flags could "
                                "change (the ioctl would create a new slot).")
        return s.Event(kind, after=after, slot=slot)
    if not ipa_text or not ipa_text.strip("_") or (size_text is not None and not size_text.strip("_")):
        raise ScenarioError(f"Event '{_clip(text)}' is not {kind}:<hex IPA>[:<hex size>], e.g. {kind}:40000000.")
    ipa = int(ipa_text.replace("_", ""), 16)
    size = int(size_text.replace("_", ""), 16) if size_text is not None else page
    if ipa % page or size % page or size == 0:
        raise ScenarioError(f"Event '{_clip(text)}': the IPA must be aligned to the {page >> 10}K page and the "
                            "size a non-zero multiple of it.")
    if not sc.has_layout:
        if not (s.in_memslot(ipa) and ipa + size <= s.MEMSLOT_GPA + s.MEMSLOT_SIZE):
            raise ScenarioError(f"Event '{_clip(text)}': the range must lie inside the memslot, IPA "
                                f"{s.MEMSLOT_GPA:#x} to {s.MEMSLOT_GPA + s.MEMSLOT_SIZE:#x}.")
    elif sc.layout.slot_of_range(ipa, ipa + size) is None:
        raise ScenarioError(f"Event '{_clip(text)}': the range must lie inside one memslot (its HVAs are that slot's "
                            "userspace range).")
    return s.Event(kind, ipa, size, after)


def _fault(text: str) -> s.Fault:
    m = _FAULT_RE.match(text)
    if not m or not m.group(1).strip("_"):
        raise ScenarioError(f"Fault '{_clip(text)}' is not <hex IPA><r|w|x>[.mod], e.g. 40000000w or 40000000r.ua.")
    ipa = int(m.group(1).replace("_", ""), 16)
    if ipa >= s.FAULT_IPA_MAX:
        raise ScenarioError(f"Fault IPA {_clip(hex(ipa))} does not fit the 56 bits HPFAR_EL2 can report.")
    mods = [x for x in m.group(3).split(".") if x]
    for mod in mods:
        if mod not in s.FAULT_MODS:
            raise ScenarioError(f"'{_clip(mod)}' in fault '{_clip(text)}' is not a fault modifier: "
                                f"use {', '.join(s.FAULT_MODS)}.")
    f = s.Fault(ipa, m.group(2), frozenset(mods))
    clash = _mod_clash(f)
    if clash:
        raise ScenarioError(f"Fault '{_clip(text)}': {clash}.")
    return f


def _mod_clash(f: s.Fault) -> str | None:
    instr = [m for m in s.INSTRUCTION_MODS if m in f.mods]
    if f.kind == "x" and ({"noisv", "cm", "atomic", "ua"} | set(s.INSTRUCTION_MODS)) & f.mods:
        return "an instruction fetch cannot carry noisv, cm, atomic, ua, pair, zva, excl or lse"
    if "ptw" in f.mods and ({"cm", "atomic", "noisv", "ua"} | set(s.INSTRUCTION_MODS)) & f.mods:
        return ("a stage-1 walk fault is the walk's own access, not the instruction's: it cannot also be "
                "cm, atomic, noisv, ua or an instruction")
    if "cm" in f.mods and ({"atomic", "noisv", "ua"} | set(s.INSTRUCTION_MODS)) & f.mods:
        return "a cache-maintenance fault is neither atomic, unaligned, another instruction, nor has an ISV to drop"
    if len(instr) > 1:
        return f"{' and '.join(instr)} are different instructions: give one"
    if "zva" in f.mods and f.kind != "w":
        return "DC ZVA writes its block: use w (e.g. 40000000w.zva)"
    if "zva" in f.mods and "ua" in f.mods:
        return "DC ZVA zeroes a whole block: it has no unaligned form"
    if "atomic" in f.mods and {"pair", "zva", "ua"} & f.mods:
        return "FSC 0x35 (atomic) is raised by an exclusive or atomic access, not by pair, zva or ua"
    return None


_FIELD_PARSERS = {
    "vma": _set("vma", s.VMA_FLAGS, "VMA flag"),
    "mt": _one("mt", s.MEM_TYPES, "memory type"),
    "mem": _one("mem", s.BACKINGS, "backing"),
    "host": _set("host", s.HOST_FEATURES, "host feature"),
    "vm": _set("vm", s.VM_OPTIONS, "VM option"),
    "slot": _set("slot", s.SLOT_FLAGS, "memslot flag"),
    "g": _one("g", s.GRANULES, "granule"),
    "ipa": _ipa_bits,
    "pg": _pg,
    "gs1": _one("gs1", s.GUEST_S1_TYPES, "guest stage-1 type"),
    "remap": _remap,
    "f": _faults,
}


def clip(text: str, n: int = 40) -> str:
    """text as it may be echoed in a message: printable characters only, at most n of them."""
    text = "".join(c if c.isprintable() else "?" for c in text[: n + 1])
    return text if len(text) <= n else text[: n - 1] + "…"


_clip = clip
