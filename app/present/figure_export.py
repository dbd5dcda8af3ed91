"""Slide-ready pictures: the step's translation path or stage-2 table (the page's own SVG, with its
styles inlined), and its leaf descriptor or memory types (drawn here), as standalone SVG files in a
light theme for projectors and print. No value is ever cut: long ones wrap."""
from __future__ import annotations

from markupsafe import escape

from .diagram import wrap

FG, MUTED, ACCENT, LINE = "#1d2330", "#5b6575", "#2457a6", "#8a94a6"

LIGHT = f"""
svg {{ background: #fff; }}
text {{ font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; fill: {FG}; }}
.path-svg .node rect {{ fill: #f4f6fa; stroke: {LINE}; stroke-width: 1.2; }}
.path-svg .node .label {{ font-size: 13px; font-weight: 700; text-anchor: middle;
  font-family: "DejaVu Sans", sans-serif; }}
.path-svg .node .value {{ font-size: 12px; text-anchor: middle; }}
.path-svg .node.unknown .value {{ fill: {MUTED}; }}
.path-svg .node.unknown rect {{ stroke-dasharray: 4 3; fill: #fff; }}
.path-svg .node.lit rect {{ fill: #dbe8fb; stroke: {ACCENT}; stroke-width: 3; }}
.path-svg .edge {{ stroke: {LINE}; stroke-width: 1.5; }}
.path-svg .edge.lit {{ stroke: {ACCENT}; stroke-width: 2.5; }}
.path-svg .arrowhead {{ fill: {MUTED}; }}
.tree-svg .level-head {{ font-size: 12px; text-anchor: middle; fill: {MUTED}; font-family: "DejaVu Sans", sans-serif; }}
.tree-svg .frame {{ fill: #fff; stroke: {LINE}; }}
.tree-svg .table.on-walk .frame {{ stroke: {ACCENT}; stroke-width: 2; }}
.tree-svg .table-head {{ font-size: 11.5px; font-weight: 700; }}
.tree-svg .entry rect {{ fill: transparent; stroke: #e3e7ee; }}
.tree-svg .entry text, .tree-svg .empty, .tree-svg .more {{ font-size: 11.5px; }}
.tree-svg .entry.s-table rect {{ fill: #eef2f8; }}
.tree-svg .entry.s-leaf rect, .tree-svg .entry.s-relaxed rect, .tree-svg .entry.s-young rect {{ fill: #e3f3e7; }}
.tree-svg .entry.s-aged rect {{ fill: #fbf0d9; }}
.tree-svg .entry.s-invalid rect, .tree-svg .entry.s-empty rect {{ fill: #fbeceb; stroke-dasharray: 3 2; }}
.tree-svg .entry.on-walk text {{ font-weight: 700; }}
.tree-svg .entry.changed rect {{ stroke: {ACCENT}; stroke-width: 2.5; }}
.tree-svg .link {{ fill: none; stroke: {LINE}; stroke-width: 1.3; }}
.tree-svg .link.on-walk {{ stroke: {ACCENT}; stroke-width: 2.2; }}
.tree-svg .more, .tree-svg .empty {{ fill: {MUTED}; }}
.panel-svg .heading {{ font-size: 15px; font-weight: 700; font-family: "DejaVu Sans", sans-serif; }}
.panel-svg .cell rect {{ fill: #f4f6fa; stroke: {LINE}; }}
.panel-svg .cell.unknown rect {{ fill: #fff; stroke-dasharray: 4 3; }}
.panel-svg .cell .name {{ font-size: 12px; font-weight: 700; text-anchor: middle; }}
.panel-svg .cell .value {{ font-size: 13px; text-anchor: middle; }}
.panel-svg .cell.unknown .value {{ fill: {MUTED}; }}
.panel-svg .label {{ font-size: 13px; fill: {MUTED}; font-family: "DejaVu Sans", sans-serif; }}
.panel-svg .value-text {{ font-size: 13px; font-family: "DejaVu Sans", sans-serif; }}
"""

# An SVG file opened on its own may style itself and nothing else.
CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


