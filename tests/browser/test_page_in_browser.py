"""The page as a user meets it, in headless Chromium. Screenshots go to artifacts/screenshots/."""
from playwright.sync_api import expect

NVG = "/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r"


def verdict(p):
    return p.page.locator('#verdict [data-testid="verdict"]')


def test_fwb_decides_whether_grace_hopper_memory_is_accepted(page):
    page.goto("/v6.17/?f=40000000r")
    page.page.select_option('select[name="preset"]', "nvgrace-usemem")
    page.wait_path(NVG)
    expect(verdict(page)).to_have_text("Mapped Normal, RWX, 4K")
    expect(page.page.locator(".fault-panels:not([hidden]) [data-testid=effective]")).to_contain_text("forced by FWB")
    page.shot("nvgrace-v6.17-mapped-normal")
    page.page.uncheck('input[name="host"][value="fwb"]')
    page.wait_path("/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&host=dic&f=40000000r")
    expect(verdict(page)).to_have_text("Memslot refused: KVM_SET_USER_MEMORY_REGION fails with -EINVAL")
    page.shot("nvgrace-v6.17-no-fwb-memslot-einval")
    page.page.go_back()
    page.wait_path(NVG)
    expect(verdict(page)).to_have_text("Mapped Normal, RWX, 4K")
    page.page.go_forward()
    expect(verdict(page)).to_contain_text("-EINVAL")


def test_the_same_link_on_v6_14_maps_device(page):
    page.goto(NVG.replace("v6.17", "v6.14"))
    expect(verdict(page)).to_have_text("Mapped Device-nGnRE, RW-, 4K")
    page.page.click('nav.models a:has-text("v6.17")')
    page.wait_path(NVG)
    expect(verdict(page)).to_have_text("Mapped Normal, RWX, 4K")


def test_a_write_after_a_read_on_a_dirty_logging_slot_relaxes_permissions(page):
    page.goto("/v6.17/?slot=log")
    page.page.fill("#fire-ipa", "0x4000_0000")
    page.page.check('input[name="fire_kind"][value="r"]')
    page.page.click('[data-testid="fire"]')
    page.wait_path("/v6.17/?slot=log&f=40000000r")
    expect(verdict(page)).to_have_text("Mapped Normal, R-X, 4K")
    page.page.check('input[name="fire_kind"][value="w"]')
    page.page.click('[data-testid="fire"]')
    page.wait_path("/v6.17/?slot=log&f=40000000r,40000000w")
    expect(verdict(page)).to_have_text("Permissions relaxed Normal, RWX, 4K")
    expect(page.page.locator(".fault-panels:not([hidden]) h2")).to_contain_text("Fault 2")
    expect(page.page.locator(".fault-panels:not([hidden])")).to_contain_text("permission fault at level 3")
    page.shot("dirty-log-write-relaxes")


def test_keyboard_steps_through_the_trace(page):
    page.goto(NVG)
    total = int(page.page.locator(".trace").get_attribute("data-total"))
    page.page.locator("body").press("Home")
    expect(page.page.locator(".counter .now")).to_have_text("1")
    assert page.path() == NVG + "&step=1"
    page.page.keyboard.press("ArrowRight")
    page.page.keyboard.press("ArrowRight")
    expect(page.page.locator(".counter .now")).to_have_text("3")
    expect(page.page.locator("li.step.current")).to_have_attribute("id", "step-3")
    expect(page.page.locator("#step-announce")).to_contain_text("Step 3 of")
    page.page.keyboard.press("ArrowLeft")
    expect(page.page.locator(".counter .now")).to_have_text("2")
    page.shot("keyboard-step-2")
    page.page.keyboard.press("End")
    expect(page.page.locator(".counter .now")).to_have_text(str(total))
    assert page.path() == NVG
    page.page.reload()
    expect(page.page.locator(".counter .now")).to_have_text(str(total))


def test_a_step_link_reloads_to_the_same_step(page):
    page.goto(NVG + "&step=5")
    expect(page.page.locator("li.step.current")).to_have_attribute("id", "step-5")
    page.page.keyboard.press("Space")
    page.page.wait_for_timeout(1000)
    assert int(page.page.locator(".counter .now").inner_text()) > 5
    page.page.keyboard.press("Space")


def test_memslot_map_loads_plotly_only_when_opened(page):
    page.goto("/v6.17/?f=40000000r,40200000w,80000000r")
    assert page.page.evaluate("typeof window.Plotly") == "undefined"
    page.page.click("#memslot-map summary")
    expect(page.page.locator("#memslot-map .plot .main-svg").first).to_be_visible()
    expect(page.page.locator("#memslot-map table.leaves tbody tr")).to_have_count(2)
    page.shot("memslot-map")


def test_without_javascript_the_verdict_is_still_there(browser, live_server):
    ctx = browser.new_context(java_script_enabled=False)
    p = ctx.new_page()
    p.goto(live_server + NVG.replace("v6.17", "patch-v3").replace("mem=dev", "mem=dev&host="))
    expect(p.locator('#verdict [data-testid="verdict"]')).to_have_text(
        "Rejected at fault time: KVM_RUN fails with -EINVAL")
    p.locator("a[data-step=first]").click()
    expect(p.locator(".counter .now")).to_have_text("1")
    ctx.close()


def test_a_bad_link_shows_one_sentence_and_the_nearest_scenario(page):
    page.page.goto(page.base + "/v6.17/?mt=cached&f=40000000r")
    expect(page.page.locator('[data-testid="error"]')).to_contain_text("'cached' is not a memory type")
    page.page.click(".error a")
    expect(verdict(page)).to_be_visible()
    page.errors.clear()          # the 400 itself is logged by the browser


def test_an_impossible_combination_is_explained_inline_and_nothing_is_lost(page):
    page.goto("/v6.17/?f=40000000r")
    page.page.check('input[name="vm"][value="mte"]')
    expect(page.page.locator('[data-testid="form-error"]')).to_contain_text("vm=mte needs host=mte")
    assert page.path() == "/v6.17/?f=40000000r"
    expect(page.page.locator(".fault-list li")).to_have_count(1)
    page.shot("inline-error")
    page.errors[:] = [e for e in page.errors if "400" not in e]
