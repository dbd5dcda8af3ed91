"""Every surface says what a verdict means: the hazard leads the verdict box (never the green tick),
the step that causes it is marked, and /all/, compare, the maps, the link preview and presenter
mode carry it; the guest's side and the deciding step are one click away; host events are phases."""
import re
from html import unescape

import pytest

from app import create_app
from app.present import behaviour

V3_OOPS = "/patch-v3/?vma=pfnmap,io,shared,maywrite&mem=dev&host=fwb&f=40000000x"
UDMABUF = "vma=pfnmap,shared,maywrite&mem=sg&pg=2m&f=40000000r,40001000r"
COW = "/patch-v3/?vma=pfnmap,io,maywrite&mt=ngnrne&mem=dev&f=40000000r"


@pytest.fixture(scope="module")
def client():
    return create_app({"TESTING": True}).test_client()


def page(client, url: str) -> str:
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    return r.data.decode()


def verdict_box(html: str) -> str:
    return html[html.index('data-testid="verdict-box"'):html.index('<div class="picture">')]


def test_the_v3_host_oops_leads_the_verdict_box_and_never_shows_the_tick(client):
    box = verdict_box(page(client, V3_OOPS))
    assert 'class="verdict-box decided hazard"' in page(client, V3_OOPS)
    assert "Host hazard: Host oops." in box and "__invalidate_icache_guest_page" in box
    assert "✔" not in box and "Mapped Normal" in box
    assert "v4 of the series" in box                                  # fixed_by


def test_the_step_that_causes_the_hazard_is_marked_in_the_step_list_and_at_the_step(client):
    html = page(client, V3_OOPS)
    marked = re.findall(r'id="step-(\d+)"><a[^>]*><span class="n">\d+</span> <span class="hz-mark"', html)
    assert len(marked) == 1
    at = page(client, V3_OOPS + f"&step={marked[0]}")
    assert 'data-testid="hazard-step"' in at and "This step causes a host hazard: Host oops." in at


def test_the_verdict_says_what_the_guest_then_does_and_links_the_deciding_step(client):
    html = page(client, "/v6.14/?vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r.ua")
    box = verdict_box(html)
    assert 'data-testid="guest-then"' in box and "stage-2 Alignment fault" in re.sub(r"<[^>]+>", "", box)
    link = re.search(r'href="([^"]*step=(\d+))" data-step="\d+" data-testid="decided-by"', box)
    assert link is not None
    decided = page(client, unescape(link.group(1)))
    assert "kvm_is_device_pfn()" in decided[decided.index('class="step-now"'):]


def test_the_udmabuf_over_mapping_and_the_foreign_read_after_it_are_hazards(client):
    html = page(client, "/v6.17/?" + UDMABUF)
    assert "Host hazard: Foreign host memory." in verdict_box(html)
    assert "⚠ Foreign host memory" in html                              # both faults' phase outcomes
    assert "Host hazard" not in verdict_box(page(client, "/v7.3/?" + UDMABUF))


def test_the_v3_cow_refusal_shows_the_leaked_lock_not_a_plain_errno(client):
    box = verdict_box(page(client, COW))
    assert "Host hazard: Lock leaked." in box and "-EINVAL" in box


def test_every_model_table_marks_the_hazard_in_its_own_cells(client):
    html = page(client, "/all/?vma=pfnmap,io,shared,maywrite&mem=dev&host=fwb&f=40000000x")
    cells = re.findall(r'<td class="(hazard|ok|bad)">', html)
    assert cells.count("hazard") >= 1 and "⚠ Host oops" in html


def test_compare_flags_what_differs_and_lists_every_leaf_with_whose_memory_it_maps(client):
    html = page(client, "/v6.17..v7.3/?" + UDMABUF)
    assert 'data-testid="differs"' in html and "host hazard" in html
    leaves = html[html.index('data-testid="leaves-diff"'):]
    assert "maps host memory that is not the VMA" in leaves and "maps the VMA&#39;s own memory" in leaves


def test_compare_pairs_a_decision_the_refactor_moved_instead_of_listing_it_for_one_kernel(client):
    text = client.get("/text/v6.17..v7.1/?f=40000000r").data.decode()
    assert "only v7.1" not in text and "only v6.17" not in text
    html = page(client, "/v6.17..v7.1/?f=40000000r")
    assert "Both kernels decide the same at every step." in html and 'class="same moved"' in html


def test_the_behaviour_map_has_a_hazard_category_of_its_own():
    grid = behaviour.grid("v6.14")
    cats = {c["cat"] for row in grid["rows"] for c in row["cells"]}
    assert "host hazard" in cats and behaviour.CODES["host hazard"] == "⚠"
    usemem = next(r for r in grid["rows"] if r["id"] == "nvgrace-usemem")
    assert all(c["cat"] == "host hazard" and "Stale data" in c["text"] for c in usemem["cells"]
               if "exec" not in c["column"])


def test_the_link_preview_and_presenter_mode_lead_with_the_hazard(client):
    html = page(client, V3_OOPS)
    title = re.search(r'<meta property="og:title" content="([^"]*)"', html).group(1)
    assert title.startswith("patch-v3: HOST HAZARD (host oops)")
    total = re.search(r'data-total="(\d+)"', html).group(1)
    deck = page(client, "/present" + V3_OOPS + f"&step={total}")
    assert "Host hazard: Host oops." in deck


def test_host_events_are_phases_of_the_page_with_their_own_verdict(client):
    url = "/v6.17/?f=40000000r,unmap:40000000,40000000r"
    html = page(client, url)
    assert "Host event 1: unmap 0x40000000 +4K" in html
    total = int(re.search(r'data-total="(\d+)"', html).group(1))
    api = client.get("/api/v1" + url).get_json()
    assert total == sum(len(f["steps"]) for f in api["faults"]) + sum(len(e["steps"]) for e in api["events"]) + \
        len(api["memslot"]["steps"]) + len(api["capability"]["steps"])
    assert "KVM_RUN error" in html or "-EFAULT" in html                 # the fault after the unmap finds no VMA


@pytest.mark.parametrize("url", [V3_OOPS, "/v6.14/?vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r.ua",
                                 "/v6.17/?" + UDMABUF])
def test_the_verdict_box_shows_a_hazard_and_the_guests_side_only_from_the_step_that_reaches_them(client, url):
    from app.permalink import parse_url
    from app.present import presenters
    from app.sim import simulate
    mid, parsed = parse_url(url)
    tr = simulate(mid, parsed.scenario)
    starts = presenters.phase_starts(tr)
    hazard_at = min(starts[("fault", i)] + at for i, f in enumerate(tr.faults) for _, at in f.hazards)
    rerun_at = [starts[("fault", i)] + j for i, f in enumerate(tr.faults) for j, s in enumerate(f.steps)
                if s.id == "guest.result"]
    seen_hazard = seen_rerun = False
    total = len(tr.all_steps())
    for n in range(1, total + 1):
        box = verdict_box(page(client, f"{url}&step={n}" if n < total else url))
        if 'data-testid="hazard"' in box:
            assert n >= hazard_at, (n, hazard_at)
            seen_hazard = True
        if 'data-testid="guest-then"' in box:
            assert any(r <= n for r in rerun_at), n
            seen_rerun = True
    assert seen_hazard and seen_rerun
