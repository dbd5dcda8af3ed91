"""Link previews: OpenGraph / Twitter meta on every permalink page, the verdict in the title,
and none of it visible before the step that decides it."""
import html as htmllib
import re

import pytest

from app import create_app
from app.permalink import parse_url
from app.present.presenters import overall_verdict
from app.sim import simulate

NVG = "vma=pfnmap,io,shared,maywrite&mem=dev"


@pytest.fixture
def client():
    return create_app({"TESTING": True, "PUBLIC_URL": "https://s2viz.example"}).test_client()


def og(page: str) -> dict:
    return {k: htmllib.unescape(v) for k, v in re.findall(r'<meta (?:property|name)="((?:og|twitter):\w+)" '
                                                       r'content="([^"]*)">', page)}


@pytest.mark.parametrize("link,title", [
    (f"/v6.17/?{NVG}&host=fwb&f=40000000r",
     "v6.17: -EINVAL at memslot registration - nvgrace-gpu usemem (Grace Hopper GPU memory), host without DIC"),
    (f"/patch-v3/?{NVG}&host=&f=40000000r",
     "patch-v3: -EINVAL from KVM_RUN at fault time - nvgrace-gpu usemem (Grace Hopper GPU memory), "
     "host without FWB or DIC"),
    (f"/v6.14/?{NVG}&f=40000000r",
     "v6.14: HOST HAZARD (stale data), mapped Device-nGnRE at stage 2 - nvgrace-gpu usemem (Grace Hopper GPU memory), "
     "host with FWB and DIC"),
    ("/v6.17/?vma=pfnmap,io,shared,maywrite,uc&mt=ngnrne&mem=dev&f=40000000x",
     "v6.17: an abort injected into the guest - vfio-pci BAR, host with FWB and DIC"),
])
def test_permalink_unfurls_with_its_verdict(client, link, title):
    meta = og(client.get(link).data.decode())
    assert meta["og:title"] == meta["twitter:title"] == title
    assert meta["og:url"] == "https://s2viz.example" + link
    assert meta["og:description"].startswith("Memory: ") and "Access: the guest " in meta["og:description"]
    assert meta["twitter:card"] == "summary_large_image"


def test_the_title_agrees_with_the_verdict_the_page_reveals(client):
    link = f"/v6.17/?{NVG}&host=dic&f=40000000r"
    mid, parsed = parse_url(link)
    verdict = overall_verdict(simulate(mid, parsed.scenario))
    assert "-EINVAL" in verdict.headline and "-EINVAL at memslot registration" in og(client.get(link).data.decode())[
        "og:title"]


def test_the_verdict_is_only_in_the_head_before_the_deciding_step(client):
    page = client.get(f"/v6.17/?{NVG}&host=fwb&f=40000000r&step=2").data.decode()
    head, body = page.split("</head>", 1)
    assert "at memslot registration" in head
    assert "at memslot registration" not in body and "Memslot refused" not in body
    # the step view shares its address without the step: the preview is the scenario's
    assert og(page)["og:url"].endswith(f"?{NVG}&host=fwb&f=40000000r")


@pytest.mark.parametrize("path,title", [
    ("/lessons/", "s2viz: lessons on how arm64 KVM handles a guest's stage-2 fault"),
    ("/lessons/grace-hopper/", "s2viz: Grace Hopper GPU memory, end to end: the host's view and the guest's"),
    ("/glossary/", "s2viz: glossary of arm64 KVM's stage-2 terms"),
    ("/exercises/?seed=3&n=4", "s2viz: exercises, seed 3"),
    (f"/v6.14..v6.17/?{NVG}&f=40000000r", "v6.14 vs v6.17: mapped Device-nGnRE at stage 2 / mapped Normal at stage 2 - "
                                          "nvgrace-gpu usemem (Grace Hopper GPU memory), host with FWB and DIC"),
])
def test_lessons_exercises_the_glossary_and_comparisons_unfurl(client, path, title):
    meta = og(client.get(path).data.decode())
    assert meta["og:title"] == meta["twitter:title"] == title
    assert meta["og:url"].startswith("https://s2viz.example/") and len(meta["og:description"]) > 40
    assert meta["twitter:card"] == "summary"


def test_without_a_public_url_previews_give_no_relative_addresses():
    c = create_app({"TESTING": True}).test_client()
    for path in (f"/v6.17/?{NVG}&f=40000000r", "/lessons/", "/glossary/"):
        meta = og(c.get(path).data.decode())
        assert meta["og:title"] and "og:url" not in meta and "og:image" not in meta
