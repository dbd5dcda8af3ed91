"""The figures as data: discrete categories with distinct colour-blind-safe colours and a text mark
in every cell, a legend entry per category present, a two-way diff, and a memslot map whose
leaves and ticks stay readable. Only SVG trace types, which render under the page's CSP."""
import pytest

from app.permalink import parse_url
from app.present import behaviour, figures
from app.sim import MODELS, simulate

SVG_TYPES = {"heatmap", "scatter", "bar"}


def contrast(a: str, b: str) -> float:
    def lum(h):
        c = [int(h.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def legend(fig):
    return [t["name"] for t in fig["data"] if t.get("showlegend")]


def heatmaps(fig):
    return [t for t in fig["data"] if t["type"] == "heatmap"]


def cell_categories(grid, diff=False):
    return [[("differs" if c["changed"] else "same") if diff else c["cat"] for c in row["cells"]]
            for row in grid["rows"]]


@pytest.mark.parametrize("mid", list(MODELS))
def test_behaviour_map_has_one_trace_colour_and_legend_entry_per_category_present(mid):
    grid = behaviour.grid(mid)
    fig = figures.behaviour_map(grid)
    cats = cell_categories(grid)
    present = [c for c in behaviour.CATEGORIES if any(c in row for row in cats)]
    assert len(present) >= 3
    hms = heatmaps(fig)
    assert [t["name"] for t in hms] == present
    assert legend(fig) == [f"{behaviour.CODES[c]}  {c}" for c in present]
    colours = [t["colorscale"][0][1] for t in hms]
    assert len(set(colours)) == len(colours) and all(t["colorscale"][-1][1] == t["colorscale"][0][1] for t in hms)
    assert set(colours) <= set(figures.OKABE_ITO.values())
    assert {t["type"] for t in fig["data"]} <= SVG_TYPES
    assert not any(t.get("showscale", True) for t in hms)          # no continuous colour bar
    for t in hms:
        assert t["texttemplate"] == "%{text}"
        assert contrast(t["textfont"]["color"], t["colorscale"][0][1]) >= 4.5
        for i, row in enumerate(cats):
            for j, cat in enumerate(row):
                mine = cat == t["name"]
                assert (t["z"][i][j] is not None) == mine
                assert bool(t["text"][i][j]) == mine               # every cell of the category carries its mark


def test_every_cell_of_the_map_is_covered_by_exactly_one_category_with_its_mark():
    grid = behaviour.grid("v6.17")
    fig = figures.behaviour_map(grid)
    for i, row in enumerate(grid["rows"]):
        for j, cell in enumerate(row["cells"]):
            covering = [t for t in heatmaps(fig) if t["z"][i][j] is not None]
            assert len(covering) == 1
            assert covering[0]["text"][i][j].replace("<br>", " ") == cell["mark"]
            assert covering[0]["customdata"][i][j] == [cell["href"], cell["text"]]
    marks = {c["cat"]: c["mark"] for row in grid["rows"] for c in row["cells"]}
    assert marks["Normal"] == "N" and marks["Device"] == "D" and marks["memslot refused"] == "reg -EINVAL"


def test_diff_map_has_exactly_two_categories_same_and_differs():
    grid = behaviour.diff(behaviour.grid("v6.14"), behaviour.grid("v6.17"))
    fig = figures.behaviour_map(grid, diff=True)
    hms = heatmaps(fig)
    assert [t["name"] for t in hms] == ["same", "differs"]
    assert legend(fig) == ["=  same", "\u2260  differs"]
    assert hms[0]["colorscale"][0][1] != hms[1]["colorscale"][0][1]
    cats = cell_categories(grid, diff=True)
    for t in hms:
        for i, row in enumerate(cats):
            for j, cat in enumerate(row):
                assert (t["z"][i][j] is not None) == (cat == t["name"])
    marks = {c["mark"] for row in grid["rows"] for c in row["cells"] if c["changed"]}
    # Grace Hopper memory: Device on v6.14 while the host maps it cacheable (a stale-data hazard), Normal on v6.17
    assert "\u26a0\u2192N" in marks and "=" not in marks


def test_a_diff_with_nothing_in_common_or_nothing_changed_shows_only_what_is_there():
    grid = behaviour.diff(behaviour.grid("v6.17"), behaviour.grid("v6.17"))
    fig = figures.behaviour_map(grid, diff=True)
    assert [t["name"] for t in heatmaps(fig)] == ["same"] and legend(fig) == ["=  same"]


def trace(url):
    mid, parsed = parse_url(url)
    return simulate(mid, parsed.scenario)


def test_memslot_map_gives_a_4k_leaf_a_readable_width_and_page_aligned_ticks():
    tr = trace("/v6.17/?f=40000000r,40003000w,80000000r")
    fig = figures.memslot_map(tr)
    axis = fig["layout"]["xaxis"]
    span = axis["range"][1] - axis["range"][0]
    leaves = [t for t in fig["data"] if t["type"] == "bar" and t["name"] == "Normal"]
    widths = [w for t in leaves for w in t["x"]]
    assert len(widths) == 2 and all(w / span >= 0.05 for w in widths)       # a linear axis would give 4K/1G
    assert [t.replace("<br>", " ") for t in leaves[0]["text"]] == ["N 4K", "N 4K"]
    ticks = [int(t.replace("_", ""), 16) for t in axis["ticktext"]]
    assert ticks == sorted(set(ticks)) and all(t % 0x1000 == 0 for t in ticks)
    assert {0x4000_0000, 0x4000_1000, 0x4000_3000, 0x4000_4000, 0x8000_0000, 0x8000_1000} <= set(ticks)
    vals = axis["tickvals"]
    assert all(b - a >= 1 for a, b in zip(vals, vals[1:], strict=False))    # labels a region apart at least
    assert fig["layout"]["margin"]["t"] >= 30                                # room for the toolbar above the data
    assert {t["type"] for t in fig["data"]} <= SVG_TYPES


def test_memslot_map_places_leaves_and_faults_where_they_are():
    tr = trace("/v6.17/?pg=2m&f=40000000r,40201000w")
    fig = figures.memslot_map(tr)
    axis = fig["layout"]["xaxis"]
    at = dict(zip((int(t.replace("_", ""), 16) for t in axis["ticktext"]), axis["tickvals"], strict=True))
    bars = next(t for t in fig["data"] if t["name"] == "Normal")
    assert bars["base"] == [at[0x4000_0000], at[0x4020_0000]]
    assert [b + w for b, w in zip(bars["base"], bars["x"], strict=True)] == pytest.approx([at[0x4020_0000],
                                                                                            at[0x4040_0000]])
    faults = [t for t in fig["data"] if t["type"] == "scatter"]
    assert [t["text"] for t in faults] == [["1"], ["2"]]
    assert at[0x4020_1000] < faults[1]["x"][0] < at[0x4020_2000]             # inside its page
    assert [t["showlegend"] for t in faults] == [True, False]                # one legend entry per outcome


def test_no_figure_has_a_toolbar_button_to_upload_select_or_focus():
    figs = [figures.behaviour_map(behaviour.grid("v6.17")), figures.memslot_map(trace("/v6.17/?f=40000000r"))]
    for fig in figs:
        assert {"sendChartToCloud", "toImage", "select2d", "lasso2d"} <= set(fig["layout"]["modebar"]["remove"])
        assert fig["layout"]["dragmode"] is False
