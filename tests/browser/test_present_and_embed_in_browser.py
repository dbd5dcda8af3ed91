"""Presenter mode and the embed, in headless Chromium: the page's picture, readable from the back
of the room, steered by keys, clicks and swipes; nothing wider than a phone."""
import pytest
from playwright.sync_api import expect

NVG = "vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r"


def now(p) -> int:
    return int(p.page.locator("#stage .counter .now").inner_text())


def test_presenter_steps_through_key_steps_and_escape_never_leaves(page):
    page.goto(f"/present/v6.17/?{NVG}")
    keys = [int(k) for k in page.page.locator("#stage").get_attribute("data-keys").split(",")]
    assert now(page) == keys[0]
    page.page.keyboard.press("PageDown")
    expect(page.page.locator("#stage .counter .now")).to_have_text(str(keys[1]))
    page.page.keyboard.press("ArrowRight")
    expect(page.page.locator("#stage .counter .now")).to_have_text(str(keys[2]))
    page.page.keyboard.press("PageUp")
    expect(page.page.locator("#stage .counter .now")).to_have_text(str(keys[1]))
    assert page.path().endswith(f"&step={keys[1]}")
    page.page.locator("#stage .step-now .text").click()                  # a click on the slide steps on
    expect(page.page.locator("#stage .counter .now")).to_have_text(str(keys[2]))
    page.shot("presenter-key-step")
    page.page.keyboard.press("b")
    expect(page.page.locator("#blank")).to_be_visible()
    page.page.keyboard.press("Escape")
    expect(page.page.locator("#blank")).to_be_hidden()
    assert page.path().startswith("/present/")
    page.page.keyboard.press("End")
    expect(page.page.locator("#stage [data-testid=verdict]")).to_contain_text("Mapped Normal")


def test_presenter_all_steps_mode_steps_one_by_one(page):
    page.goto(f"/present/v6.17/?{NVG}&mode=all")
    assert now(page) == 1
    page.page.keyboard.press("ArrowRight")
    expect(page.page.locator("#stage .counter .now")).to_have_text("2")
    assert page.path() == f"/present/v6.17/?{NVG}&step=2&mode=all"


def test_presenter_swipe_steps(browser, live_server):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720}, has_touch=True)
    p = ctx.new_page()
    p.goto(f"{live_server}/present/v6.17/?{NVG}&mode=all&step=3")
    p.evaluate("""() => {
      const deck = document.getElementById('deck');
      const t = (x) => [new Touch({identifier: 1, target: deck, clientX: x, clientY: 300})];
      deck.dispatchEvent(new TouchEvent('touchstart', {touches: t(600), changedTouches: t(600), bubbles: true}));
      deck.dispatchEvent(new TouchEvent('touchend', {touches: [], changedTouches: t(400), bubbles: true}));
    }""")
    expect(p.locator("#stage .counter .now")).to_have_text("4")
    ctx.close()


@pytest.mark.parametrize("w,h", [(1920, 1080), (1280, 720)])
def test_presenter_type_follows_the_viewport(browser, live_server, w, h):
    ctx = browser.new_context(viewport={"width": w, "height": h})
    p = ctx.new_page()
    p.goto(f"{live_server}/present/v6.14/?{NVG}&step=17")
    vh = h / 100
    size = lambda sel: p.eval_on_selector(sel, "e => parseFloat(getComputedStyle(e).fontSize)")  # noqa: E731
    assert size("#stage .step-now .text") >= 3.5 * vh - 0.5
    assert size("#stage .verdict-box .headline") >= 3.5 * vh - 0.5
    smallest = p.evaluate("""() => {
      let least = 1e9, where = '';
      for (const e of document.querySelectorAll('#deck *')) {
        if (e.closest('svg, [hidden], details:not([open]) > :not(summary), .sr-only')) continue;
        if (![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
        const r = e.getBoundingClientRect();
        if (!r.width || !r.height) continue;
        const fs = parseFloat(getComputedStyle(e).fontSize);
        if (fs < least) { least = fs; where = e.tagName + '.' + e.className; }
      }
      return [least, where];
    }""")
    assert smallest[0] >= 2.2 * vh - 0.5, smallest
    contrast = p.evaluate("""() => {
      const rgb = (s) => s.match(/[0-9.]+/g).slice(0, 3).map(Number).map((c) => {
        c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; });
      const lum = (s) => { const [r, g, b] = rgb(s); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
      const a = lum(getComputedStyle(document.querySelector('#stage .step-now .text')).color);
      const b = lum(getComputedStyle(document.body).backgroundColor);
      return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    }""")
    assert contrast >= 7
    p.screenshot(path=f"artifacts/screenshots/presenter-{w}x{h}.png", animations="disabled")
    ctx.close()


@pytest.mark.parametrize("path", [
    f"/v6.14/?{NVG}&step=20", f"/v6.17/?{NVG}", f"/present/v6.17/?{NVG}", f"/embed/v6.17/?{NVG}&step=12",
    "/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&f=" + ",".join(f"{0x4000_0000 + i * 0x1000:x}r" for i in range(20)),
])
def test_no_page_is_wider_than_a_phone(browser, live_server, path):
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    p = ctx.new_page()
    p.goto(live_server + path)
    p.wait_for_load_state("networkidle")
    widths = p.evaluate("() => [document.documentElement.scrollWidth, document.body.scrollWidth]")
    assert max(widths) <= 390, widths
    name = path.split("/")[1] or "page"
    p.screenshot(path=f"artifacts/screenshots/phone-{name}-{len(path)}.png", full_page=True, animations="disabled")
    ctx.close()


def test_the_embed_steps_in_place(page):
    page.goto(f"/embed/v6.17/?{NVG}&step=5")
    page.page.keyboard.press("ArrowRight")
    expect(page.page.locator("#stage .counter .now")).to_have_text("6")
    assert page.path() == f"/embed/v6.17/?{NVG}&step=6"
    expect(page.page.locator("#stage .tree-svg")).to_be_visible()
