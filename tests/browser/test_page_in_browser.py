"""The page as a user meets it, in headless Chromium. Screenshots go to artifacts/screenshots/."""
from playwright.sync_api import expect

from app.permalink import parse_query
from app.present.stage import reveal_steps
from app.sim import simulate

NVG = "/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r"


def verdict(p):
    return p.page.locator('#stage [data-testid="verdict"]')


def step_of(model: str, url: str, sid: str, nth: int = 0) -> int:
    """The 1-based trace position of the nth step with this id in the scenario of url."""
    tr = simulate(model, parse_query(url.split("?", 1)[1]).scenario)
    hits = [i + 1 for i, (_, s) in enumerate(tr.all_steps()) if s.id == sid]
    return hits[nth]


def now(p):
    return int(p.page.locator("#stage .counter .now").inner_text())


def test_fwb_decides_whether_grace_hopper_memory_is_accepted(page):
    page.goto("/v6.17/?f=40000000r")
    page.page.select_option('select[name="preset"]', "nvgrace-usemem")
    page.page.wait_for_function("p => location.search.startsWith(p)", arg=NVG.split("/v6.17/")[1] + "&step=")
    expect(verdict(page)).to_have_text("✔ Mapped Normal, RWX, 4K")     # a preset opens on its story step
    page.page.keyboard.press("End")
    expect(page.page.locator("#stage [data-testid=effective]")).to_contain_text("forced by FWB")
    page.shot("nvgrace-v6.17-mapped-normal")
    page.page.uncheck('input[name="host"][value="fwb"]')
    page.wait_path("/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&host=dic&f=40000000r")
    expect(verdict(page)).to_contain_text("Memslot refused: KVM_SET_USER_MEMORY_REGION fails with -EINVAL")
    page.shot("nvgrace-v6.17-no-fwb-memslot-einval")
    page.page.go_back()
    expect(verdict(page)).to_contain_text("Mapped Normal, RWX, 4K")
    page.page.go_forward()
    expect(verdict(page)).to_contain_text("-EINVAL")


def test_grace_hopper_step_by_step_on_v6_14_and_v6_17(page):
    for model, memtype, screenshot in (("v6.14", "Device-nGnRE", "gh-v6.14"), ("v6.17", "Normal", "gh-v6.17")):
        url = NVG.replace("v6.17", model)
        classify = step_of(model, url, "uma.classify")
        write = reveal_steps(simulate(model, parse_query(url.split("?", 1)[1]).scenario))[0]   # leaf in the table
        page.goto(url + "&step=1")
        page.shot(f"{screenshot}-first")
        page.page.locator("body").press("Home")
        page.page.keyboard.press("End")
        page.page.keyboard.press("Home")
        for _ in range(classify - 2):
            page.page.keyboard.press("ArrowRight")
        expect(page.page.locator("#stage .counter .now")).to_have_text(str(classify - 1))
        mt = page.page.locator("#stage .mt-panel dd").nth(1)
        expect(mt).to_have_text("not decided yet")
        expect(page.page.locator("#stage .verdict-box")).to_have_class("verdict-box deciding")
        page.page.keyboard.press("ArrowRight")                       # the classification
        expect(mt).to_contain_text(memtype)
        expect(page.page.locator("#stage .tree-svg .s-leaf")).to_have_count(0)
        expect(verdict(page)).to_contain_text("deciding")
        page.shot(f"{screenshot}-middle-classified")
        page.page.locator(f'#stage a[data-step="{write}"], #stage .jump').first.click()
        expect(page.page.locator("#stage .counter .now")).to_have_text(str(write))
        expect(page.page.locator("#stage .tree-svg .s-leaf")).to_have_count(1)
        expect(page.page.locator("#stage .desc-panel h2")).to_contain_text("Leaf descriptor: 0x")
        expect(verdict(page)).to_contain_text(f"Mapped {memtype}")
        page.shot(f"{screenshot}-deciding")
        page.page.keyboard.press("ArrowLeft")                        # back: the leaf and the verdict go
        expect(page.page.locator("#stage .tree-svg .s-leaf")).to_have_count(0)
        expect(verdict(page)).to_contain_text("deciding")
        page.page.keyboard.press("End")
        expect(verdict(page)).to_contain_text(f"Mapped {memtype}")
        assert page.path() == url
        page.shot(f"{screenshot}-last")


