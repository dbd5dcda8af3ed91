"""The player: what page.html, embed.html and present.html draw for one step of a trace, and the
links that step through it. Pure: a trace, a step and where the player lives (the page, /embed or
/present) in; the templates' context out."""
from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qsl

from ..permalink import canonical_query, canonical_url
from ..sim import KERNELS, MODELS, SERIES
from ..sim.presets import PRESETS, VM_PRESETS
from ..sim.scenario import (
    EVENT_KINDS,
    GRANULES,
    GUEST_S1_TYPES,
    HOST_LEAF_SIZES,
    MAX_SLOTS,
    MEMSLOT_GPA,
    MEMSLOT_SIZE,
    Scenario,
)
from ..sim.trace import Trace
from . import stage
from .summary import title


def context(mid: str, sc: Scenario, tr: Trace, steps: list, step: int | None, prefix: str = "", mode: str = "",
            controls: bool = True, own: tuple[tuple[str, str], ...] = ()) -> dict:
    """Everything the player's templates need at `step` (None: where the player opens).

    prefix: "" for the page, "/embed" or "/present"; mode "key": the stepping buttons go from key
    step to key step, as presenter mode does by default; controls False: only the stage's part,
    for a step's fragment; own: the view's own keys, which every step's address keeps (presenter
    mode's mode and theme, the page's lesson)."""
    query = canonical_query(sc)
    total = len(steps)
    links = StepLinks(prefix, mid, query, total, own)
    current = step or opening_step(tr, steps, prefix, mode)
    snap_ctx = stage.context(mid, sc, tr, steps, current, present=prefix == "/present") if steps else {}
    keys = stage.key_steps(tr, steps) if mode == "key" else None
    return {
        "faults_text": ",".join(f_items(sc)),
        "hidden": parse_qsl(query, keep_blank_values=True),
        "model": mid, "model_title": MODELS[mid].title, "sc": sc, "trace": tr, "steps": steps,
        "current": current, "faults": _fault_rows(mid, sc, steps) if controls else [], "title": title(sc),
        "canonical": canonical_url(mid, sc, None if current >= total else current), "plain": canonical_url(mid, sc),
        "query": query, "mode": mode,
        "models": [{"id": m, "title": MODELS[m].title, "href": f"/{m}/" + (f"?{query}" if query else "")}
                   for m in KERNELS],
        # the series' revisions, a group of their own beside the kernels
        "revisions": [{"id": m, "title": MODELS[m].title, "href": f"/{m}/" + (f"?{query}" if query else "")}
                      for m in SERIES if m not in KERNELS],
        "series_href": "/series/" + (f"?{query}" if query else ""),
        "presets": PRESETS.values(), "vm_presets": VM_PRESETS.values(), "layout_fields": layout_fields(sc),
        "slot_ranges": ";".join(f"{s.gpa:#x},{s.end:#x},{s.number}" for s in sc.layout.slots) if sc.has_layout else "",
        "granules": GRANULES, "gs1_types": GUEST_S1_TYPES,
        "leaf_sizes": HOST_LEAF_SIZES[sc.g], "memslot": (MEMSLOT_GPA, MEMSLOT_GPA + MEMSLOT_SIZE),
        "ipa_limit": 1 << sc.ipa,
        # the memslot map's table: only the page shows it, never the embed or presenter mode
        "leaves": stage.leaf_rows(snap_ctx["snap"], tr, sc) if steps and not prefix else [],
        "step_href": links.href, "step_pattern": links.pattern, "step_last": links.href(total), "key": keys,
        "story_href": links.story,
        "nav_prev": _before(keys, current), "nav_next": _after(keys, current, total),
        "clear_href": canonical_url(mid, replace(sc, faults=(), events=())),
        "api_href": canonical_url(mid, sc, prefix="/api/v1"),
        "all_href": canonical_url("all", sc),
        "other": _other(mid),
        "versus_href": canonical_url(f"{_other(mid)}..{mid}" if mid != "v6.14" else "v6.14..v6.17", sc),
        **snap_ctx,
    }


def _other(mid: str) -> str:
    """The model a page offers to compare with: v6.14 (v6.17 for v6.14 itself); for a revision of the
    series, the revision before it (v6.14 for v1)."""
    if mid in SERIES and mid not in KERNELS:
        i = SERIES.index(mid)
        return SERIES[i - 1] if i else "v6.14"
    return "v6.14" if mid != "v6.14" else "v6.17"


