"""Compare, copy for mail, presenter mode and a lesson, in headless Chromium."""

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


def answer_part(p, letters):
    """Tick one answer per question of the part on screen (several letters: checkboxes), then lock."""
    for fieldset, given in zip(p.locator("form.predict fieldset").all(), letters, strict=True):
        for letter in given:
            fieldset.locator(f"input[value={letter}]").check()
    p.get_by_role("button", name="Lock my answers").click()
    p.wait_for_load_state("networkidle")


def test_a_lesson_locks_its_answers_keeps_its_score_and_gives_a_result_code_that_verifies(page):
    """The primer, played in a browser: a wrong part stays wrong after Back, the reveal opens the trace
    at the deciding step, the trace links back, the site's own links keep the score, and the result
    code of the finished lesson checks out on the teacher's page."""
    from app.teach import lessons
    lesson = lessons.by_id("first-fault")
    keys = [lessons.key(part) for part in lesson.parts]
    p = page.page
    page.goto("/lessons/first-fault/")
    expect(p.locator("[data-testid=reveal]")).to_have_count(0)
    expect(p.locator("[data-testid=change]")).to_have_count(0)          # the first part changes nothing
    answer_part(p, ["B", "A"])                       # wrong: the first read takes a translation fault
    expect(p.locator("[data-testid=locked]")).to_contain_text("not all right")
    expect(p.locator("[data-testid=score]")).to_have_text("0 / 1")
    expect(p.locator("[data-testid=key]").first).to_have_text("A")
    expect(p.locator("[data-testid=why]").first).to_contain_text("translation fault")
    page.shot("lesson-answered")
    p.go_back()                                      # Back to the form: it opens on the newest state instead
    p.wait_for_load_state("networkidle")
    expect(p.locator("#part-h")).to_have_text("Part 2 of 5")
    expect(p.locator(".part-nav li").first).to_contain_text("wrong")
    page.goto("/lessons/first-fault/lock/?p=1&q1=A&q2=A")      # the old form sent again, right this time
    expect(p.locator("[data-testid=score]")).to_have_text("0 / 1")
    p.get_by_role("link", name="Part 1", exact=True).click()
    p.wait_for_load_state("networkidle")
    expect(p.locator("[data-testid=locked]")).to_contain_text("not all right")
    reveal = p.locator("[data-testid=reveal-link]")
    href = reveal.get_attribute("href")
    assert href.endswith("&lesson=first-fault.1") and "step=" in href
    reveal.click()
    p.wait_for_load_state("networkidle")
    expect(p.locator("#stage .step-now h2")).to_contain_text("user_mem_abort")   # where it was decided
    p.locator("[data-testid=lesson-back]").click()                              # and back to the part
    p.wait_for_load_state("networkidle")
    expect(p.locator("[data-testid=score]")).to_have_text("0 / 1")
    p.locator("a[rel=next]").click()
    for n in range(2, len(lesson.parts) + 1):
        expect(p.locator("[data-testid=change]")).to_contain_text("Changed from the part before")
        answer_part(p, keys[n - 1])
        page.goto("/lessons/")                       # the site's own lessons link keeps the score
        expect(p.locator("[data-testid=progress]").first).to_contain_text(f"{n} of 5 parts answered, {n - 1} right"
                                                                          if n < 5 else "done: 4 of 5 parts right")
        p.get_by_role("link", name=lesson.title).click()
        p.wait_for_load_state("networkidle")
    code = p.locator("[data-testid=result-code]").inner_text().replace("\u200b", "")
    assert code.startswith("first-fault~")
    page.shot("lesson-done")
    page.goto("/lessons/verify/")
    p.locator("#codes").fill(code + "\n" + code.replace("~B.A-", "~A.A-"))
    p.get_by_role("button", name="Check").click()
    p.wait_for_load_state("networkidle")
    expect(p.locator("[data-testid=valid]")).to_have_count(1)
    expect(p.locator("[data-testid=verified-score]")).to_contain_text("4 / 5 parts")
    expect(p.locator("[data-testid=invalid]")).to_contain_text("was not issued by this server, or was changed since")
    page.shot("lesson-verify")


def test_behaviour_map_draws_a_heatmap_whose_cells_open_their_permalink(page):
    page.goto("/map/v6.14..v6.17/")
    expect(page.page.locator(".behaviour .main-svg").first).to_be_visible()
    page.page.locator("td.changed a").first.click()
    page.page.wait_for_load_state("networkidle")
    assert page.path().startswith("/v6.14..v6.17/?")
    expect(page.page.locator("[data-testid=divergence]")).to_be_visible()
    page.shot("behaviour-map-after-click")
