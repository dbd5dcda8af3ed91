"""The page through Flask's test client: page or fragment, redirects, errors, presets, steps."""
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import create_app
from app.sim import MODELS
from app.sim.presets import PRESETS

NVG = "/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r"
PARTIAL = {"HX-Request": "true", "HX-Request-Type": "partial", "HX-Target": "#main"}


@pytest.fixture
def client():
    return create_app({"TESTING": True}).test_client()


def rendered(client, url, **headers):
    """(response, names of the templates rendered)"""
    from flask import template_rendered
    names = []

    def record(sender, template, context, **extra):
        names.append(template.name)

    with template_rendered.connected_to(record, client.application):
        r = client.get(url, headers=headers)
    return r, names


def test_plain_request_gets_the_whole_page(client):
    r, names = rendered(client, NVG)
    assert r.status_code == 200 and names[0] == "page.html"
    assert b"<html" in r.data and b"Mapped Normal, RWX, 4K" in r.data
    assert {"HX-Request", "HX-Request-Type", "HX-History-Restore-Request"} <= set(r.vary)


def test_htmx_partial_request_gets_the_fragment(client):
    r, names = rendered(client, NVG, **PARTIAL)
    assert names[0] == "_main.html" and b"<html" not in r.data
    assert b"Mapped Normal" in r.data
    assert "HX-Request" in r.vary


def test_history_restore_gets_the_whole_page(client):
    r, names = rendered(client, NVG, **{"HX-Request": "true", "HX-Request-Type": "full",
                                        "HX-History-Restore-Request": "true"})
    assert names[0] == "page.html"


def test_root_redirects_to_a_permalink(client):
    r = client.get("/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/v6.17/?")
    assert client.get(r.headers["Location"]).status_code == 200


def test_latest_redirects_to_the_newest_model(client):
    r = client.get("/latest/?f=40000000r")
    assert r.status_code == 302 and r.headers["Location"] == "/v7.3/?f=40000000r"


@pytest.mark.parametrize("url,location", [
    ("/v6.17/?mem=dev&vma=io,pfnmap", "/v6.17/?vma=pfnmap,io&mem=dev"),
    ("/v6.17/?vma=&vma=pfnmap&vma=io&host=&host=fwb&mt=normal&ipa=40", "/v6.17/?vma=pfnmap,io&host=fwb"),
    ("/v6.17/?vma=&host=&host=fwb&host=dic&f=", "/v6.17/?vma="),
    ("/v6.17/?g=16k&pg=2m", "/v6.17/?g=16k"),
    ("/v6.17/?f=40000000r&fire=1&fire_ipa=0x8000_0000&fire_kind=w&fire_mod=noisv",
     "/v6.17/?f=40000000r,80000000w.noisv"),
    ("/v6.17/?f=40000000r&fire_ipa=90000000&fire_kind=w", "/v6.17/?f=40000000r"),
    ("/v6.17/?f=40000000r&clear=1", "/v6.17/"),
    ("/v6.17/?f=40000000r&step=99999&fire=1&fire_ipa=40001000", "/v6.17/?f=40000000r,40001000r"),
])
def test_form_submissions_redirect_to_the_canonical_url(client, url, location):
    r = client.get(url)
    assert r.status_code == 301 and r.headers["Location"] == location


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_preset_renders_on_every_model(client, preset, model):
    r = client.get(f"/{model}/?preset={preset}&f=40000000r,40001000w,40002000x")
    assert r.status_code == 301
    page = client.get(r.headers["Location"])
    assert page.status_code == 200
    assert b'data-testid="verdict"' in page.data


@pytest.mark.parametrize("url,message", [
    ("/v6.17/?mt=cached", b"is not a memory type"),
    ("/v6.17/?nope=1", b"Unknown key"),
    ("/v6.17/?f=40000000r&step=0", b"step must be"),
    ("/v6.17/?f=40000000r&step=500", b"is past the last step"),
    ("/v6.17/?f=40000000r&fire=1&fire_ipa=zz", b"is not &lt;hex IPA&gt;"),
    ("/v6.17/?preset=nothing", b"Unknown preset"),
])
def test_bad_scenarios_get_a_400_page_with_the_nearest_valid_one(client, url, message):
    r = client.get(url)
    assert r.status_code == 400 and message in r.data
    nearest = re.search(rb'The nearest valid scenario: <a href="([^"]+)"', r.data).group(1).decode()
    assert client.get(nearest).status_code == 200


