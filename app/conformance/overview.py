"""Every recorded case compared, per model and per run, and the line a trace page shows."""
from __future__ import annotations

from functools import cache

from ..sim import KERNELS, MODELS
from .compare import STATUSES, add_tally, compare_case, tally
from .recordings import QEMU_LIMITS, SOURCE_READ_ONLY, bug_runs, campaigns, fixtures, run_id, split_slot_rows


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
