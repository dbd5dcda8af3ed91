"""The glossary and exercise sets in a real browser: axe-core, phone width, a term shown by
keyboard focus and by a tap, the worksheet checked and printed."""
import re

import pytest
from playwright.sync_api import expect

from app.teach import exercises
from tests.browser import axe
from tests.browser.conftest import ARTIFACTS

NVG_FWB = "/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&host=fwb&f=40000000r"
PAGES = ["/glossary/", "/exercises/?seed=2027&n=8", "/exercises/?seed=2027&n=8&key=1",
         "/exercises/?seed=2027&n=8&key=1&ask=mixed",
         "/exercises/check/?seed=2027&n=8&model=all&level=basic&answers=ABC-",
         "/exercises/check/?seed=5&n=6&model=all&level=basic&ask=safe&answers=AB", "/lessons/",
         "/lessons/grace-hopper/", "/lessons/first-fault/?p=3", "/lessons/verify/?codes=nonsense",
         f"/notes{NVG_FWB}&step=5"]


@pytest.mark.parametrize("width,height", [(1400, 1000), (390, 844)])
@pytest.mark.parametrize("path", PAGES)
def test_no_axe_violation_and_no_sideways_scroll(browser, live_server, path, width, height):
    axe.check_page(browser, live_server, path, width, height)


def test_a_term_in_step_text_shows_its_definition_on_keyboard_focus_and_escape_closes_it(page):
    page.goto(NVG_FWB + "&step=5")
    p = page.page
    term = p.locator(".step-now .text .term").first
    definition = term.locator(".term-def")
    assert not definition.is_visible()
    for _ in range(200):                        # Tab until the first term in the step's text has focus
        p.keyboard.press("Tab")
        if p.evaluate("document.activeElement === document.querySelector('.step-now .text .term')"):
            break
    else:
        pytest.fail("Tab never reached the term")
    assert definition.is_visible()
    described = p.evaluate("document.getElementById(document.activeElement.getAttribute('aria-describedby'))"
                           ".textContent")
    assert re.match(r"\S+.*: .{40,}glossary$", described)
    page.shot("glossary-term-focus")
    p.keyboard.press("Tab")                      # into the definition's own link, still shown
    assert p.evaluate("document.activeElement.getAttribute('href')").startswith("/glossary/#")
    assert definition.is_visible()
    p.keyboard.press("Shift+Tab")                # back on the term
    assert definition.is_visible()
    p.keyboard.press("Escape")                   # Escape closes it, though the term keeps the focus
    expect(definition).to_be_hidden()
    assert p.evaluate("document.activeElement === document.querySelector('.step-now .text .term')")
    p.keyboard.press("Tab")
    p.keyboard.press("Shift+Tab")                # focus coming back shows it again
    expect(definition).to_be_visible()


def test_a_tap_shows_a_term_a_second_tap_hides_it_and_so_does_a_tap_elsewhere(browser, live_server):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    p = ctx.new_page()
    p.goto(live_server + "/exercises/?seed=2027&n=8")
    term = p.locator(".question .term").first
    term.tap()
    expect(term.locator(".term-def")).to_be_visible()
    term.tap()
    expect(term.locator(".term-def")).to_be_hidden()
    term.tap()
    expect(term.locator(".term-def")).to_be_visible()
    p.locator("h1").tap()
    expect(term.locator(".term-def")).to_be_hidden()
    ctx.close()


def test_the_worksheet_is_answered_checked_and_printed(page):
    es = exercises.generate(2027, 8)
    page.goto("/exercises/?seed=2027&n=8")
    p = page.page
    for q in es.questions:
        wrong = q.n == 2
        letter = ("A" if q.answer != "A" else "B") if wrong else q.answer
        p.locator(f'input[name="a{q.n}"][value="{letter}"]').check()
    p.get_by_role("button", name="Check my answers").click()
    p.wait_for_load_state("networkidle")
    assert p.locator('[data-testid="score"]').inner_text() == "7 / 8"
    assert p.locator('[data-testid="graded"].wrong').count() == 1
    page.shot("exercises-checked")
    page.goto("/exercises/?seed=2027&n=8&key=1")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = p.pdf(path=str(ARTIFACTS / "worksheet.pdf"), format="A4", print_background=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 2      # the questions, then the key
    p.emulate_media(media="print")
    assert not p.locator("form.ex-choose").is_visible() and not p.locator("header.top").is_visible()
    assert p.locator(".ex-key").is_visible()
    page.shot("worksheet-print")


def test_a_trace_page_prints_without_its_controls(page):
    page.goto("/v6.14/?vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r&step=20")
    p = page.page
    p.emulate_media(media="print")
    assert not p.locator(".controls").is_visible() and not p.locator(".player").is_visible()
    assert p.locator(".path-fig").is_visible() and p.locator(".desc-panel").is_visible()
    wide = p.evaluate("[...document.querySelectorAll('.scroll')].filter(e => e.offsetParent)"
                      ".map(e => e.scrollWidth - e.clientWidth)")
    assert all(w <= 1 for w in wide)                              # no table cut off
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    p.pdf(path=str(ARTIFACTS / "trace.pdf"), format="A4")