def test_an_unknown_model_is_404_with_the_sentence_and_a_nearest_scenario(client):
    r = client.get("/v9.0/?f=40000000r")
    assert r.status_code == 404 and b"Unknown model" in r.data
    nearest = re.search(rb'The nearest valid scenario: <a href="([^"]+)"', r.data).group(1).decode()
    assert client.get(nearest).status_code == 200


def test_an_htmx_request_for_an_unknown_model_gets_an_error_fragment(client):
    r, names = rendered(client, "/v6.99/?f=40000000r", **PARTIAL)
    assert r.status_code == 404 and names == ["_error.html"]


def test_step_selects_the_current_step(client):
    r = client.get("/v6.17/?f=40000000r&step=3")
    assert r.status_code == 200
    assert re.search(rb'class="step current" id="step-3"', r.data)
    assert b'data-current="3"' in r.data


def test_the_last_step_is_the_default_and_never_written(client):
    r = client.get("/v6.17/?f=40000000r")
    total = int(re.search(rb'data-total="(\d+)"', r.data).group(1))
    assert client.get(f"/v6.17/?f=40000000r&step={total}").headers["Location"] == "/v6.17/?f=40000000r"


def step_number(model: str, query: str, sid: str) -> int:
    """The 1-based trace position of the first step with this id."""
    from app.permalink import parse_query
    from app.sim import simulate
    ids = [s.id for _, s in simulate(model, parse_query(query).scenario).all_steps()]
    return ids.index(sid) + 1


def test_steps_link_to_their_source_lines_at_the_model_tag(client):
    q = "f=40000000r"
    r = client.get(f"/v7.1/?{q}&step={step_number('v7.1', q, 'uma.classify')}")
    assert b"https://elixir.bootlin.com/linux/v7.1.3/source/arch/arm64/kvm/mmu.c#L" in r.data
    q = "vma=pfnmap,io&mem=dev&f=40000000r"
    r = client.get(f"/patch-v3/?{q}&step={step_number('patch-v3', q, 'uma.v3_cow')}")
    # The patch's own hunks link to the patch on lore; untouched code to v6.14's own lines.
    assert b'<a class="src" href="https://lore.kernel.org/r/20250310103008.3471-2-ankita@nvidia.com"' in r.data
    assert b"mmu.c:1613\xe2\x80\x931624" in r.data          # the step shows the patched file's lines
    n = step_number("patch-v3", q, "uma.vma_lookup")
    v614 = client.get(f"/v6.14/?{q}&step={n}").data
    link = re.search(rb'https://elixir.bootlin.com/linux/v6.14/source/arch/arm64/kvm/mmu.c#L1516-L1522', v614)
    assert link and link.group(0) in client.get(f"/patch-v3/?{q}&step={n}").data   # the same v6.14 lines


def test_figure_endpoint_returns_plotly_json(client):
    r = client.get("/figure/v6.17/?f=40000000r,80000000r")
    assert r.status_code == 200
    fig = r.json
    assert {"data", "layout"} <= set(fig)
    assert any(t.get("name") == "Normal" for t in fig["data"])
    assert client.get("/figure/v6.17/?mt=bad").status_code == 400


def test_page_does_not_load_plotly_up_front(client):
    r = client.get(NVG)
    assert b"plotly.min.js" not in r.data


QUERY = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789=&,._x%-+;/ ", max_size=80)


@settings(max_examples=200, deadline=None)
@given(q=QUERY, name=st.sampled_from(["v6.14", "patch-v3", "v6.17", "v7.1", "latest", "x"]),
       hx=st.booleans())
def test_fuzzed_page_queries_never_5xx(q, name, hx):
    client = create_app({"TESTING": True}).test_client()
    r = client.get(f"/{name}/?{q}", headers=PARTIAL if hx else {})
    assert r.status_code < 500
    r = client.get(f"/figure/{name}/?{q}")
    assert r.status_code < 500


