"""Ground truth: what Debian's real arm64 kernels did with each scenario under QEMU, next to what the
model of that kernel says.

The fixtures (tests/conformance/linux-<version>-<cpu>.json) are written by `make conformance`
(conformance/harness.py). Each recorded case names the permalink that expresses it; running that
permalink through the simulator must give what the real kernel did: the memslot's answer, each
access's outcome (errno, exit, injected abort) and, where a leaf was written, its memory type,
permissions, level and the size mapped. Disagreements the project knows of are listed in KNOWN,
each with a one-line reason and the kernel source line that explains it.
"""
from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path

from .permalink import canonical_url, parse_query
from .sim import KERNELS, MODELS, simulate

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "conformance"

# Models no Debian kernel can be booted for: they rest on reading the source alone.
SOURCE_READ_ONLY = {
    "v6.14": "mainline v6.14 is not in Debian's archive for arm64 (trixie ships 6.12, backports 6.16 and later)",
    "patch-v3": "a patch that was never merged: no kernel package carries it",
    # the other revisions of the series (app/sim/series.py): mail, never a package
    **{mid: "a revision posted to the mailing lists, never packaged: no kernel package carries it"
       for mid in ("patch-v1", "patch-v2", "patch-v4", "patch-v5", "patch-v7", "patch-v8", "patch-v9", "patch-v10")},
    "block-pfnmap": "mainline between two commits of one merge, never released: no kernel package carries it",
}

# (kernel version, case id, access number or None for the memslot/capability): (reason, source line).
KNOWN: dict[tuple[str, str, int | None], tuple[str, str]] = {}


@cache
def fixtures() -> tuple[dict, ...]:
    if not FIXTURES.is_dir():
        return ()
    out = []
    for path in sorted(FIXTURES.glob("linux-*.json")):
        data = json.loads(path.read_text())
        data["file"] = path.name
        out.append(data)
    return tuple(out)


def real_ops(case: dict) -> list[dict]:
    """What the real kernel did, per access, in the fields the model is compared on."""
    out = []
    for op in case.get("ops", ()):
        r = {"outcome": op["outcome"], "errno": op.get("errno"), "inject": op.get("inject")}
        if op.get("s2") and op["outcome"] in ("map", "relax"):
            s2 = op["s2"]
            size = op["map_call"]["size"] if op["outcome"] == "map" and op.get("map_call") else s2["size"]
            r["s2"] = {"memtype": s2["memtype"], "perm": s2["perm"], "level": s2["level"], "size": size}
        out.append(r)
    return out


def model_ops(trace) -> list[dict]:
    out = []
    for f in trace.faults:
        r = {"outcome": f.outcome, "errno": f.errno, "inject": f.inject}
        if f.s2 is not None and f.outcome in ("map", "relax"):
            r["s2"] = {"memtype": f.s2.memtype, "perm": f.s2.perm, "level": f.s2.level, "size": f.s2.size}
        out.append(r)
    return out


def _diff(real: dict, model: dict) -> list[str]:
    out = []
    for key in ("outcome", "errno", "inject"):
        if real.get(key) != model.get(key):
            out.append(f"{key}: real {real.get(key)}, model {model.get(key)}")
    if real.get("s2") and model.get("s2"):
        for key in ("memtype", "perm", "level", "size"):
            if real["s2"][key] != model["s2"][key]:
                out.append(f"{key}: real {real['s2'][key]}, model {model['s2'][key]}")
    return out


# Backings whose host stage 1 is made of PAGE_SIZE PTEs (remap_pfn_range() of /dev/mem and of a sysfs
# PCI resource), however the VMA is aligned.
PAGE_LEAF_BACKINGS = frozenset({"devmem", "devmemp", "remapdev", "bar", "barwc"})


def scenario_for(mid: str, case: dict, sc):
    """A case's scenario as `mid` reads it. The recorded query's `pg` is the VMA's alignment, which is
    what the models that size VM_PFNMAP from the VMA read; a model with the stage-1 leaf fix reads
    `pg` as the host's stage-1 leaf, which for these backings is a page."""
    if not MODELS[mid].sizes_pfnmap_from_vma and case.get("backing") in PAGE_LEAF_BACKINGS:
        return replace(sc, pg=None)
    return sc


