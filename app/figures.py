"""The memslot map: which leaves the faults installed, where the faults landed. The only plotly import."""
from __future__ import annotations

import json

from .presenters import MEMTYPE_NAMES
from .sim.scenario import MEMSLOT_GPA, MEMSLOT_SIZE
from .sim.trace import Trace
from .sim.units import size_text

COLOURS = {"normal": "#2b7a3d", "normal_nc": "#c08a1e", "device_nGnRE": "#b03a2e"}
OUTCOME_SYMBOL = {"map": "circle", "relax": "circle-open", "no_fault": "diamond-open", "run_error": "x",
                  "inject": "triangle-up", "exit_mmio": "square", "exit_nisv": "square-open", "resume": "star",
                  "not_run": "x-thin"}


def memslot_map(tr: Trace) -> dict:
    """A Plotly figure (as JSON-able dict): the IPA space around the memslot, leaves by memory type
    and size, and each fault as a marker shaped by its outcome."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(go.Bar(x=[MEMSLOT_SIZE], base=[MEMSLOT_GPA], y=["memslot"], orientation="h",
                         marker={"color": "#d9e2ec"}, name="memslot (1 GiB at 0x40000000)",
                         hovertemplate="memslot %{base:#x} + 1G<extra></extra>"))
    for kind, colour in COLOURS.items():
        leaves = [leaf for leaf in tr.leaves if leaf.memtype == kind]
        if leaves:
            # A marker where each leaf starts (a 4K page is too thin to see at this scale) and a bar
            # for its extent, which shows for blocks.
            fig.add_trace(go.Scatter(
                x=[leaf.ipa for leaf in leaves], y=["stage-2 leaves"] * len(leaves), mode="markers",
                marker={"color": colour, "symbol": "square", "size": 11},
                error_x={"type": "data", "symmetric": False, "array": [leaf.size for leaf in leaves],
                         "arrayminus": [0] * len(leaves), "color": colour, "thickness": 8, "width": 0},
                name=MEMTYPE_NAMES[kind],
                customdata=[[size_text(leaf.size), leaf.perm, f"{leaf.pte:#018x}"] for leaf in leaves],
                hovertemplate="%{x:#x}: %{customdata[0]} " + MEMTYPE_NAMES[kind]
                              + " %{customdata[1]}<br>%{customdata[2]}<extra></extra>"))
    for i, f in enumerate(tr.faults, 1):
        fig.add_trace(go.Scatter(x=[f.ipa], y=["faults"], mode="markers+text", text=[str(i)],
                                 textposition="top center", name=f"fault {i}: {f.access} -> {f.outcome}",
                                 marker={"symbol": OUTCOME_SYMBOL.get(f.outcome, "circle"), "size": 12},
                                 showlegend=False,
                                 hovertemplate=f"fault {i}: {f.access} at %{{x:#x}} -> {f.outcome}<extra></extra>"))
    lo = min([MEMSLOT_GPA] + [f.ipa for f in tr.faults])
    hi = max([MEMSLOT_GPA + MEMSLOT_SIZE] + [f.ipa + 0x1000 for f in tr.faults])
    pad = (hi - lo) // 20
    fig.update_layout(template="none", barmode="overlay", height=260, margin={"l": 110, "r": 20, "t": 10, "b": 40},
                      xaxis={"range": [max(0, lo - pad), hi + pad], "tickformat": "#x", "title": "IPA"},
                      yaxis={"categoryorder": "array", "categoryarray": ["faults", "stage-2 leaves", "memslot"]},
                      legend={"orientation": "h", "y": -0.35}, font={"size": 12})
    return json.loads(fig.to_json())


def behaviour_map(grid: dict, diff: bool = False) -> dict:
    """A heatmap of outcome categories (or changed / unchanged, for a diff), one row per mapping."""
    import plotly.graph_objects as go

    from .behaviour import CATEGORIES
    z = [[c["z"] for c in row["cells"]] for row in grid["rows"]]
    text = [[c["text"] for c in row["cells"]] for row in grid["rows"]]
    links = [[c["href"] for c in row["cells"]] for row in grid["rows"]]
    if diff:
        scale = [[0, "#e8ecf2"], [1, "#c0392b"]]
        zmax, ticks = 1, {"tickvals": [0, 1], "ticktext": ["same", "changed"]}
    else:
        palette = ["#2b7a3d", "#c08a1e", "#b03a2e", "#6c3483", "#1f3a93", "#5d6d7e", "#aab7b8"]
        n = len(CATEGORIES)
        scale = [[i / n + e, colour] for i, colour in enumerate(palette) for e in (0, 1 / n - 1e-9)]
        zmax, ticks = n - 1, {"tickvals": [i * (n - 1) / n + (n - 1) / (2 * n) for i in range(n)],
                              "ticktext": list(CATEGORIES)}
    fig = go.Figure(go.Heatmap(
        z=z, x=grid["columns"], y=[row["title"] for row in grid["rows"]], text=text, customdata=links,
        zmin=0, zmax=zmax, colorscale=scale, xgap=2, ygap=2, colorbar={**ticks, "thickness": 14},
        hovertemplate="%{y}<br>%{x}: %{text}<extra></extra>"))
    fig.update_layout(template="none", height=520, margin={"l": 300, "r": 20, "t": 10, "b": 90},
                      xaxis={"tickangle": -40}, yaxis={"autorange": "reversed"}, font={"size": 12})
    return json.loads(fig.to_json())