def test_keys_keep_stepping_after_play_and_the_used_control_keeps_the_focus(page):
    page.goto(NVG + "&step=3")
    page.page.click("#stage .play")
    page.page.wait_for_function("() => Number(document.querySelector('#stage').dataset.current) >= 5", timeout=6000)
    page.page.click("#stage .play")                                    # pause
    expect(page.page.locator("#stage .play")).to_have_text("Play")
    at = now(page)
    page.page.keyboard.press("ArrowRight")
    expect(page.page.locator("#stage .counter .now")).to_have_text(str(at + 1))
    page.page.click('#stage [data-step="next"]')
    expect(page.page.locator("#stage .counter .now")).to_have_text(str(at + 2))
    assert page.page.evaluate("document.activeElement.dataset.step") == "next"
    page.page.keyboard.press("Enter")                                  # the focused Next, again
    expect(page.page.locator("#stage .counter .now")).to_have_text(str(at + 3))
    page.page.keyboard.press("ArrowLeft")
    expect(page.page.locator("#stage .counter .now")).to_have_text(str(at + 2))
    assert page.path() == NVG + f"&step={at + 2}"
    page.page.keyboard.press("?")
    expect(page.page.locator("#help")).to_be_visible()
    page.page.keyboard.press("Escape")
    expect(page.page.locator("#help")).to_be_hidden()
    page.page.check('input[name="host"][value="mte"]')                 # a control change swaps the page
    page.wait_path("/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&host=fwb,dic,mte&f=40000000r")
    page.page.wait_for_function("() => document.activeElement.name + '=' + document.activeElement.value === 'host=mte'",
                                timeout=5000)
    page.page.locator("body").press("Home")
    expect(page.page.locator("#stage .counter .now")).to_have_text("1")


def test_a_write_after_a_read_on_a_dirty_logging_slot_relaxes_permissions(page):
    page.goto("/v6.17/?slot=log")
    page.page.fill("#fire-ipa", "0x4000_0000")
    page.page.check('input[name="fire_kind"][value="r"]')
    page.page.click('[data-testid="fire"]')
    page.wait_path("/v6.17/?slot=log&f=40000000r")
    expect(verdict(page)).to_contain_text("Mapped Normal, R-X, 4K")
    page.page.check('input[name="fire_kind"][value="w"]')
    page.page.click('[data-testid="fire"]')
    page.wait_path("/v6.17/?slot=log&f=40000000r,40000000w")
    expect(verdict(page)).to_contain_text("Permissions relaxed Normal, RWX, 4K")
    expect(page.page.locator("#stage .tree-svg .s-relaxed")).to_have_count(1)
    page.shot("dirty-log-write-relaxes")


def test_a_step_link_reloads_to_the_same_step(page):
    page.goto(NVG + "&step=5")
    expect(page.page.locator("#stage li.step.current")).to_have_attribute("id", "step-5")
    page.page.keyboard.press("Space")
    page.page.wait_for_timeout(1500)
    assert now(page) > 5
    page.page.keyboard.press("Space")
    page.page.reload()
    assert now(page) > 5


def test_memslot_map_loads_plotly_only_when_opened_and_shows_the_step(page):
    page.goto("/v6.17/?f=40000000r,40200000w,80000000r")
    assert page.page.evaluate("typeof window.Plotly") == "undefined"
    page.page.click("#memslot-map summary")
    expect(page.page.locator("#memslot-map .plot .main-svg").first).to_be_visible()
    expect(page.page.locator("#memslot-map table.leaves tbody tr")).to_have_count(2)
    page.shot("memslot-map")
    page.page.locator("body").press("Home")
    expect(page.page.locator("#memslot-map table.leaves tbody")).to_contain_text("No leaf yet")


