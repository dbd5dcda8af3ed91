"""The golden files, and the command that blesses them (`make bless`).

Three kinds, all plain text, one fact per line, so that a change shows as a readable diff:
- tests/sim/golden/<scenario>.txt: the presets of kernel-behaviour.md §2 on the six kernels, decision
  level: per fault the outcome, errno, leaf, maintenance and guest type, and per step its id, its
  decided values and what it changed in the picture (tests/decisions.py). No sentences: a reworded
  step changes none of them.
- tests/corpus/decisions.txt: every permalink known to exist outside this repository (the README's,
  the tests', every preset on the six kernels, the lessons'), with the decisions it answers. A link
  once listed stays listed: its decisions may change only by an intended, blessed change.
- tests/text/<name>.txt: a few whole mail texts (/text/...), sentences included.

`python -m tests.goldens` rewrites them from the current code and prints the unified diff of what
it accepted; run it only for an intended change, read the diff, and say what changed in the commit.
"""
from __future__ import annotations

import difflib
import re
import sys
from pathlib import Path

from app.permalink import canonical_url, parse_query
from app.present.text import render
from app.sim import KERNELS, simulate
from app.sim.presets import PRESETS, VM_PRESETS
from app.sim.scenario import Scenario
from tests import decisions

HERE = Path(__file__).parent
ROOT = HERE.parent
GOLDEN = HERE / "sim" / "golden"
CORPUS = HERE / "corpus" / "decisions.txt"
TEXTS = HERE / "text"

FAULTS = "f=40000000r,40000000w,40001000x,40200000w.ptw,90000000r"
EXTRA = {
    "nvgrace-usemem-fwb-only": ("nvgrace-usemem", "host=fwb"),
    "nvgrace-usemem-no-fwb": ("nvgrace-usemem", "host="),
    "nvgrace-usemem-remapped": ("nvgrace-usemem", "host=fwb&remap=1"),
    "anon-dirty-log": ("anon", "slot=log"),
    # Host events between faults (an extra with its own f= replaces FAULTS).
    "anon-events": ("anon", "f=40000000r,40201000w,logon,40000000w,unmap:40001000,40000000r,age:40200000:200000,"
                            "40200000r,delslot,40200000r"),
    "memfd-events-no-fwb-ha": ("memfd", "host=dic,ha&f=40000000r,40000000x,age:40000000,40000000r,"
                                        "replace:40000000,40000000r,logoff,logon,40000000w"),
    "vfio-bar-unmapped-half": ("vfio-bar", "f=unmap:40100000:100000,40000000r,40100000r,replace:40100000:100000,"
                                           "40100000r,logon"),
    "gmem-events": ("gmem", "f=40000000r,unmap:40000000,40000000r,logon,delslot,40000000r"),
}
SCENARIOS = {p: (p, "") for p in PRESETS} | EXTRA
# Whole VMs (issue 16): each VM preset on every model, with the preset's own tour of accesses.
VM_GOLDENS = {f"vm-{p}": p for p in VM_PRESETS}

# Whole mail texts: name -> (model or "a..b", query).
TEXT_SNAPSHOTS = {
    "events-dirty-log-v6.17": ("v6.17", "pg=2m&f=40000000w,logon,40000000w,unmap:40000000,40000000r,delslot"),
    "events-age-v7.3": ("v7.3", "f=40000000r,age:40000000,40000000r"),
    "events-pfnmap-past-vma-v6.14": ("v6.14", "vma=pfnmap,io,shared,maywrite,uc&mt=ngnrne&mem=dev&pg=2m"
                                              "&f=unmap:40000000:200000,replace:40000000:100000,40000000r,40100000r"),
    "grace-hopper-v6.14": ("v6.14", "vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r,40001000w,40002000x"),
    "grace-hopper-v3-no-dic": ("patch-v3", "vma=pfnmap,io,shared,maywrite&mem=dev&host=fwb&f=40000000x"),
    "udmabuf-v6.17": ("v6.17", "vma=pfnmap,shared,maywrite&mem=sg&pg=2m&f=40000000r,40001000r"),
    "gmem-refused-v6.17": ("v6.17", "vma=shared,maywrite&slot=gmem&f=40000000r"),
    "v3-vs-v6.17": ("patch-v3..v6.17", "vma=pfnmap,io,shared,maywrite&mem=dev&host=fwb&f=40000000r"),
    # Whole VMs: the Grace Hopper VM on v6.14, and the slot over three VMAs refused on v6.17.
    "grace-vm-v6.14": ("v6.14", "pg=2m&s2=0:4000000:ro&s3=10000000:1000000&v3=pfnmap,io,shared,maywrite,uc:ngnrne:dev"
                                "&s4=8000000000:17c0000000&v4=pfnmap,io,shared,maywrite:normal:dev:1g&s5=a000000000:40000000"
                                "&v5=pfnmap,io,shared,maywrite,uc:nc:dev:1g"
                                "&f=40000000w,0x,10000000r,8000000000r.ua,a000000000w,9000000r,9800000000r"),
    "split-slot-v6.17": ("v6.17", "host=fwb&pg=2m&s2=80000000:400000"
                                  "&v2=maywrite/pfnmap,io,shared,maywrite:normal:dev:2m@100000/maywrite@100000"
                                  "&f=40000000r,80000000w,80200000r"),
    "split-slot-v6.14": ("v6.14", "host=fwb&pg=2m&s2=80000000:400000"
                                  "&v2=maywrite/pfnmap,io,shared,maywrite:normal:dev:2m@100000/maywrite@100000"
                                  "&f=40000000r,80000000w,80200000r,80300000r"),
    "grace-hopper-v4-flag": ("patch-v4", "vma=pfnmap,io,shared,maywrite&mem=dev&slot=cacheable&f=40000000r,40001000x"),
    "series-grace-hopper-no-dic": ("series", "vma=pfnmap,io,shared,maywrite&mem=dev&host=fwb&f=40000000r,40001000x"),
}

