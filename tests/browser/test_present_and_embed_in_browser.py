"""Presenter mode and the embed, in headless Chromium: the deck fits one 16:9 screen at 1920x1080
and 1280x720 with nothing scrolled or spilling, type no smaller than 24 px / 16 px, descriptor
labels that never overlap; steered by keys, clicks, swipes and the speaker notes; taps on terms do
not step. The embed fits 600x400 and 800x600 frames legibly and opens every other page in a new
tab; nothing is wider than a phone."""
import pytest
from playwright.sync_api import expect

from app.permalink import parse_url
from app.present import presenters, stage
from app.sim import simulate
from tests.browser import axe, measure
from tests.browser.conftest import ARTIFACTS

NVG = "vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r"
THREE = "vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r,40001000w,40002000x"
# Decks a talk shows: the issue's scenario, three faults with a growing table, host events, a
# refused memslot, the guest's unaligned load on v6.14, a 48-bit VM (four levels), a 1 GiB block, a
# whole VM of two memslots (its address space as a strip of regions across the slide).
DECKS = [f"/v6.17/?{NVG}", f"/v6.17/?{THREE}", "/v7.3/?pg=2m&f=40000000w,logon,40000000w,unmap:40000000,40000000r",
         f"/v6.17/?{NVG}&host=fwb", f"/v6.14/?{NVG}.ua", "/v6.17/?ipa=48&f=40000000r,80000000r",
         "/v7.1/?vma=pfnmap,io,shared,maywrite,uc&mt=ngnrne&mem=dev&pg=1g&f=40000000r",
         "/v6.17/?s2=c0000000:200000&v2=pfnmap,io,shared,maywrite:normal:dev&f=40000000r,c0000000r"]
SCREENS = [(1920, 1080, 24), (1280, 720, 16)]
SPILL = ".panel, .diagram, .step-now, .verdict-box, .player, .tbox, .field, .present-nav, .tcol, .path-html, .tree-html"


def now(p) -> int:
    return int(p.page.locator("#stage .counter .now").inner_text())


def key_steps(link: str) -> list[int]:
    mid, parsed = parse_url(link)
    tr = simulate(mid, parsed.scenario)
    return stage.key_steps(tr, presenters.steps(tr))


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
    page.page.locator("#stage .step-now h2").click()                  # a click on the slide steps on
    expect(page.page.locator("#stage .counter .now")).to_have_text(str(keys[2]))
    page.shot("presenter-key-step")
    page.page.keyboard.press("b")
    expect(page.page.locator("#blank")).to_be_visible()
    page.page.keyboard.press("Escape")
    expect(page.page.locator("#blank")).to_be_hidden()
    assert page.path().startswith("/present/")
    page.page.keyboard.press("End")
    expect(page.page.locator("#stage [data-testid=verdict]")).to_contain_text("Mapped Normal")
    page.page.get_by_role("link", name="from step 1").click()          # start from step 1, for teaching
    expect(page.page.locator("#stage .counter .now")).to_have_text("1")


def test_presenter_all_steps_mode_steps_one_by_one(page):
    page.goto(f"/present/v6.17/?{NVG}&mode=all")
    assert now(page) == 1
    page.page.keyboard.press("ArrowRight")
    expect(page.page.locator("#stage .counter .now")).to_have_text("2")
    assert page.path() == f"/present/v6.17/?{NVG}&step=2&mode=all"


def test_presenter_swipe_steps_and_swipe_back_is_the_decks_own(browser, live_server):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720}, has_touch=True)
    p = ctx.new_page()
    p.goto(f"{live_server}/present/v6.17/?{NVG}&mode=all&step=3")
    swipe = """(dx) => {
      const deck = document.getElementById('deck');
      const t = (x) => [new Touch({identifier: 1, target: deck, clientX: x, clientY: 300})];
      deck.dispatchEvent(new TouchEvent('touchstart', {touches: t(600), changedTouches: t(600), bubbles: true}));
      deck.dispatchEvent(new TouchEvent('touchend', {touches: [], changedTouches: t(600 + dx), bubbles: true}));
    }"""
    p.evaluate(swipe, -200)
    expect(p.locator("#stage .counter .now")).to_have_text("4")
    p.evaluate(swipe, 200)                                  # a right swipe steps back, in the deck
    expect(p.locator("#stage .counter .now")).to_have_text("3")
    assert p.evaluate("getComputedStyle(document.documentElement).overscrollBehaviorX") == "none"
    assert p.evaluate("getComputedStyle(document.body).overscrollBehaviorX") == "none"
    ctx.close()


def test_a_tap_on_a_term_opens_its_definition_and_never_steps(browser, live_server):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720}, has_touch=True)
    p = ctx.new_page()
    p.goto(f"{live_server}/present/v6.17/?{NVG}&step=17")
    term = p.locator("#stage .step-now .text .term").first
    term.tap()
    expect(term.locator(".term-def")).to_be_visible()
    assert p.locator("#stage .counter .now").inner_text() == "17"
    assert term.locator(".term-def a").get_attribute("target") == "_blank"     # the glossary never replaces the deck
    term.tap()                                                                   # a second tap closes it
    expect(term.locator(".term-def")).to_be_hidden()
    assert p.locator("#stage .counter .now").inner_text() == "17"
    ctx.close()


