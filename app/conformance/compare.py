"""One recorded case against its model, and the counts of many."""
from __future__ import annotations

from dataclasses import replace

from ..permalink import canonical_url, parse_query
from ..sim import MODELS, simulate
from .known import CASE_RULES, KNOWN, KNOWN_RULES, LEAF_SIZED_BASES, PAGE_LEAF_BACKINGS, cut_block_on_a_leaf_sized_base
from .readings import differences, model_ops, real_ops
from .recordings import HA_UNKNOWN, SLOT_SIZE, TEST_IPA, VMM_HUNG, kernel_label, run_id


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
        diffs += [(i + 1, d) for d in differences(r, m)]
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