def compare_case(fx: dict, case: dict) -> dict:
    """One recorded case against its model: everything the page and the test need."""
    mid = fx.get("model")
    kver = fx["kernel"]["version"]
    row = {"id": case["id"], "title": case["title"], "kernel": kver, "cpu": fx["cpu"], "model": mid,
           "real": {"memslot": case.get("memslot"), "cap_vm": case.get("cap_vm"), "ops": real_ops(case)}}
    for key in ("skipped", "error", "no_permalink"):
        if case.get(key):
            row["status"], row["why"] = "not_compared", case[key]
            return row
    parsed = parse_query(case["query"])
    if not parsed.ok:
        row["status"], row["why"] = "bad_permalink", "; ".join(parsed.errors)
        return row
    row["faults"] = [op["fault"] for op in case["ops"]]
    if mid not in MODELS:
        row["permalink"] = canonical_url(mid or "?", parsed.scenario)
        row["status"], row["why"] = "no_model", f"no model {mid} yet" if mid else "no model claims this kernel"
        return row
    sc = scenario_for(mid, case, parsed.scenario)
    row["permalink"] = canonical_url(mid, sc)
    tr = simulate(mid, sc, trace=False)
    row["modelled"] = {"memslot": tr.memslot.result, "cap_vm": tr.cap_cacheable_pfnmap, "ops": model_ops(tr)}
    diffs: list[tuple[int | None, str]] = []
    if row["real"]["memslot"] != tr.memslot.result:
        diffs.append((None, f"memslot: real {row['real']['memslot']}, model {tr.memslot.result}"))
    if isinstance(case.get("cap_vm"), int) and case["cap_vm"] != tr.cap_cacheable_pfnmap:
        diffs.append((None, f"capability 243 on the VM fd: real {case['cap_vm']}, model {tr.cap_cacheable_pfnmap}"))
    for i, (r, m) in enumerate(zip(row["real"]["ops"], row["modelled"]["ops"], strict=True)):
        diffs += [(i + 1, d) for d in _diff(r, m)]
    row["diffs"] = [{"access": i, "what": d} for i, d in diffs]
    known = [KNOWN[(kver, case["id"], i)] for i, _ in diffs if (kver, case["id"], i) in KNOWN]
    if not diffs:
        row["status"] = "same"
    elif len(known) == len(diffs):
        row["status"], row["known"] = "known", [{"reason": r, "source": s} for r, s in known]
    else:
        row["status"] = "differs"
    return row


@cache
def report() -> dict:
    """Every recorded case compared, grouped per model, with the counts the page shows."""
    rows = [compare_case(fx, c) for fx in fixtures() for c in fx["cases"]]
    runs = [{"file": fx["file"], "kernel": fx["kernel"], "model": fx.get("model"), "qemu": fx["qemu"],
             "cpu": fx["cpu"], "host": fx["host"], "date": fx["date"], "seconds": fx.get("seconds"),
             "cases": len(fx["cases"]),
             "cap_dev": next((c["cap_dev"] for c in fx["cases"] if "cap_dev" in c), None)} for fx in fixtures()]
    models = []
    for mid in KERNELS:
        mine = [r for r in rows if r["model"] == mid]
        counts = {s: sum(r["status"] == s for r in mine) for s in ("same", "known", "differs", "not_compared")}
        models.append({"model": mid, "kernels": sorted({r["kernel"] for r in mine}),
                       "source_read_only": SOURCE_READ_ONLY.get(mid) if not mine else None,
                       "compared": counts["same"] + counts["known"] + counts["differs"], **counts})
    waiting = sorted({(fx["kernel"]["version"], fx.get("model") or "") for fx in fixtures()
                      if fx.get("model") not in MODELS})
    return {"schema": 1, "runs": runs, "models": models,
            "no_model_yet": [{"kernel": k, "model": m or None} for k, m in waiting], "cases": rows}


@cache
def _by_permalink() -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in report()["cases"]:
        if r.get("permalink") and r["status"] in ("same", "known", "differs"):
            out.setdefault(r["permalink"], []).append(r)
    return out


def checked(model: str, canonical: str) -> dict | None:
    """For a trace page: was this exact scenario run on the real kernel of `model`?
    `canonical` is the page's canonical URL (/<model>/?<query>, any step dropped)."""
    base = canonical.split("&step=")[0].split("?step=")[0]
    rows = [r for r in _by_permalink().get(base, ()) if r["model"] == model]
    if not rows:
        return None
    # Several runs can record the same scenario (VHE and nVHE); a difference in any of them shows.
    r = next((r for r in rows if r["status"] == "differs"), next((r for r in rows if r["status"] == "known"), rows[0]))
    fx = next(f for f in fixtures() if f["kernel"]["version"] == r["kernel"] and f["cpu"] == r["cpu"])
    return {"kernel": r["kernel"], "package": fx["kernel"]["package"], "qemu": fx["qemu"]["version"],
            "cpu": r["cpu"], "date": fx["date"], "same": r["status"] == "same", "status": r["status"],
            "href": f"/conformance/#{anchor(r)}",
            "text": f"checked against Linux {r['kernel']} under QEMU {fx['qemu']['version']} ({r['cpu']}): "
                    + {"same": "same result", "known": "a known difference",
                       "differs": "DIFFERENT result"}[r["status"]]}


def anchor(row: dict) -> str:
    return f"{row['kernel']}-{row['cpu']}-{row['id']}"


def verdict(side: dict | None) -> str:
    """'reg=ok | map normal RWX 4K | exit_mmio': one side of a comparison, the way the tests print it."""
    if not side:
        return ""
    parts = [f"reg={side['memslot']}"]
    for op in side["ops"]:
        if op.get("s2"):
            s2 = op["s2"]
            size = {4096: "4K", 2 << 20: "2M", 1 << 30: "1G"}.get(s2["size"], str(s2["size"]))
            parts.append(f"{op['outcome']} {s2['memtype']} {s2['perm']} {size} L{s2['level']}")
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
        rows = [r for r in rep["cases"] if r["kernel"] == run["kernel"]["version"] and r["cpu"] == run["cpu"]]
        variant = ", ".join(k.upper() for k in ("fwb", "dic", "mte") if run["host"][k]) or "no FWB, no DIC"
        runs.append({**run, "rows": rows, "variant": variant + (", nVHE" if run["host"].get("nvhe") else "")})
    return render_template("conformance.html", rep=rep, runs=runs, verdict=verdict, anchor=anchor)


@bp.get("/conformance.json")
def as_json():
    return jsonify(report())