LINK = re.compile(r"/(?:v6\.12|v6\.14|patch-v(?:[1-9]|10)|block-pfnmap|v6\.17|v7\.1|v7\.3)/\?[A-Za-z0-9=&,._:@/-]*")


def golden_text(name: str) -> str:
    if name in VM_GOLDENS:
        sc = VM_PRESETS[VM_GOLDENS[name]].apply(Scenario())
        return "".join(f"## {canonical_url(mid, sc)}\n" + decisions.steps(simulate(mid, sc)) + "\n" for mid in KERNELS)
    preset, extra = SCENARIOS[name]
    own_faults = extra.startswith("f=") or "&f=" in extra
    base = parse_query("&".join(x for x in (extra, None if own_faults else FAULTS) if x))
    assert base.ok, base.errors
    sc = PRESETS[preset].apply(base.scenario)
    return "".join(f"## {canonical_url(mid, sc)}\n" + decisions.steps(simulate(mid, sc)) + "\n" for mid in KERNELS)


def answer(link: str) -> str:
    """What a permalink decides, as the corpus records it."""
    mid, query = link.split("/")[1], link.split("?", 1)[1] if "?" in link else ""
    parsed = parse_query(query)
    assert parsed.ok, (link, parsed.errors)
    return decisions.decisions(simulate(mid, parsed.scenario))


def corpus_text(links) -> str:
    return "".join(f"# {link}\n{answer(link)}\n" for link in sorted(links))


def read_corpus() -> dict[str, str]:
    """The corpus file as {link: decisions}."""
    out, link, lines = {}, None, []
    for line in CORPUS.read_text().splitlines():
        if line.startswith("# /"):
            if link:
                out[link] = "\n".join(lines).strip("\n") + "\n"
            link, lines = line[2:], []
        else:
            lines.append(line)
    if link:
        out[link] = "\n".join(lines).strip("\n") + "\n"
    return out


def collected_links() -> list[str]:
    """Every permalink written in the README and the tests, plus every preset on the six kernels and
    every lesson's links."""
    from app.teach import lessons
    links = set()
    for path in [ROOT / "README.md", *sorted((ROOT / "tests").rglob("*.py"))]:
        for m in LINK.findall(path.read_text()):
            parsed = parse_query(m.split("?", 1)[1])
            if parsed.ok:
                links.add(canonical_url(m.split("/")[1], parsed.scenario))
    for link in lessons.links():
        parsed = parse_query(link.split("?", 1)[1])
        links.add(canonical_url(link.split("/")[1], parsed.scenario))
    base = parse_query("f=40000000r,40000000w,40001000x,80000000r").scenario
    for preset in PRESETS.values():
        for mid in KERNELS:
            links.add(canonical_url(mid, preset.apply(base)))
    for vm in VM_PRESETS.values():
        for mid in KERNELS:
            links.add(canonical_url(mid, vm.apply(Scenario())))
    return sorted(links)


def mail_text(name: str) -> str:
    models, query = TEXT_SNAPSHOTS[name]
    sc = parse_query(query).scenario
    if models == "series":
        from app.present import series
        from app.sim import SERIES
        rows = series.rows(sc, {mid: simulate(mid, sc) for mid in SERIES})
        return series.as_text(sc, rows, "a snapshot", "/series/?" + query)
    if ".." in models:
        from app.present.compare import as_text
        a, b = models.split("..")
        return as_text(simulate(a, sc), simulate(b, sc), "a snapshot", canonical_url(models, sc))
    return render(simulate(models, sc), "a snapshot", canonical_url(models, sc))


def diff(old: str, new: str, name: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"{name} (stored)",
                                        f"{name} (now)", n=2))


def bless() -> int:
    changed = 0
    targets = [(GOLDEN / f"{n}.txt", golden_text(n)) for n in sorted(SCENARIOS) + sorted(VM_GOLDENS)]
    targets += [(TEXTS / f"{n}.txt", mail_text(n)) for n in sorted(TEXT_SNAPSHOTS)]
    old_links = set(read_corpus()) if CORPUS.exists() else set()
    targets.append((CORPUS, corpus_text(old_links | set(collected_links()))))
    for path, new in targets:
        old = path.read_text() if path.exists() else ""
        if old != new:
            changed += 1
            sys.stdout.write(diff(old, new, str(path.relative_to(ROOT))))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(new)
    print(f"{changed} golden file(s) rewritten" if changed else "the golden files already agree")
    return 0


if __name__ == "__main__":
    sys.exit(bless())
