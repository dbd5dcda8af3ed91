"""Compare, every model, mail-ready text, embed and presenter mode, through the client (lessons:
test_lessons.py)."""
import re
from urllib.parse import urlsplit

import pytest

from app import create_app
from app.permalink import canonical_url, parse_url

NVG = "vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r"
COW = "vma=pfnmap,io,maywrite&mt=ngnrne&mem=dev&f=40000000r"


@pytest.fixture
def client():
    return create_app({"TESTING": True}).test_client()


def test_compare_marks_the_first_divergence_for_grace_hopper_memory(client):
    r = client.get(f"/v6.14..v6.17/?{NVG}")
    assert r.status_code == 200
    html = r.data.decode()
    first = re.search(r'<tr id="row-(\d+)" class="differs first">', html)
    assert first, "no first divergence marked"
    row = html[first.start():html.index("</tr>", first.start())]
    # They part at registration: only v6.17 looks at a PFNMAP VMA's memory type there.
    assert "(no such step)" in row and "kvm_arch_prepare_memory_region()" in row
    assert "Mapped Device-nGnRE, RW-, 4K" in html and "Mapped Normal, RWX, 4K" in html
    assert re.search(r'<tr class="field differs"><th>&nbsp;&nbsp;MemAttr</th><td><code>0001</code></td>'
                     r'<td><code>0110</code></td>', html)


def test_compare_answers_what_v6_17_does_differently_from_v3_for_a_cow_pfnmap(client):
    html = client.get(f"/patch-v3..v6.17/?{COW}").data.decode()
    assert "Rejected at fault time: KVM_RUN fails with -EINVAL" in html
    assert "Mapped Device-nGnRE, R--, 4K" in html
    assert "https://lore.kernel.org/r/20250310103008.3471-2-ankita@nvidia.com" in html


def test_same_model_twice_has_no_divergence(client):
    assert b"Both kernels decide the same at every step." in client.get(f"/v6.17..v6.17/?{NVG}").data


@pytest.mark.parametrize("url,status", [
    ("/v6.14..v9/?f=40000000r", 404), ("/v6.14..v6.17/?mt=cached", 400),
    ("/latest..v6.14/?f=40000000r", 302), ("/v6.14..v6.17/?f=0x40000000R", 301),
])
def test_compare_bad_input(client, url, status):
    assert client.get(url).status_code == status


def test_every_model_matrix_links_each_cell_to_its_permalink(client):
    query = NVG.replace("&f=", "&host=fwb&f=")
    html = client.get(f"/all/?{query}").data.decode()
    for mid in ("v6.12", "v6.14", "patch-v3", "v6.17", "v7.1", "v7.3"):
        assert f'href="/{mid}/?{query}"'.replace("&", "&amp;") in html
    assert html.count("refused -EINVAL") == 3         # v6.17, v7.1 and v7.3 refuse the memslot
    assert "memslot registration" in html


def test_text_is_mail_safe_and_round_trips_its_link():
    client = create_app({"TESTING": True, "PUBLIC_URL": "https://s2viz.example/"}).test_client()
    r = client.get("/text/patch-v3/?" + NVG.replace("&f=", "&host=&f="))
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/plain; charset=utf-8"
    text = r.data.decode("ascii")
    lines = text.splitlines()
    url = lines[-1]
    assert all(len(line) <= 72 and "\t" not in line for line in lines[:-1])
    assert url.startswith("https://s2viz.example/patch-v3/?") and " " not in url
    mid, parsed = parse_url(url)
    assert canonical_url(mid, parsed.scenario) == urlsplit(url).path + "?" + urlsplit(url).query
    assert "KVM_RUN fails -EINVAL" in text and "mmu.c:1755" in text


def test_text_bad_input_is_one_plain_sentence(client):
    r = client.get("/text/v6.17/?mt=cached")
    assert r.status_code == 400 and r.mimetype == "text/plain"
    assert r.data.decode().splitlines()[0].endswith(".")


def test_embed_may_be_framed_and_nothing_else_may(client):
    r = client.get(f"/embed/v6.17/?{NVG}")
    assert r.status_code == 200 and "frame-ancestors *" in r.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in r.headers
    assert ('href="/v6.17/?' + NVG.replace("&", "&amp;") + '"').encode() in r.data     # open full
    assert "frame-ancestors 'none'" in client.get(f"/v6.17/?{NVG}").headers["Content-Security-Policy"]


