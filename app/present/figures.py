"""The memslot map and the behaviour maps as Plotly figures. The only plotly import.

Colours are the Okabe-Ito palette, which stays distinguishable with the common colour-vision
deficiencies, and colour is never the only signal: every category also shows as text (a short
mark in each cell, a size and type code on each leaf) and as a discrete legend entry."""
from __future__ import annotations

import json
import math
from bisect import bisect_right

from ..sim.scenario import MEMSLOT_GPA, MEMSLOT_SIZE
from ..sim.trace import Trace
from ..sim.units import size_text
from .behaviour import CATEGORIES, CODES, DIFF_CATEGORIES
from .presenters import MEMTYPE_NAMES

# Okabe-Ito; the text colour on each fill has a contrast ratio of at least 4.5:1.
OKABE_ITO = {"green": "#009E73", "sky": "#56B4E9", "orange": "#E69F00", "vermillion": "#D55E00",
             "purple": "#CC79A7", "blue": "#0072B2", "yellow": "#F0E442", "grey": "#BBBBBB", "pale": "#E8E8E8"}
INK = {"#0072B2": "#ffffff"}        # black text on every other fill
COLOURS = {"normal": OKABE_ITO["green"], "normal_nc": OKABE_ITO["sky"], "device_nGnRE": OKABE_ITO["orange"]}
MEMTYPE_CODES = {"normal": "N", "normal_nc": "NC", "device_nGnRE": "D"}
PATTERNS = {"normal": "", "normal_nc": "/", "device_nGnRE": "x"}
CATEGORY_COLOURS = {"Normal": OKABE_ITO["green"], "Normal-NC": OKABE_ITO["sky"], "Device": OKABE_ITO["orange"],
                    "memslot refused": OKABE_ITO["vermillion"], "KVM_RUN error": OKABE_ITO["purple"],
                    "abort injected": OKABE_ITO["blue"], "other": OKABE_ITO["grey"],
                    "host hazard": OKABE_ITO["yellow"],
                    "same": OKABE_ITO["pale"], "differs": OKABE_ITO["vermillion"]}
OUTCOME_SYMBOL = {"map": "circle", "relax": "circle-open", "no_fault": "diamond-open", "run_error": "x",
                  "inject": "triangle-up", "exit_mmio": "square", "exit_nisv": "square-open", "resume": "star",
                  "not_run": "x-thin"}
FONT = {"size": 13, "color": "#1d2330"}
# Toolbar buttons a figure never shows: nothing to select or zoom, no upload to a third party, and
# no focusable button inside a picture that is aria-hidden (its table twin is what is read).
NO_TOOLBAR = {"remove": ["toImage", "sendChartToCloud", "select2d", "lasso2d", "zoom2d", "pan2d", "zoomIn2d",
                         "zoomOut2d", "autoScale2d", "resetScale2d", "hoverClosestCartesian",
                         "hoverCompareCartesian", "toggleSpikelines"]}


def ink(fill: str) -> str:
    return INK.get(fill, "#000000")


def hex_address(ipa: int) -> str:
    return f"{ipa:#_x}"