def test_without_javascript_every_step_is_a_link(browser, live_server):
    ctx = browser.new_context(java_script_enabled=False)
    p = ctx.new_page()
    p.goto(live_server + NVG.replace("v6.17", "patch-v3").replace("mem=dev", "mem=dev&host="))
    expect(p.locator('#stage [data-testid="verdict"]')).to_contain_text(
        "Rejected at fault time: KVM_RUN fails with -EINVAL")
    p.locator(".player a[data-step=first]").click()
    expect(p.locator(".counter .now")).to_have_text("1")
    p.locator(".player a[data-step=next]").click()
    expect(p.locator(".counter .now")).to_have_text("2")
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


def test_a_guest_memfd_slot_can_be_toggled_and_fired_at(page):
    page.goto("/v7.3/")
    page.page.check('input[name="slot"][value="gmem"]')
    page.wait_path("/v7.3/?vma=shared,maywrite&slot=gmem")           # the form maps the guest_memfd itself
    page.page.fill("#fire-ipa", "40000000")
    page.page.click('[data-testid="fire"]')
    page.wait_path("/v7.3/?vma=shared,maywrite&slot=gmem&f=40000000r")
    expect(verdict(page)).to_contain_text("Mapped Normal")
    expect(page.page.locator("#stage .steps-nav")).to_contain_text("gmem_abort")
    page.shot("guest-memfd-v7.3")


def test_stepping_is_htmx_with_its_own_headers_and_the_neighbours_come_ahead(page):
    asked = []
    page.page.on("request", lambda r: "/v6.17/" in r.url and asked.append((r.url.split("?", 1)[-1], r.headers)))
    page.goto(NVG + "&step=5")
    ahead = {q.rsplit("step=", 1)[-1]: h for q, h in asked if q.startswith(NVG.split("?", 1)[1] + "&step=")}
    assert {"4", "6"} <= set(ahead), sorted(ahead)            # both neighbours, before any key
    for h in (ahead["4"], ahead["6"]):
        assert h["hx-request"] == "true" and h["hx-request-type"] == "partial" and h["hx-target"] == "div#stage"
        assert "hx-source" in h and "hx-current-url" in h                       # htmx's own request
    before = len(asked)
    page.page.keyboard.press("ArrowRight")
    expect(page.page.locator("#stage .counter .now")).to_have_text("6")
    assert page.path() == NVG + "&step=6"
    assert not [q for q, _ in asked[before:] if q.endswith("&step=6")]      # step 6 came from the fetch ahead
    page.page.evaluate("window.s2viz.step(9)")                               # the player's API
    expect(page.page.locator("#stage .counter .now")).to_have_text("9")
    assert page.path() == NVG + "&step=9"
    nine = [h for q, h in asked if q.endswith("&step=9")]
    assert nine and nine[-1]["hx-target"] == "div#stage"
    page.page.evaluate("window.s2viz.prev()")
    expect(page.page.locator("#stage .counter .now")).to_have_text("8")
    page.page.reload()                                                       # the replaced URL is a whole page
    expect(page.page.locator("#stage .counter .now")).to_have_text("8")


def test_the_key_step_link_opens_the_step_that_tells_the_story(page):
    from app.present.stage import story_step
    from app.sim import MODELS
    url = NVG.replace("v6.17", "v6.14")
    sc = parse_query(url.split("?", 1)[1]).scenario
    story = story_step(simulate("v6.14", sc), [simulate(m, sc) for m in MODELS if m != "v6.14"])
    page.goto(url + "&step=2")
    page.page.click("#stage .story")
    expect(page.page.locator("#stage .counter .now")).to_have_text(str(story))
    page.wait_path(url + f"&step={story}")
    assert page.page.evaluate("document.activeElement.dataset.step") == "story"