def test_presenter_mode_steps_through_the_key_steps_with_the_page_picture(client):
    from app.permalink import parse_query
    from app.present.presenters import steps
    from app.present.stage import key_steps
    from app.web.traces import trace
    tr = trace("v6.17", parse_query(NVG).scenario)
    keys = key_steps(tr, steps(tr))
    assert 5 <= len([k for k in keys if k > len(tr.memslot.steps) + len(tr.capability.steps)]) <= 10
    html = client.get(f"/present/v6.17/?{NVG}").data.decode()
    assert f'data-current="{keys[0]}"' in html and f'data-next="{keys[1]}"' in html
    # the picture as reflowing text, sized for the projector; no SVG to shrink
    assert 'class="path-html"' in html and 'class="tree-html"' in html and "<svg" not in html
    every = client.get(f"/present/v6.17/?{NVG}&mode=all").data.decode()
    assert 'data-current="1"' in every and 'data-next="2"' in every
    assert client.get(f"/present/v6.17/?mode=all&{NVG}").status_code == 301


def test_behaviour_map_covers_every_mapping_host_and_access(client):
    r = client.get("/map/v6.17/")
    assert r.status_code == 200
    html = r.data.decode()
    from app.sim.presets import PRESETS
    assert html.count("<tr><th>") == 1 + len(PRESETS)           # header + one row per mapping
    assert "FWB+DIC / read" in html and "none / exec" in html
    assert "KVM_SET_USER_MEMORY_REGION -EINVAL" in html        # nvgrace usemem without FWB and DIC
    assert '<script type="application/json" id="map-figure">' in html


def test_behaviour_diff_highlights_exactly_the_changed_cells(client):
    from app.present import behaviour
    d = behaviour.diff(behaviour.grid("v6.14"), behaviour.grid("v6.17"))
    changed = {(row["id"], c["column"]) for row in d["rows"] for c in row["cells"] if c["changed"]}
    assert ("nvgrace-usemem", "FWB+DIC / read") in changed and ("dax", "FWB+DIC / read") in changed
    assert not any(row_id == "anon" for row_id, _ in changed)
    html = client.get("/map/v6.14..v6.17/").data.decode()
    assert html.count('changed"><a href="/v6.14..v6.17/?') == len(changed)


@pytest.mark.parametrize("url,status", [("/map/v9/", 404), ("/map/v6.17/?f=1", 400), ("/map/v6.14..nope/", 404)])
def test_behaviour_map_bad_input(client, url, status):
    assert client.get(url).status_code == status


def test_the_comparison_pastes_into_a_plain_text_mail():
    client = create_app({"TESTING": True, "PUBLIC_URL": "https://s2viz.example"}).test_client()
    r = client.get(f"/text/patch-v3..v6.17/?{COW}")
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/plain; charset=utf-8"
    text = r.data.decode("ascii")
    lines = text.splitlines()
    assert all(len(line) <= 72 and "\t" not in line for line in lines[:-1])
    assert lines[-1] == f"https://s2viz.example/patch-v3..v6.17/?{COW}"
    # v6.17 first differs at registration (its cacheable-PFNMAP check runs, and passes)...
    assert "They first decide differently in the memslot phase:" in text
    # ...and the verdicts part at the v3 patch's COW check against v6.17's classification.
    assert ("patch-v3: KVM_RUN fails -EINVAL; HOST HAZARD: lock leak\n"
            "      decided by user_mem_abort() at arch/arm64/kvm/mmu.c:1613") in text
    assert "v6.17: map device_nGnRE R-- 0x1000\n      decided by user_mem_abort() at arch/arm64/kvm/mmu.c:1661" in text
    assert client.get("/text/patch-v3..v6.17/?f=0x40000000r").status_code == 301
    assert client.get("/text/patch-v3..v9/").status_code == 404


@pytest.mark.parametrize("url,status", [
    ("/all/?mt=cached", 400), ("/all/?f=0x40000000R", 301), ("/embed/v9/", 404), ("/embed/v6.17/?nope=1", 400),
    ("/present/latest/?f=40000000r", 302), ("/present/v6.17/?f=40000000r&step=0", 400), ("/text/v6.17/?ipa=99", 400),
])
def test_every_explain_route_handles_bad_input(client, url, status):
    assert client.get(url).status_code == status


def test_embed_and_present_refuse_a_step_past_the_last(client):
    for prefix in ("/embed", "/present"):
        r = client.get(f"{prefix}/v6.17/?f=40000000r&step=999")
        assert r.status_code == 400 and b"is past the last step" in r.data
