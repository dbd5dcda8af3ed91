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


def test_the_page_offers_both_pictures_of_its_step_and_they_are_standalone_svg(client):
    page = client.get(f"/v6.17/?{NVG}&step=20").data.decode()
    links = [u.replace("&amp;", "&") for u in re.findall(r'href="(/svg/[^"]+)" download', page)]
    assert links == [f"/svg/v6.17/?{NVG}&step=20&fig=path", f"/svg/v6.17/?{NVG}&step=20&fig=tree"]
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
    (f"/svg/v6.17/?{NVG}&fig=picture", 400), (f"/svg/v6.17/?{NVG}", 400), (f"/svg/v6.17/?{NVG}&step=999&fig=path", 400),
    (f"/svg/v9/?{NVG}&fig=path", 404), (f"/svg/v6.17/?fig=path&{NVG}", 301), (f"/svg/latest/?{NVG}&fig=tree", 302),
])
def test_bad_or_non_canonical_requests(client, url, status):
    assert client.get(url).status_code == status
