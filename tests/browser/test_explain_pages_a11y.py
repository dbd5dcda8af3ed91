"""The explain pages (compare, every model, the series, behaviour maps, lessons, the 400 page) in headless
Chromium: no axe-core violation on a desktop or a phone, nothing wider than a 390 px phone, and
maps that read without colour."""
import json

import pytest
from playwright.sync_api import expect

from .axe import assert_no_violations, install
from .conftest import Page

NVG = "vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r"
PAGES = {
    "compare": f"/v6.14..v6.17/?{NVG}",
    "all": f"/all/?{NVG}",
    "map": "/map/v6.17/",
    "map-diff": "/map/v6.14..v6.17/",
    "lessons": "/lessons/",
    "lesson": "/lessons/grace-hopper/",
    "series": f"/series/?{NVG.replace('&f=', '&host=fwb&f=')},40001000x",
    "series-lesson": "/lessons/series/",
    "error-400": f"/v6.17/?{NVG.replace('&f=', '&mt=cached&f=')}",
}
DESKTOP, PHONE = {"width": 1400, "height": 1000}, {"width": 390, "height": 844}


@pytest.fixture(params=[DESKTOP, PHONE], ids=["1400", "390"])
def screen(request, browser, live_server):
    ctx = browser.new_context(viewport=request.param)
    install(ctx)
    p = Page(ctx.new_page(), live_server)
    p.width = request.param["width"]
    yield p
    ctx.close()
    # The 400 page is loaded on purpose; the browser reports that status as a console error.
    assert [e for e in p.errors if "status of 400" not in e] == [], f"browser console: {p.errors}"


def load(p: Page, name: str):
    p.goto(PAGES[name])
    if name.startswith("map"):
        expect(p.page.locator(".behaviour .main-svg").first).to_be_visible()


@pytest.mark.parametrize("name", list(PAGES))
def test_no_axe_violations(screen, name):
    load(screen, name)
    if name == "error-400":
        expect(screen.page.locator("[data-testid=error]")).to_contain_text("mt")
    assert_no_violations(screen.page, f"{name} at {screen.width} px")
    screen.shot(f"explain-{name}-{screen.width}")


def test_no_axe_violations_once_a_lesson_is_answered(screen):
    screen.page.goto(screen.base + "/lessons/grace-hopper/")
    screen.page.locator("form.predict input[type=radio]").first.check()
    screen.page.locator("form.predict button[type=submit], form.predict input[type=submit]").first.click()
    screen.page.wait_for_load_state("networkidle")
    assert "a=" in screen.page.url
    assert_no_violations(screen.page, f"an answered lesson at {screen.width} px")
    screen.shot(f"explain-lesson-answered-{screen.width}")


def widths(p: Page) -> dict:
    """The page's widths, and every element that reaches past the viewport without a scrolling
    box of its own around it (not counting anything wholly off-screen to the left, such as
    Plotly's text-measuring SVG, which nobody can scroll to)."""
    return p.page.evaluate("""() => {
        const vw = document.documentElement.clientWidth;
        const clipped = (e) => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
            const o = getComputedStyle(a).overflowX; if (o !== "visible") return true; } return false; };
        const out = [...document.querySelectorAll("body *")].filter((e) => {
            const r = e.getBoundingClientRect();
            return r.width > 0 && r.right > 0 && (r.right > vw + 0.5 || r.left < -0.5) && !clipped(e);
        }).map((e) => e.tagName.toLowerCase() + (e.className && e.className.baseVal === undefined
            ? "." + String(e.className).trim().replace(/\\s+/g, ".") : ""));
        return {html: document.documentElement.scrollWidth, body: document.body.scrollWidth, vw, out};
    }""")


@pytest.mark.parametrize("name", list(PAGES))
def test_nothing_is_wider_than_a_phone(browser, live_server, name):
    ctx = browser.new_context(viewport=PHONE)
    p = Page(ctx.new_page(), live_server)
    load(p, name)
    w = widths(p)
    ctx.close()
    assert (w["html"], w["body"]) <= (390, 390) and w["vw"] == 390, w
    assert w["out"] == [], f"{name}: sticking out at 390 px: {w['out'][:10]}"


def test_on_a_phone_the_map_and_its_table_scroll_inside_their_own_boxes(browser, live_server):
    ctx = browser.new_context(viewport=PHONE)
    p = Page(ctx.new_page(), live_server)
    load(p, "map")
    boxes = p.page.evaluate("""() => [".map-scroll", ".behaviour-table"].map((s) => {
        const box = s === ".map-scroll" ? document.querySelector(s) : document.querySelector(s).parentElement;
        box.scrollLeft = 10000;
        return {inner: box.scrollWidth, outer: box.clientWidth, left: box.scrollLeft};
    })""")
    # Both are wider than the phone, and scrolling them moves them, not the page.
    assert all(b["inner"] > b["outer"] and b["left"] > 0 for b in boxes), boxes
    assert p.page.evaluate("[window.scrollX, document.documentElement.scrollWidth]") == [0, 390]
    p.shot("explain-map-390-scrolled")
    ctx.close()


@pytest.mark.parametrize("name", ["map", "map-diff"])
def test_the_map_has_a_discrete_legend_marks_in_its_cells_and_no_toolbar(page, name):
    load(page, name)
    fig = json.loads(page.page.locator("#map-figure").text_content())
    wanted = [t["name"] for t in fig["data"] if t.get("showlegend")]
    legend = page.page.locator(".behaviour .legend .legendtext")
    expect(legend).to_have_count(len(wanted))
    assert [t.strip() for t in legend.all_text_contents()] == [w.strip() for w in wanted]
    assert page.page.locator(".behaviour .colorbar").count() == 0
    assert page.page.locator(".behaviour .modebar").count() == 0
    z = fig["data"][0]["z"]
    marks = [m for m in page.page.locator(".behaviour .heatmaplayer text").all_text_contents() if m.strip()]
    assert len(marks) == len(z) * len(z[0])         # every cell (rows x columns) carries a text mark
    page.page.hover(".behaviour .nsewdrag")
    assert page.page.locator(".behaviour .modebar").count() == 0


def test_clicking_a_cell_of_the_map_opens_its_permalink(page):
    load(page, "map")
    fig = json.loads(page.page.locator("#map-figure").text_content())
    hm = next(t for t in fig["data"] if t["type"] == "heatmap" and t["name"] == "memslot refused")
    rows, cols = len(hm["z"]), len(hm["z"][0])
    r, c = next((i, j) for i in range(rows) for j in range(cols) if hm["z"][i][j] is not None)
    box = page.page.locator(".behaviour .nsewdrag").first.bounding_box()
    page.page.mouse.click(box["x"] + box["width"] * (c + 0.5) / cols, box["y"] + box["height"] * (r + 0.5) / rows)
    page.wait_path(hm["customdata"][r][c][0])
    expect(page.page.locator("main").first).to_contain_text("-EINVAL")