def broken_axis(bounds: list[int], page: int) -> tuple[list[float], callable]:
    """Positions for sorted region boundaries on a compressed axis: each region between two
    neighbours is as wide as 1 + log2(its size in pages) / 4, so a 4K page and a 1 GiB gap both
    read; and the position of any address (linear inside its region)."""
    pos = [0.0]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        pos.append(pos[-1] + 1 + math.log2(max(1, (hi - lo) // page)) / 4)

    def at(addr: int) -> float:
        i = min(max(bisect_right(bounds, addr) - 1, 0), len(bounds) - 2)
        lo, hi = bounds[i], bounds[i + 1]
        return pos[i] + (pos[i + 1] - pos[i]) * (addr - lo) / (hi - lo)
    return pos, at


def memslot_map(tr: Trace) -> dict:
    """A Plotly figure (as JSON-able dict): the IPA space around the memslot, leaves by memory type
    and size, and each fault as a marker shaped by its outcome. The IPA axis is broken: every
    region between two boundaries (memslot, leaf, faulting page) gets a readable width, and the
    ticks sit on those boundaries, which are page or block aligned."""
    import plotly.graph_objects as go

    page = 1 << tr.geometry.get("page_shift", 12)
    pages = [f.ipa - f.ipa % page for f in tr.faults]
    slots = [(s.number, s.gpa, s.size) for s in tr.layout.slots] if tr.layout is not None else \
        [(1, MEMSLOT_GPA, MEMSLOT_SIZE)]
    bounds = sorted({*(g for _, g, _ in slots), *(g + n for _, g, n in slots), *(leaf.ipa for leaf in tr.leaves),
                     *(leaf.ipa + leaf.size for leaf in tr.leaves), *pages, *(p + page for p in pages)})
    pos, at = broken_axis(bounds, page)
    fig = go.Figure()
    for number, gpa, size in slots:
        label = "memslot" if len(slots) == 1 else f"memslot {number}"
        fig.add_trace(go.Bar(x=[at(gpa + size) - at(gpa)], base=[at(gpa)],
                             y=["memslot"], orientation="h", marker={"color": OKABE_ITO["pale"], "line": {"width": 0}},
                             name=f"{label} ({size_text(size)} at {hex_address(gpa)})",
                             text=[f"{label} {size_text(size)}"], textposition="inside", insidetextanchor="middle",
                             textfont={"color": "#000000"}, hoverinfo="name"))
    for kind in dict.fromkeys(leaf.memtype for leaf in tr.leaves):
        leaves = [leaf for leaf in tr.leaves if leaf.memtype == kind]
        colour = COLOURS.get(kind, OKABE_ITO["grey"])
        name = MEMTYPE_NAMES.get(kind, kind)
        fig.add_trace(go.Bar(
            x=[at(leaf.ipa + leaf.size) - at(leaf.ipa) for leaf in leaves], base=[at(leaf.ipa) for leaf in leaves],
            y=["stage-2 leaves"] * len(leaves), orientation="h", name=name,
            marker={"color": colour, "line": {"color": "#1d2330", "width": 1},
                    "pattern": {"shape": PATTERNS.get(kind, "."), "fgcolor": "#1d2330", "fgopacity": 0.35}},
            text=[f"{MEMTYPE_CODES.get(kind, '?')}<br>{size_text(leaf.size)}" for leaf in leaves],
            textposition="inside", insidetextanchor="middle", textfont={"color": ink(colour)},
            customdata=[[hex_address(leaf.ipa), size_text(leaf.size), leaf.perm, f"{leaf.pte:#018x}"]
                        for leaf in leaves],
            hovertemplate="%{customdata[0]}: %{customdata[1]} " + name
                          + " %{customdata[2]}<br>%{customdata[3]}<extra></extra>"))
    shown: set[str] = set()
    for i, (f, start) in enumerate(zip(tr.faults, pages, strict=False), 1):
        # Faults on the same page spread across it, so their markers and numbers do not overlap.
        same = [j for j, p in enumerate(pages) if p == start]
        k = same.index(i - 1)
        x = at(start) + (at(start + page) - at(start)) * (k + 1) / (len(same) + 1)
        fig.add_trace(go.Scatter(x=[x], y=["faults"], mode="markers+text", text=[str(i)], cliponaxis=False,
                                 textposition="top center", name=f"fault: {f.outcome.replace('_', ' ')}",
                                 legendgroup=f.outcome, showlegend=f.outcome not in shown,
                                 marker={"symbol": OUTCOME_SYMBOL.get(f.outcome, "circle"), "size": 12,
                                         "color": "#1d2330", "line": {"color": "#1d2330", "width": 2}},
                                 hovertemplate=f"fault {i}: {f.access} at {hex_address(f.ipa)} -> "
                                               f"{f.outcome}<extra></extra>"))
        shown.add(f.outcome)
    fig.update_layout(
        template="none", barmode="overlay", height=340, font=FONT, dragmode=False, modebar=NO_TOOLBAR,
        margin={"l": 110, "r": 20, "t": 40, "b": 20},           # the top margin keeps the toolbar off the data
        uniformtext={"mode": "hide", "minsize": 10},             # a label that does not fit is not drawn
        xaxis={"range": [pos[0] - 0.3, pos[-1] + 0.3], "tickvals": pos, "ticktext": [hex_address(b) for b in bounds],
               "title": {"text": "IPA (not to scale)"}, "autotickangles": [0, 90],
               "showgrid": True, "gridcolor": "#9aa3b0", "zeroline": False, "fixedrange": True, "automargin": True},
        yaxis={"categoryorder": "array", "categoryarray": ["memslot", "stage-2 leaves", "faults"],
               "fixedrange": True, "automargin": True},
        legend={"orientation": "h", "x": 0, "y": 0, "yanchor": "bottom", "yref": "container"})
    return json.loads(fig.to_json())


def behaviour_map(grid: dict, diff: bool = False) -> dict:
    """A map of outcome categories (or same / differs, for a diff), one row per mapping: one
    heatmap trace per category present, each cell marked with its short code, and a discrete legend
    (one entry per category present)."""
    import plotly.graph_objects as go

    rows, columns = grid["rows"], grid["columns"]
    names = [row["title"].replace(" (", "<br>(") for row in rows]     # two short lines, not one long one

    def cat_of(cell):
        return ("differs" if cell["changed"] else "same") if diff else cell["cat"]
    present = [c for c in (DIFF_CATEGORIES if diff else CATEGORIES)
               if any(cat_of(cell) == c for row in rows for cell in row["cells"])]
    codes = {"same": "=", "differs": "\u2260"} if diff else CODES
    fig = go.Figure()
    for cat in present:
        colour = CATEGORY_COLOURS[cat]
        mine = [[cat_of(cell) == cat for cell in row["cells"]] for row in rows]
        fig.add_trace(go.Heatmap(
            z=[[1 if m else None for m in r] for r in mine], x=columns, y=names,
            text=[[cell["mark"].replace(" ", "<br>") if m else "" for cell, m in zip(row["cells"], r, strict=True)]
                  for row, r in zip(rows, mine, strict=True)],
            texttemplate="%{text}", textfont={"color": ink(colour), "size": 11},
            customdata=[[[cell["href"], cell["text"]] if m else None for cell, m in zip(row["cells"], r, strict=True)]
                        for row, r in zip(rows, mine, strict=True)],
            colorscale=[[0, colour], [1, colour]], showscale=False, xgap=2, ygap=2, hoverongaps=False,
            name=cat, legendgroup=cat, showlegend=False,
            hovertemplate="%{y}<br>%{x}: %{customdata[1]}<extra></extra>"))
        # A heatmap has no legend symbol of its own: a marker that draws nothing but the legend entry.
        fig.add_trace(go.Scatter(
            x=[None], y=[None], mode="markers", name=f"{codes[cat]}  {cat}", legendgroup=cat, showlegend=True,
            marker={"symbol": "square", "size": 16, "color": colour, "line": {"color": "#1d2330", "width": 1}},
            hoverinfo="skip"))
    fig.update_layout(
        template="none", height=40 * len(rows) + 170, font=FONT, dragmode=False, modebar=NO_TOOLBAR,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"side": "top", "tickangle": 0, "tickfont": {"size": 12}, "fixedrange": True, "automargin": True,
               "type": "category",
               "tickvals": columns, "ticktext": [c.replace(" / ", "<br>") for c in columns]},
        yaxis={"autorange": "reversed", "fixedrange": True, "automargin": True, "type": "category"},
        legend={"orientation": "h", "x": 0, "y": 0, "yanchor": "bottom", "yref": "container",
                "title": {"text": "same or differs:" if diff else "outcome:"}},
        plot_bgcolor="#ffffff")
    return json.loads(fig.to_json())