def standalone(svg: str, width: int) -> str:
    """The page's inline <svg> as a file: namespaced, a fixed width for slides, the light theme inside."""
    svg = svg.strip()
    if not svg.startswith("<svg "):
        raise ValueError("not an inline svg element")
    head, sep, rest = svg.partition(">")
    head = head.replace("<svg ", f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" ', 1)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{head}{sep}\n<style>{LIGHT}</style>{rest}\n'


CHAR_W, LINE_H, PAD = 7.8, 18, 10        # 13 px monospace; a text line; the margin


def _text(x: float, y: float, cls: str, text: str) -> str:
    return f'<text x="{x:g}" y="{y:g}" class="{cls}">{escape(text)}</text>'


def descriptor_svg(desc: dict, per_row: int = 4) -> tuple[str, int]:
    """The leaf descriptor as the page shows it: its title, then one cell per field (reserved bits
    left out), its name over its value, all cells as wide as the widest; then prot and size."""
    fields = [fd for fd in desc["fields"] if fd["name"] != "-"]
    cell = max([8] + [max(len(fd["name"]), len(str(fd["shown"]))) for fd in fields]) * CHAR_W + 2 * PAD
    title = desc["title"] + (f": {desc['pte']}" if desc.get("pte") else "")
    out = [_text(PAD, 20, "heading", title)]
    y = 34
    for i, fd in enumerate(fields):
        row, col = divmod(i, per_row)
        x, top = PAD + col * (cell + 6), y + row * 50
        cls = "cell" + ("" if fd.get("known", True) else " unknown")
        out.append(f'<g class="{cls}"><rect x="{x:g}" y="{top}" width="{cell:g}" height="44" rx="4"/>'
                   + _text(x + cell / 2, top + 18, "name", fd["name"])
                   + _text(x + cell / 2, top + 36, "value", str(fd["shown"])) + "</g>")
    y += ((len(fields) + per_row - 1) // per_row) * 50 + 14
    extra = []
    if desc.get("prot"):
        extra.append(f"prot = {desc['prot']}" + (f"; mapping size {desc['size']}" if desc.get("size") else ""))
    for line in extra:
        out.append(_text(PAD, y, "value-text", line))
        y += LINE_H
    width = max(PAD * 2 + per_row * (cell + 6), len(title) * 8.5 + 2 * PAD)
    return _svg("Leaf descriptor", out, width, y + PAD), int(width)


def memtype_svg(mt: dict, cmo_lines: list[str], width_chars: int = 64) -> tuple[str, int]:
    """The memory types known at the step (host stage 1, stage 2, the guest's stage 1, what the
    guest gets) and the cache maintenance requested so far, each value whole, wrapped."""
    rows = [("Host VMA (stage 1)", mt.get("host") or "not looked at yet"),
            (f"Stage 2 ({'FWB' if mt.get('fwb') else 'no FWB'})", mt.get("s2") or "not decided yet"),
            ("", mt.get("meaning") or ""), ("", mt.get("other") or ""),
            ("Guest stage 1", mt.get("guest") or "-"),
            ("The guest gets", (mt.get("effective") or "not known yet")
             + (" (forced by FWB, whatever the guest's stage 1 says)" if mt.get("forced") else ""))]
    label_w = 20 * CHAR_W
    out, y = [_text(PAD, 20, "heading", "Memory type")], 42
    for label, value in rows:
        if not value:
            continue
        if label:
            out.append(_text(PAD, y, "label", label))
        for line in wrap(value, width_chars):
            out.append(_text(PAD + label_w, y, "value-text", line))
            y += LINE_H
        y += 4
    out.append(_text(PAD, y + 10, "heading", "Cache maintenance"))
    y += 32
    for item in cmo_lines or ["None requested so far in this fault."]:
        for j, line in enumerate(wrap(item, width_chars + 20)):
            out.append(_text(PAD + 14, y, "value-text", ("• " if j == 0 else "  ") + line))
            y += LINE_H
    width = PAD * 2 + label_w + (width_chars + 2) * CHAR_W
    return _svg("Memory type", out, width, y + PAD), int(width)


def _svg(title: str, body: list[str], width: float, height: float) -> str:
    return (f'<svg class="panel-svg" viewBox="0 0 {width:g} {height:g}" role="img" aria-label="{escape(title)}">'
            f'<title>{escape(title)}</title>' + "".join(body) + "</svg>")