def opening_step(tr: Trace, steps: list, prefix: str, mode: str) -> int:
    """The step a player opens on when its address names none: the last; in presenter mode and its
    notes (a talk starts at the beginning) the first step, or by default the first key step."""
    if prefix not in ("/present", "/notes"):
        return len(steps)
    return 1 if mode == "all" else next(iter(stage.key_steps(tr, steps)), 1)


class StepLinks:
    """The address of each step of one scenario under one prefix. The last step is the address
    without `step`, except in presenter mode, whose links always name their step (a talk opens on
    its first key step, not the last); the view's own keys (presenter mode's `mode=all`, the page's
    `lesson`) stay after the permalink's."""

    def __init__(self, prefix: str, mid: str, query: str, total: int, own: tuple[tuple[str, str], ...] = ()):
        self.base = f"{prefix}/{mid}/?" + (query + "&" if query else "")
        self.tail = "".join(f"&{k}={v}" for k, v in own)
        self.total, self.always = total, prefix in ("/present", "/notes")
        # the address of step {n} for the player's script, which fills the number in
        self.pattern = f"{self.base}step={{n}}{self.tail}"
        # the key step: the step this scenario opens on, which the server finds when asked
        # (app/web/request.py answers `story=1` with a redirect to it)
        self.story = f"{self.base}story=1{self.tail}"

    def href(self, n: int) -> str:
        if n >= self.total and not self.always:
            if not self.tail:
                return self.base[:-1]
            return self.base[:-1] + self.tail.replace("&", "?" if self.base.endswith("?") else "&", 1)
        return f"{self.base}step={n}{self.tail}"


def _before(keys: list[int] | None, current: int) -> int:
    if keys is None:
        return max(1, current - 1)
    return max([k for k in keys if k < current] or [1])


def _after(keys: list[int] | None, current: int, total: int) -> int:
    if keys is None:
        return min(total, current + 1)
    return min([k for k in keys if k > current] or [total])


def f_items(sc: Scenario) -> list[str]:
    """The items of the permalink's f, in order: faults and host events."""
    f = dict(parse_qsl(canonical_query(sc))).get("f", "")
    return f.split(",") if f else []


def _fault_rows(mid: str, sc: Scenario, steps: list) -> list[dict]:
    """The list of faults and host events beside the controls: each item, the step it starts on,
    and the permalink without it."""
    texts = f_items(sc)
    first: dict[tuple[str, int], int] = {}
    for sv in steps:
        if sv.fault is not None:
            first.setdefault(("fault", sv.fault), sv.n)
        elif sv.event is not None:
            first.setdefault(("event", sv.event), sv.n)
    order = [("fault", i) for i in range(len(sc.faults))] if not sc.events else None
    rest = canonical_query(replace(sc, faults=(), events=()))
    rows, counts = [], {"fault": 0, "event": 0}
    for i, label in enumerate(texts):
        kind = "event" if ":" in label or label in EVENT_KINDS else "fault"
        index = counts[kind] if order is None else order[i][1]
        counts[kind] += 1
        others = ",".join(texts[:i] + texts[i + 1:])
        query = "&".join(q for q in (rest, f"f={others}" if others else "") if q)
        rows.append({"n": i + 1, "label": label, "kind": kind, "remove": f"/{mid}/" + (f"?{query}" if query else ""),
                     "first_step": first.get((kind, index))})
    return rows


def layout_fields(sc: Scenario) -> list[dict]:
    """The form's fields for a whole VM: slot 1's further VMAs (v1), then each added memslot and its VMAs,
    as the permalink writes them, and one empty memslot to add (while fewer than eight)."""
    values = dict(parse_qsl(canonical_query(replace(sc, faults=(), events=())), keep_blank_values=True))
    out = [{"key": "v1", "value": values.get("v1", ""), "label": "slot 1: VMAs after the first (v1)"}]
    n = len(sc.slots) + 2
    for k in range(2, min(n, MAX_SLOTS) + 1):
        out.append({"key": f"s{k}", "value": values.get(f"s{k}", ""), "label": f"memslot {k} (s{k})"})
        out.append({"key": f"v{k}", "value": values.get(f"v{k}", ""), "label": f"its VMAs (v{k})"})
    return out
