"""The verdict box as a reader meets it: stepping to the step that settles a hazardous fault shows
the hazard first, in its own colour and symbol, with the guest's side and the deciding step; the
compare page flags what differs; axe-core finds nothing wrong on either, on a desk and on a phone."""
import re

from playwright.sync_api import expect

from tests.browser import axe

V3_OOPS = "/patch-v3/?vma=pfnmap,io,shared,maywrite&mem=dev&host=fwb&f=40000000x"


def test_stepping_to_the_settled_fault_shows_the_hazard_not_the_tick(page):
    page.goto(V3_OOPS + "&step=5")
    box = page.page.locator('[data-testid="verdict-box"]')
    expect(box).not_to_have_class(re.compile(r"\bhazard\b"))                 # nothing decided yet
    page.page.evaluate("window.s2viz.step(window.s2viz.total())")
    expect(box).to_have_class(re.compile(r"\bhazard\b"))
    expect(page.page.locator('[data-testid="hazard"]')).to_contain_text("Host hazard: Host oops.")
    expect(page.page.locator('[data-testid="verdict"] .mark')).to_have_text("⚠")
    colour = page.page.eval_on_selector('[data-testid="verdict-box"]', "e => getComputedStyle(e).borderTopColor")
    ok = page.page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--ok')").strip()
    assert colour != ok and colour.startswith("rgb(196, 106, 0")                # the hazard colour, not green
    expect(page.page.locator('[data-testid="guest-then"]')).to_contain_text("instruction fetch")
    page.page.click('[data-testid="decided-by"]')
    expect(page.page.locator("#stage .step-now")).to_contain_text("cacheable_devmem")
    page.shot("hazard-verdict-v3")


def test_the_hazard_pages_pass_axe_on_a_desk_and_a_phone(browser, live_server):
    for path in (V3_OOPS, "/v6.17..v7.3/?vma=pfnmap,shared,maywrite&mem=sg&pg=2m&f=40000000r,40001000r",
                 "/all/?vma=pfnmap,io,shared,maywrite&mem=dev&host=fwb&f=40000000x"):
        for width, height in ((1400, 1000), (390, 844)):
            axe.check_page(browser, live_server, path, width, height)


def test_the_form_fires_an_instruction_and_adds_a_host_event(page):
    page.goto("/v6.14/?vma=pfnmap,io,shared,maywrite&mem=dev")
    page.page.fill("#fire-ipa", "40000000")
    page.page.select_option("#fire-instr", "ua")
    page.page.click('[data-testid="fire"]')
    page.wait_path("/v6.14/?vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r.ua")
    page.page.select_option("#event-kind", "unmap")
    page.page.fill("#event-ipa", "40000000")
    page.page.click('[data-testid="add-event"]')
    page.wait_path("/v6.14/?vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r.ua,unmap:40000000")
    expect(page.page.locator(".fault-list li.event-item")).to_contain_text("host event: unmap:40000000")
    expect(page.page.locator("#stage .steps-nav")).to_contain_text("Host event 1: unmap")
    page.shot("form-instruction-and-event")