def test_a_bad_field_in_an_htmx_request_keeps_the_controls_and_the_address(client):
    r, names = rendered(client, "/v6.17/?vm=mte&host=fwb,dic&f=40000000r", **PARTIAL)
    assert r.status_code == 400 and names[0] == "_main.html"
    assert r.headers["HX-Push-Url"] == "false"
    assert b'data-testid="form-error"' in r.data and b"vm=mte needs host=mte" in r.data
    assert b'id="controls"' in r.data


def test_the_table_grows_as_the_walk_allocates_it(client):
    q = "f=40000000r"
    alloc = step_number("v6.17", q, "pgt.walk_leaf")
    before = client.get(f"/v6.17/?{q}&step={alloc - 1}").data
    assert b"L2 table 0x40000000" not in before and b"[0x1] invalid" in before
    at = client.get(f"/v6.17/?{q}&step={alloc}").data
    assert b"L2 table 0x40000000" in at and b"[0x1] table" in at
    end = client.get(f"/v6.17/?{q}").data
    assert b"L3 table 0x40000000" in end and b"[0x0] leaf" in end


def test_nothing_on_the_page_shows_a_result_before_the_step_that_decides_it(client):
    q = "vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r"
    write = step_number("v6.14", q, "pgt.init_leaf")
    classify = step_number("v6.14", q, "uma.classify")
    for n in range(1, write):
        html = client.get(f"/v6.14/?{q}&step={n}").data
        assert b"Mapped Device" not in html and b"Mapped Normal" not in html, n
        assert b"0x00400008400007c7" not in html, n                  # the descriptor is not written yet
        assert (b"<strong>Device-nGnRE</strong>" in html) == (n >= classify), n
    html = client.get(f"/v6.14/?{q}&step={write}").data
    assert b"Mapped Device-nGnRE, RW-, 4K" in html and b"0x00400008400007c7" in html


def test_stepping_gets_the_picture_of_one_step_alone(client):
    q = "vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r"
    r, names = rendered(client, f"/v6.14/?{q}&step=7", **{**PARTIAL, "HX-Target": "div#stage"})   # htmx's own value
    assert r.status_code == 200 and names[0] == "_stage.html"
    assert r.data.startswith(b'\n<div id="stage"') or r.data.lstrip().startswith(b'<div id="stage"')
    assert b'id="controls"' not in r.data and "HX-Target" in r.vary
    assert b'data-current="7"' in r.data and b'data-prev="6"' in r.data and b'data-next="8"' in r.data
    # Each step link is a plain link to its own address that htmx boosts; the stage gives them their
    # target, swap and history.
    prev = f"/v6.14/?{q}&step=6".replace("&", "&amp;").encode()
    assert b'<a class="btn" href="' + prev + b'" data-step="prev"' in r.data
    assert b'hx-target:inherited="#stage" hx-swap:inherited="outerHTML" hx-replace-url:inherited="true"' in r.data
    assert r.data.count(b'hx-boost:inherited="true"') == 2                   # the player and the step list
    page, names = rendered(client, f"/v6.14/?{q}&step=7")
    assert names[0] == "page.html" and r.data.strip() in page.data          # the page holds the same stage


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_the_story_step_from_the_other_models_outcomes_is_the_one_their_traces_give(preset):
    from app.permalink import parse_query
    from app.present.stage import story_step
    from app.sim import simulate
    for host in ("", "host=&", "host=fwb&"):
        sc = PRESETS[preset].apply(parse_query(host + "f=40000000r,40000000w,40001000x,80000000r").scenario)
        for mid in MODELS:
            others = [m for m in MODELS if m != mid]
            tr = simulate(mid, sc)
            assert story_step(tr, [simulate(m, sc, trace=False) for m in others]) == \
                story_step(tr, [simulate(m, sc) for m in others]), (preset, host, mid)


