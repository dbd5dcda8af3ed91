"""The step diagram: the translation path and the stage-2 table as boxes to draw in SVG, with
the same facts as text. Pure: a timeline snapshot in, coordinates and words out."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..sim.scenario import Scenario
from ..sim.steps import PATH
from .timeline import PATH_LABEL, Snapshot
from .values import know_text

BOX_W, BOX_H, GAP = 150, 52, 22
VALUE_CHARS = 19             # a value line that fits a box (12 px monospace); longer values wrap, never cut
LINE_H = 15
ROW_H, TABLE_W, COL_GAP, HEAD_H = 22, 184, 40, 24
MAX_ROWS = 7                 # entries drawn per table; the rest are counted


@dataclass(frozen=True)
class Node:
    key: str
    label: str
    value: str
    x: int
    y: int
    lit: bool
    known: bool
    changed: bool
    lines: tuple[str, ...] = ()      # the value as the box draws it: whole, wrapped after | , space or +


def wrap(text: str, width: int = VALUE_CHARS) -> tuple[str, ...]:
    """text in lines of at most width characters, broken only after |, ",", a space or +; a piece
    longer than a line keeps a line of its own (a value is never cut)."""
    lines, cur = [], ""
    for piece in re.split(r"(?<=[|, +])", text):
        if cur and len(cur) + len(piece.rstrip()) > width:
            lines.append(cur.rstrip())
            cur = piece.lstrip()
        else:
            cur += piece
    lines.append(cur.rstrip())
    return tuple(line for line in lines if line) or ("",)


def path(snap: Snapshot, sc: Scenario, columns: int) -> dict:
    """The path guest VA -> IPA -> memslot -> HVA -> VMA -> PFN -> PA -> stage-2 descriptor, laid
    out `columns` boxes a row, with the part the current step works on lit."""
    values = {k: know_text(k, v) for k, v in snap.know.items()}
    values.setdefault("va", "stage 1: " + ("MMU off" if sc.gs1 == "off" else sc.gs1.upper()))
    if "pte" in snap.desc:
        values["s2"] = f"{snap.desc['pte']:#018x}"
    elif snap.desc:
        values["s2"] = f"{len([k for k in snap.desc if k in FIELDS])}/{len(FIELDS)} fields known"
    lines = {key: wrap(values.get(key, "?")) for key in PATH}
    box_h = BOX_H + LINE_H * (max(len(v) for v in lines.values()) - 1)
    nodes = []
    for i, key in enumerate(PATH):
        row, col = divmod(i, columns)
        if row % 2:                       # snake: every other row runs right to left
            col = columns - 1 - col
        known = key in values
        nodes.append(Node(key, PATH_LABEL[key], values.get(key, "?"), col * (BOX_W + GAP), row * (box_h + GAP),
                          snap.on == key, known, ("know", key) in snap.changed or (key == "s2" and any(
                              c[0] == "desc" for c in snap.changed)), lines[key]))
    edges = [_edge(a, b, box_h) for a, b in zip(nodes, nodes[1:], strict=False)]
    rows = (len(PATH) + columns - 1) // columns
    return {"nodes": nodes, "edges": edges, "width": columns * (BOX_W + GAP) - GAP,
            "height": rows * (box_h + GAP) - GAP, "box_w": BOX_W, "box_h": box_h, "line_h": LINE_H}


def _edge(a: Node, b: Node, box_h: int) -> dict:
    """An arrow from box a to its neighbour b: across within a row, down between rows."""
    lit = a.lit or b.lit
    if a.y == b.y:
        y = a.y + box_h // 2
        if a.x < b.x:
            return {"x1": a.x + BOX_W, "y1": y, "x2": b.x, "y2": y, "lit": lit}
        return {"x1": a.x, "y1": y, "x2": b.x + BOX_W, "y2": y, "lit": lit}
    x = a.x + BOX_W // 2
    return {"x1": x, "y1": a.y + box_h, "x2": x, "y2": b.y, "lit": lit}


FIELDS = ("OA", "MemAttr", "S2AP", "XN", "SH", "AF", "Type", "Valid")

STATE_WORDS = {"table": "table", "leaf": "leaf", "invalid": "invalid", "relaxed": "leaf, relaxed",
               "young": "leaf, AF set", "aged": "leaf, AF clear"}


def tree(snap: Snapshot, geo, layout=None) -> dict:
    """The stage-2 table as a tree: one column per level, one box per table, one row per entry.
    Entries on the current walk and those the step changed come first. One stage-2 table serves the
    whole VM: with several memslots, each entry says which memslot its IPA range serves, and a level
    shows up to one table per memslot."""
    slots = layout.slots if layout is not None and len(layout.slots) > 1 else ()
    levels = list(range(geo.start_level, 4))
    walk = {(w["level"], w["index"]) for w in snap.walk}
    walk_tables = _walk_tables(snap, geo)
    columns = []
    height = 0
    for ci, level in enumerate(levels):
        x = ci * (TABLE_W + COL_GAP)
        y = 0
        boxes = []
        tables = sorted(((base, entries) for (lvl, base), entries in snap.tables.items() if lvl == level),
                        key=lambda t: (t[0] not in walk_tables.get(level, ()), t[0]))
        shown_tables = tables[:max(3, len(slots))]
        for base, entries in shown_tables:
            order = sorted(entries.items(), key=lambda kv: (
                not ((level, kv[0]) in walk and base in walk_tables.get(level, ())),
                ("table", level, kv[0]) not in snap.changed, -kv[1].since, kv[0]))
            rows = []
            for idx, e in order[:MAX_ROWS]:
                start = (0 if level == geo.start_level else base) + (idx << geo.shift(level))
                rows.append({"index": idx, "state": e.state,
                             "words": STATE_WORDS.get(e.state, e.state) + _slots_of(slots, start,
                                                                                     geo.granule_size(level)),
                             "pte": f"{e.pte:#018x}" if e.pte else "", "changed": ("table", level, idx) in snap.changed,
                             "on_walk": (level, idx) in walk and base in walk_tables.get(level, ())})
            stop = _walk_stop(snap, level) if base in walk_tables.get(level, ()) else None
            if stop is not None and stop not in entries:
                rows.insert(0, {"index": stop, "state": "empty", "words": "invalid", "pte": "",
                                "changed": ("walk", level) in snap.changed, "on_walk": True})
            more = len(entries) - min(len(entries), MAX_ROWS)
            h = HEAD_H + max(1, len(rows)) * ROW_H + (ROW_H if more else 0)
            boxes.append({"x": x, "y": y, "h": h, "base": base, "rows": rows, "more": more,
                          "title": f"L{level} " + (f"table {base:#x}" if level != geo.start_level else
                                                   f"root ({geo.concatenated_tables} page"
                                                   + ("s" if geo.concatenated_tables > 1 else "") + ")"),
                          "bits": geo.index_bits(level), "on_walk": base in walk_tables.get(level, ())})
            y += h + 14
        hidden = len(tables) - len(shown_tables)
        columns.append({"level": level, "x": x, "boxes": boxes, "hidden": hidden})
        height = max(height, y + (ROW_H if hidden else 0))
    links = []
    for ci, col in enumerate(columns[:-1]):
        for box in col["boxes"]:
            for ri, row in enumerate(box["rows"]):
                if row["state"] != "table":
                    continue
                child_base = box["base"] + (row["index"] << geo.shift(col["level"])) if col["level"] != \
                    geo.start_level else row["index"] << geo.shift(col["level"])
                for child in columns[ci + 1]["boxes"]:
                    if child["base"] == child_base:
                        links.append({"x1": col["x"] + TABLE_W, "y1": box["y"] + HEAD_H + ri * ROW_H + ROW_H // 2,
                                      "x2": columns[ci + 1]["x"], "y2": child["y"] + HEAD_H // 2,
                                      "on_walk": row["on_walk"]})
    return {"columns": columns, "links": links, "width": len(levels) * (TABLE_W + COL_GAP) - COL_GAP,
            "height": max(height, HEAD_H + ROW_H), "table_w": TABLE_W, "row_h": ROW_H, "head_h": HEAD_H}


def _walk_tables(snap: Snapshot, geo) -> dict:
    """Per level, the base of the table the current walk passes through."""
    if not snap.walk:
        return {}
    ipa = snap.know.get("ipa", 0)
    out = {geo.start_level: {0}}
    for level in range(geo.start_level + 1, 4):
        out[level] = {ipa & ~(geo.granule_size(level - 1) - 1)}
    return out


def _walk_stop(snap: Snapshot, level: int) -> int | None:
    for w in snap.walk:
        if w["level"] == level and w["found"] == "invalid":
            return w["index"]
    return None


def _slots_of(slots, start: int, size: int) -> str:
    """The memslots an entry's IPA range [start, start + size) serves, as words for its row."""
    hit = [s.number for s in slots if s.gpa < start + size and start < s.end]
    if not hit:
        return ""
    return f" (slot {hit[0]})" if len(hit) == 1 else " (slots " + ", ".join(map(str, hit)) + ")"