@pytest.mark.parametrize("w,h,least", SCREENS)
@pytest.mark.parametrize("deck", DECKS)
def test_presenter_fits_one_screen_at_every_key_step(browser, live_server, deck, w, h, least):
    """No scrolling; the path, the table, the descriptor, the memory type and the step's sentence all
    on the screen; nothing spilling out of its box; the smallest text at least 24 px (1080p) or
    16 px (720p); descriptor labels apart."""
    ctx = browser.new_context(viewport={"width": w, "height": h})
    p = ctx.new_page()
    for n in key_steps(deck):
        p.goto(f"{live_server}/present{deck}&step={n}")
        where = f"{deck} step {n} at {w}x{h}"
        size = p.evaluate("[document.documentElement.scrollHeight, document.documentElement.scrollWidth]")
        assert size == [h, w], where
        for part in (".path-html", ".tree-html", ".desc", ".mt-panel", ".step-now .text", ".verdict-box"):
            assert measure.inside(p, part), (part, where)
        assert measure.spills(p, SPILL) == [], where
        size, what = measure.smallest(p, "#deck")
        assert size >= least - 0.01, (size, what, where)
        assert measure.overlaps(p) == [], where
    ctx.close()


@pytest.mark.parametrize("w,h,least", SCREENS)
def test_the_issues_deck_fits_and_reads_from_the_back_in_both_themes(browser, live_server, w, h, least):
    ctx = browser.new_context(viewport={"width": w, "height": h})
    axe.install(ctx)
    p = ctx.new_page()
    for theme in ("", "&theme=dark"):
        p.goto(f"{live_server}/present/v6.17/?{NVG}&step=28{theme}")
        assert p.evaluate("document.documentElement.scrollHeight") == h
        assert measure.contrast(p, "#stage .step-now .text") >= 7
        assert measure.smallest(p, "#deck")[0] >= least - 0.01
        axe.assert_no_violations(p, f"presenter mode{theme or ' (light)'} at {w}x{h}")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        p.screenshot(path=str(ARTIFACTS / f"presenter-{w}x{h}{'-dark' if theme else ''}.png"), animations="disabled")
    ctx.close()


def test_t_switches_the_theme_and_keeps_the_step(page):
    page.goto(f"/present/v6.17/?{NVG}&step=17")
    assert "light" in page.page.locator("body").get_attribute("class")
    page.page.keyboard.press("t")
    page.page.wait_for_url("**theme=dark")
    assert "dark" in page.page.locator("body").get_attribute("class") and now(page) == 17
    page.page.keyboard.press("ArrowRight")
    expect(page.page.locator("#stage .counter .now")).not_to_have_text("17")
    assert page.path().endswith("&theme=dark")                             # stepping keeps the theme


def test_the_speaker_notes_follow_the_deck_and_steer_it(browser, live_server):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    deck = ctx.new_page()
    deck.goto(f"{live_server}/present/v6.17/?{NVG}")
    keys = key_steps(f"/v6.17/?{NVG}")
    with ctx.expect_page() as opened:
        deck.keyboard.press("n")
    notes = opened.value
    notes.wait_for_load_state("networkidle")
    expect(notes.locator("[data-testid=notes-step]")).to_contain_text(f"step {keys[0]} /")
    deck.keyboard.press("ArrowRight")                                      # the notes follow the deck
    expect(notes.locator("[data-testid=notes-step]")).to_contain_text(f"step {keys[1]} /")
    expect(notes.locator("[data-testid=notes-text]")).to_have_text(deck.locator("#stage .step-now .text").inner_text(),
                                                                   use_inner_text=True)
    notes.keyboard.press("ArrowRight")                                     # the deck follows the notes
    expect(deck.locator("#stage .counter .now")).to_have_text(str(keys[2]))
    expect(notes.locator("[data-testid=notes-step]")).to_contain_text(f"step {keys[2]} /")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    notes.screenshot(path=str(ARTIFACTS / "speaker-notes.png"), animations="disabled")
    ctx.close()


PHONE_PAGES = [f"/v6.14/?{NVG}&step=20", f"/v6.17/?{NVG}", f"/present/v6.17/?{NVG}", f"/embed/v6.17/?{NVG}&step=12",
               "/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&f=" + ",".join(f"{0x4000_0000 + i * 0x1000:x}r"
                                                                            for i in range(20)),
               f"/v6.14..v6.17/?{NVG}", "/glossary/", "/lessons/fail-early/?p=1", "/v6.17/?preset=grace-vm"]