def test_the_landing_page_and_presets_open_on_the_step_that_tells_the_story(client):
    from app.present.stage import reveal_steps
    from app.sim import simulate
    from app.sim.presets import PRESETS
    loc = client.get("/").headers["Location"]
    sc_q = loc.split("?", 1)[1].rsplit("&step=", 1)
    tr = simulate("v6.17", __import__("app.permalink", fromlist=["parse_query"]).parse_query(sc_q[0]).scenario)
    assert int(sc_q[1]) == reveal_steps(tr)[0]       # fault 1 is where v6.14 and v6.17 part ways
    html = client.get(loc).data
    assert b"Mapped Normal, RWX, 4K" in html and b"btn jump" not in html
    r = client.get("/v6.14/?preset=nvgrace-usemem&f=40000000r")
    assert r.status_code == 301 and "&step=" in r.headers["Location"]
    assert b"Mapped Device-nGnRE" in client.get(r.headers["Location"]).data
    assert PRESETS


def test_a_64_fault_permalink_page_stays_small(client):
    faults = ",".join(f"{0x4000_0000 + i * 0x1000:x}{'rwx'[i % 3]}" for i in range(64))
    r = client.get(f"/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&f={faults}",
                   headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200 and len(r.data) <= 400_000, len(r.data)


def test_permalinks_carry_an_etag_and_answer_304(client):
    r = client.get(NVG, headers={"Accept-Encoding": "identity"})
    assert r.headers["Cache-Control"].startswith("public, max-age=")
    etag = r.headers["ETag"]
    again = client.get(NVG, headers={"If-None-Match": etag, "Accept-Encoding": "identity"})
    assert again.status_code == 304 and again.data == b""
    assert client.get(NVG, headers={"Accept-Encoding": "identity"}).headers["ETag"] == etag


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_html_and_json_are_compressed(client, encoding):
    import gzip

    import brotli
    for url in (NVG, "/api/v1/v6.17/?f=40000000r"):
        r = client.get(url, headers={"Accept-Encoding": encoding})
        assert r.headers["Content-Encoding"] == encoding and "Accept-Encoding" in r.vary
        raw = brotli.decompress(r.data) if encoding == "br" else gzip.decompress(r.data)
        plain = client.get(url, headers={"Accept-Encoding": "identity"}).data
        assert raw == plain and len(r.data) * 2 < len(plain)


def test_security_headers_everywhere(client):
    for url in (NVG, "/api/v1/v6.17/", "/healthz", "/v6.17/?mt=bad", "/nowhere"):
        h = client.get(url).headers
        csp = h["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
        assert h["X-Content-Type-Options"] == "nosniff" and h["Referrer-Policy"] == "no-referrer"
        assert "Permissions-Policy" in h


def test_fingerprinted_static_files_are_immutable_and_precompressed(client):
    from app.web.serving.assets import manifest
    if not manifest():
        pytest.fail("static/dist is not built: `make test` runs `python -m app.web.serving.assets` first")
    r = client.get(NVG)
    css = re.search(rb'href="(/static/dist/css/app\.[0-9a-f]{12}\.css)"', r.data).group(1).decode()
    with client.get(css, headers={"Accept-Encoding": "br"}) as s:
        assert s.status_code == 200 and "immutable" in s.headers["Cache-Control"]
        assert s.headers["Content-Encoding"] == "br"


def test_an_oversized_query_is_413_and_too_many_faults_400(client):
    r = client.get("/v6.17/?f=" + "4" * 5000)
    assert r.status_code == 413 and b"at most 4096 characters" in r.data
    assert client.get("/api/v1/v6.17/?f=" + "4" * 5000).json["error"].startswith("The request is too large")
    r = client.get("/api/v1/v6.17/?f=" + ",".join(["40000000r"] * 65))
    assert r.status_code == 400 and "At most 64 faults" in r.json["error"]


def test_faults_after_a_refused_memslot_say_why_they_never_ran(client):
    html = client.get("/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&host=dic&f=40000000r,40003000r").data
    assert b"Memslot refused: KVM_SET_USER_MEMORY_REGION fails with -EINVAL" in html
    assert html.count(b"not run: registration failed (-EINVAL), so there is no memslot") == 2
    assert b"outside the VM&#39;s IPA space" not in html and b"outside the VM's IPA space" not in html


def test_the_what_if_names_the_other_fwb_setting(client):
    q = "f=40000000r"
    n = step_number("v6.17", "host=dic&" + q, "uma.classify")
    no_fwb = client.get(f"/v6.17/?host=dic&{q}&step={n}").data.split(b"</head>", 1)[1]   # the page, not its preview
    assert b"with FWB the same mapping would be MemAttr 0x6" in no_fwb and b"without FWB" not in no_fwb
    fwb = client.get(f"/v6.17/?{q}&step={n}").data
    assert b"without FWB the same mapping would be MemAttr 0xf" in fwb


def test_ticking_the_guest_memfd_slot_in_the_form_maps_the_guest_memfd_but_a_link_must_say_so(client):
    form = "/v7.3/?vma=&vma=maywrite&mem=ram&host=&host=fwb&host=dic&slot=&slot=gmem&f=40000000r"
    r = client.get(form)
    assert r.status_code == 301 and r.headers["Location"] == "/v7.3/?vma=shared,maywrite&slot=gmem&f=40000000r"
    r = client.get("/v7.3/?slot=gmem&f=40000000r")
    assert r.status_code == 400 and b"slot=gmem maps the guest_memfd itself" in r.data


def test_ticking_an_mte_host_in_the_form_marks_ram_vmas_mte_allowed_as_the_kernel_does(client):
    form = "/v7.1/?vma=&vma=maywrite&mem=ram&host=&host=fwb&host=dic&host=mte&host_was=dic,fwb&vm=&vm=mte&f=40000000r"
    r = client.get(form)
    assert r.headers["Location"] == "/v7.1/?vma=maywrite,mteok&host=fwb,dic,mte&vm=mte&f=40000000r"
    assert b"Mapped Normal" in client.get(r.headers["Location"]).data
    pfnmap = form.replace("vma=maywrite", "vma=pfnmap&vma=io&vma=shared&vma=maywrite").replace("&vm=mte", "")
    assert "mteok" not in client.get(pfnmap).headers["Location"]        # driver mappings never get it
    off = "/v7.1/?vma=&vma=maywrite&vma=mteok&host=&host=fwb&host=dic&host_was=dic,fwb,mte&f=40000000r"
    assert client.get(off).headers["Location"] == "/v7.1/?f=40000000r"
    # A permalink says what it means: an MTE VM with a VMA lacking VM_MTE_ALLOWED is still refused.
    assert b"Memslot refused" in client.get("/v7.1/?host=fwb,dic,mte&vm=mte&f=40000000r").data


def test_the_key_step_link_asks_the_server_for_the_story_step(client):
    from app.permalink import parse_query
    from app.present.stage import story_step
    from app.sim import simulate
    q = "vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r,40001000w"
    sc = parse_query(q).scenario
    story = story_step(simulate("v6.14", sc), [simulate(m, sc) for m in MODELS if m != "v6.14"])
    html = client.get(f"/v6.14/?{q}&step=2").data.decode()
    assert f'<a class="btn story" href="/v6.14/?{q}&story=1"'.replace("&", "&amp;") in html
    r = client.get(f"/v6.14/?{q}&story=1")
    assert (r.status_code, r.headers["Location"]) == (301, f"/v6.14/?{q}&step={story}")
    for prefix, tail in (("/embed", ""), ("/present", "&mode=all")):
        r = client.get(f"{prefix}/v6.14/?{q}&story=1{tail}")
        assert (r.status_code, r.headers["Location"]) == (301, f"{prefix}/v6.14/?{q}&step={story}{tail}")
    assert client.get(f"/api/v1/v6.14/?{q}&story=1").status_code == 400       # a form key, never a permalink's


def test_no_permalink_view_looks_for_the_story_step(client, monkeypatch):
    from app.web import traces

    def refuse(*_):
        raise AssertionError("the story step was computed")
    monkeypatch.setattr(traces, "story", refuse)
    q = "vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r,40001000w"
    for url, headers in ((f"/v6.17/?{q}", {}), (f"/v6.17/?{q}&step=3", {}), (f"/v6.17/?{q}&step=4", PARTIAL),
                         (f"/v6.17/?{q}&step=5", {**PARTIAL, "HX-Target": "div#stage"}), (f"/embed/v6.17/?{q}", {}),
                         (f"/present/v6.17/?{q}", {}), (f"/api/v1/v6.17/?{q}", {}), (f"/text/v6.17/?{q}", {})):
        assert client.get(url, headers=headers).status_code == 200, url
