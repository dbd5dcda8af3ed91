"""The og:image card: a deterministic 1200 x 630 PNG per permalink, linked from the page's meta."""
import html as htmllib
import re
import struct

import pytest

from app import create_app
from app.present import ogimage

NVG = "vma=pfnmap,io,shared,maywrite&mem=dev"


def client():
    return create_app({"TESTING": True, "PUBLIC_URL": "https://s2viz.example"}).test_client()


def size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def test_the_page_links_its_card_and_the_card_is_a_png():
    c = client()
    page = c.get(f"/v6.17/?{NVG}&host=fwb&f=40000000r").data.decode()
    image = htmllib.unescape(re.search(r'<meta property="og:image" content="([^"]+)">', page).group(1))
    assert image == f"https://s2viz.example/og/v6.17/?{NVG}&host=fwb&f=40000000r"
    r = c.get(image.removeprefix("https://s2viz.example"))
    assert r.status_code == 200 and r.mimetype == "image/png" and size(r.data) == (1200, 630)


def test_same_permalink_same_bytes_and_another_verdict_another_card():
    ogimage._font.cache_clear()
    a = client().get(f"/og/v6.17/?{NVG}&host=fwb&f=40000000r").data
    ogimage._font.cache_clear()
    b = client().get(f"/og/v6.17/?{NVG}&host=fwb&f=40000000r").data       # a fresh app: drawn again
    assert a == b
    other = client().get(f"/og/v6.17/?{NVG}&f=40000000r").data
    assert other != a and size(other) == (1200, 630)


@pytest.mark.parametrize("url,status", [
    ("/og/v9/?f=40000000r", 404), ("/og/v6.17/?mt=cached", 400), ("/og/v6.17/?f=0x40000000R", 301),
    ("/og/latest/?f=40000000r", 302),
])
def test_bad_or_non_canonical(url, status):
    assert client().get(url).status_code == status
