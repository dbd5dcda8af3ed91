"""What a recording and a trace say, read into the same terms: ESR fields, descriptor attributes,
each access's outcome and each event's stage-2 calls inside a window of IPAs."""
from __future__ import annotations

from .recordings import SLOT_SIZE, TEST_IPA

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


def union(ranges) -> list[tuple[int, int]]:
    """Address ranges merged where they touch or overlap, in order."""
    out: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(a, b) for a, b in out]


def _clip(ranges, window) -> list[str]:
    """Ranges inside the probe's slot (or slots: `window` is one (start, end) or a tuple of them), merged,
    as 'start+size' in hex."""
    windows = window if isinstance(window[0], tuple) else (window,)
    kept = [(max(a, lo), min(b, hi)) for lo, hi in windows for a, b in ranges if a < hi and lo < b]
    return [f"{a:#x}+{b - a:#x}" for a, b in union(kept)]


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


def differences(real: dict, model: dict) -> list[str]:
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
