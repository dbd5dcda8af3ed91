"""Slide-ready pictures: the step's translation path or stage-2 table as a standalone SVG file, in
a light theme for projectors and print (the page's own SVG, with its styles inlined)."""
from __future__ import annotations

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