@pytest.mark.parametrize("path", PHONE_PAGES)
def test_a_phone_gets_everything_at_12px_or_more_unbroken_and_no_wider_than_itself(browser, live_server, path):
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    p = ctx.new_page()
    p.goto(live_server + path)
    p.wait_for_load_state("networkidle")
    widths = p.evaluate("() => [document.documentElement.scrollWidth, document.body.scrollWidth]")
    assert max(widths) <= 390, widths
    assert measure.broken_words(p) == []
    if not path.startswith("/present/"):            # presenter mode is sized for a projector, not a phone
        size, what = measure.smallest(p)
        assert size >= 12, (size, what)
    assert measure.overlaps(p) == []
    name = path.split("/")[1] or "page"
    p.screenshot(path=str(ARTIFACTS / f"phone-{name}-{len(path)}.png"), full_page=True, animations="disabled")
    ctx.close()


def test_the_trace_page_on_a_phone_draws_the_path_and_table_as_text(browser, live_server):
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    p = ctx.new_page()
    p.goto(f"{live_server}/v6.17/?{THREE}&step=60")
    expect(p.locator(".path-html")).to_be_visible()
    expect(p.locator(".tree-html")).to_be_visible()
    assert not p.locator(".tree-svg").is_visible() and not p.locator(".path-svg").is_visible()
    p.locator(".tree-html").screenshot(path=str(ARTIFACTS / "phone-tree.png"))
    ctx.close()


def test_the_embed_steps_in_place(page):
    page.goto(f"/embed/v6.17/?{NVG}&step=5")
    page.page.keyboard.press("ArrowRight")
    expect(page.page.locator("#stage .counter .now")).to_have_text("6")
    assert page.path() == f"/embed/v6.17/?{NVG}&step=6"
    expect(page.page.locator("#stage .tree-html")).to_be_visible()


@pytest.mark.parametrize("w,h", [(600, 400), (800, 600)])
def test_the_embed_fits_its_frame_legibly(browser, live_server, w, h):
    ctx = browser.new_context(viewport={"width": w, "height": h})
    axe.install(ctx)
    p = ctx.new_page()
    p.goto(f"{live_server}/embed/v6.17/?{NVG}&step=28")
    p.wait_for_load_state("networkidle")
    assert p.evaluate("document.documentElement.scrollWidth") <= w
    assert measure.inside(p, "#stage .step-now .text")          # the explanation is in the frame, not below it
    if h >= 600:                                                # the whole picture too, in the suggested size
        assert measure.inside(p, ".path-html") and measure.inside(p, ".tree-html")
    size, what = measure.smallest(p)
    assert size >= 12, (size, what)
    assert measure.broken_words(p) == [] and measure.overlaps(p) == []
    axe.assert_no_violations(p, f"the embed at {w}x{h}")
    p.screenshot(path=str(ARTIFACTS / f"embed-{w}x{h}.png"), animations="disabled")
    ctx.close()


def test_every_link_in_the_embed_opens_a_new_tab_or_stays_framable(browser, live_server):
    """Framed on another site: a glossary or source link opens the full site in a new tab and the
    frame stays where it was; step links stay in the frame (the embed may be framed)."""
    ctx = browser.new_context(viewport={"width": 900, "height": 700})
    p = ctx.new_page()
    p.goto(f"{live_server}/healthz")
    p.set_content(f'<iframe src="{live_server}/embed/v6.17/?{NVG}&step=12" width="800" height="600"></iframe>')
    frame = p.frame_locator("iframe")
    expect(frame.locator("#stage .step-now")).to_be_visible()
    links = frame.locator("a").evaluate_all("as => as.map(a => [a.getAttribute('href'), a.getAttribute('target')])")
    assert links
    for href, target in links:
        assert href.startswith("/embed/") or target == "_blank", (href, target)
    term = frame.locator("#stage .step-now .text .term").first
    term.click()
    with ctx.expect_page() as opened:
        term.locator(".term-def a").click()
    assert "/glossary/" in opened.value.url
    assert "/embed/" in p.frames[1].url                         # the frame did not navigate
    ctx.close()


def test_the_page_offers_the_iframe_code_and_copies_it(browser, live_server):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    p = ctx.new_page()
    p.goto(f"{live_server}/v6.17/?{NVG}&step=12")
    p.locator("#embed-code summary").click()
    code = p.locator("#iframe-code").input_value()
    assert code.startswith('<iframe src="/embed/v6.17/?') and 'width="800" height="600"' in code and "step=12" in code
    p.get_by_role("button", name="Copy iframe code").click()
    expect(p.get_by_role("button", name="Copied")).to_be_visible()
    assert p.evaluate("navigator.clipboard.readText()") == code
    p.keyboard.press("ArrowRight")                                   # the code follows the step shown
    expect(p.locator("#iframe-code")).to_have_value(code.replace("step=12", "step=13"))
    ctx.close()


def test_printing_right_after_load_catches_no_animation(page):
    page.goto(f"/v6.17/?{NVG}&step=25")
    p = page.page
    p.emulate_media(media="print")
    names = p.evaluate("[...document.querySelectorAll('.changed, .flip, .tree-svg .entry')]"
                       ".map(e => getComputedStyle(e).animationName)")
    assert names and set(names) == {"none"}
