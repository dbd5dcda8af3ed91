"""Slide-ready pictures: the step's path and stage-2 table as standalone SVG files."""
import re
import xml.etree.ElementTree as ET

import pytest

from app import create_app

NVG = "vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def client():
    return create_app({"TESTING": True}).test_client()


def test_the_page_offers_its_four_pictures_of_its_step_and_they_are_standalone_svg(client):
    page = client.get(f"/v6.17/?{NVG}&step=20").data.decode()
    links = [u.replace("&amp;", "&") for u in re.findall(r'href="(/svg/[^"]+)" download', page)]
    assert links == [f"/svg/v6.17/?{NVG}&step=20&fig={f}" for f in ("path", "tree", "desc", "memtype")]
    for link in links:
        r = client.get(link)
        assert r.status_code == 200 and r.mimetype == "image/svg+xml"
        assert r.headers["Content-Disposition"].startswith('attachment; filename="s2viz-v6.17-step20-')
        assert "script-src" not in r.headers["Content-Security-Policy"]
        root = ET.fromstring(r.data)
        assert root.tag == f"{SVG}svg" and root.find(f"{SVG}style") is not None
        assert "background: #fff" in root.find(f"{SVG}style").text and "var(" not in root.find(f"{SVG}style").text


def test_the_picture_is_the_one_at_its_step(client):
    early = client.get(f"/svg/v6.17/?{NVG}&step=2&fig=tree").data.decode()
    last = client.get(f"/svg/v6.17/?{NVG}&fig=tree").data.decode()
    assert "] leaf" not in early and "] leaf" in last
    lit = client.get(f"/svg/v6.17/?{NVG}&step=20&fig=path").data.decode()
    assert lit.count('class="node lit') == 1


@pytest.mark.parametrize("url,status", [
    (f"/svg/v6.17/?{NVG}&fig=picture", 400), (f"/svg/v6.17/?{NVG}&fig=descriptor", 400),
    (f"/svg/v6.17/?{NVG}", 400), (f"/svg/v6.17/?{NVG}&step=999&fig=path", 400),
    (f"/svg/v9/?{NVG}&fig=path", 404), (f"/svg/v6.17/?fig=path&{NVG}", 301), (f"/svg/latest/?{NVG}&fig=tree", 302),
])
def test_bad_or_non_canonical_requests(client, url, status):
    assert client.get(url).status_code == status


def texts(svg: bytes) -> list[str]:
    return ["".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG}text")]


LONG = "vma=pfnmap,io,shared,maywrite,uc,mteok&mt=ngnrne&mem=dev&host=fwb,dic,mte&f=40000000r"


@pytest.mark.parametrize("query", [f"{NVG}&step=20", NVG, LONG, "ipa=48&f=80000000w,80001000x"])
def test_no_value_is_cut_in_any_export(client, query):
    """Every value the page shows in the picture's text (the path, the descriptor, the memory
    types) is whole in the SVG files, joined across the lines it wraps to."""
    from app.permalink import parse_url
    from app.present import presenters, stage
    from app.sim import simulate
    mid, parsed = parse_url("/v6.17/?" + query)
    tr = simulate(mid, parsed.scenario)
    steps = presenters.steps(tr)
    ctx = stage.context(mid, parsed.scenario, tr, steps, parsed.step or len(steps))
    svg = {f: client.get(f"/svg/v6.17/?{query}&fig={f}").data for f in ("path", "desc", "memtype")}
    path = "".join(texts(svg["path"]))
    for nd in ctx["path_wide"]["nodes"]:
        assert nd.value in path, nd.value                 # whole: "PFNMAP|IO|SHARED|MAYWRITE|ALLOW_ANY_UC"
        assert "…" not in path
    desc = texts(svg["desc"])
    for fd in ctx["desc"]["fields"]:
        if fd["name"] != "-":
            assert fd["name"] in desc and str(fd["shown"]) in desc, fd
    if ctx["desc"]["pte"]:
        assert any(ctx["desc"]["pte"] in t for t in desc)
    memtype = " ".join(texts(svg["memtype"]))
    for value in (ctx["mt"]["host"], ctx["mt"]["s2"], ctx["mt"]["effective"], *ctx["cmo_lines"]):
        if value:
            assert all(word in memtype for word in value.split()), value


def test_the_path_wraps_a_long_value_instead_of_cutting_it(client):
    svg = client.get(f"/svg/v6.17/?{LONG}&fig=path").data
    lines = texts(svg)
    assert "PFNMAP|IO|SHARED|" in lines and "ALLOW_ANY_UC|" in lines and "MTE_ALLOWED" in lines
