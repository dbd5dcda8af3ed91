"""Compare, copy for mail, presenter mode and a lesson, in headless Chromium."""
import re

from playwright.sync_api import expect

from app.permalink import parse_url

NVG = "vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r"


def test_compare_view_marks_the_first_divergence(page):
    page.goto(f"/v6.14..v6.17/?{NVG}")
    expect(page.page.locator("[data-testid=divergence]")).to_contain_text("first decide differently")
    page.page.click("[data-testid=divergence] a")
    first = page.page.locator("tr.first")
    expect(first).to_be_visible()
    expect(first).to_contain_text("kvm_arch_prepare_memory_region()")
    expect(page.page.locator("table.diff").first).to_contain_text("Mapped Device-nGnRE, RW-, 4K")
    page.shot("compare-v6.14-v6.17-nvgrace")


def test_copy_for_mail_copies_72_column_text_that_round_trips(browser, live_server):
    ctx = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    p = ctx.new_page()
    p.goto(f"{live_server}/patch-v3/?vma=pfnmap,io,maywrite&mt=ngnrne&mem=dev&f=40000000r")
    p.click(".copy-mail")
    expect(p.locator(".copy-mail")).to_have_text("Copied")
    text = p.evaluate("navigator.clipboard.readText()")
    lines = text.splitlines()
    assert all(len(line) <= 72 for line in lines[:-1]) and text.isascii()
    mid, parsed = parse_url(lines[-1])
    assert mid == "patch-v3" and parsed.ok and len(parsed.scenario.faults) == 1
    assert "KVM_RUN fails -EINVAL" in text
    ctx.close()


def test_a_lesson_plays_through_graded_with_a_locked_prediction_and_the_reveal_at_the_deciding_step(page):
    page.goto("/lessons/grace-hopper/")
    p = page.page
    expect(p.locator("[data-testid=reveal]")).to_have_count(0)
    p.get_by_label("Mapped at stage 2 as Normal (cacheable) memory").check()     # wrong: v6.14 maps it Device
    p.get_by_role("button", name="Lock my prediction").click()
    page.wait_path("/lessons/grace-hopper/?a=A&p=1")
    expect(p.locator("[data-testid=locked]")).to_contain_text("wrong")
    expect(p.locator("[data-testid=answer]")).to_have_text("Mapped Device-nGnRE, RW-, 4K")
    expect(p.locator("input[name=guess]")).to_have_count(0)                      # locked: no second guess
    expect(p.locator("[data-testid=score]")).to_have_text("0 / 1")
    p.locator("a[rel=next]").click()
    p.get_by_label("Mapped at stage 2 as Normal (cacheable) memory").check()     # right: the v3 patch maps it Normal
    p.get_by_role("button", name="Lock my prediction").click()
    page.wait_path("/lessons/grace-hopper/?a=AA&p=2")
    expect(p.locator("[data-testid=locked]")).to_contain_text("right")
    expect(p.locator("[data-testid=score]")).to_have_text("1 / 2")
    page.shot("lesson-grace-hopper")
    p.locator("[data-testid=reveal-link]").click()
    p.wait_for_load_state("networkidle")
    assert re.search(r"step=\d+", p.url)
    expect(p.locator("[data-testid=verdict]")).to_contain_text("Mapped Normal")


def test_behaviour_map_draws_a_heatmap_whose_cells_open_their_permalink(page):
    page.goto("/map/v6.14..v6.17/")
    expect(page.page.locator(".behaviour .main-svg").first).to_be_visible()
    page.page.locator("td.changed a").first.click()
    page.page.wait_for_load_state("networkidle")
    assert page.path().startswith("/v6.14..v6.17/?")
    expect(page.page.locator("[data-testid=divergence]")).to_be_visible()
    page.shot("behaviour-map-after-click")
