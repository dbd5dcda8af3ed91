"""The series view (/series/, /text/series/, /api/v1/series/), the revisions as models on the web, and
the lesson built on them, through the client."""
import re
from html import unescape
from urllib.parse import urlsplit

import pytest

from app import create_app
from app.permalink import canonical_url, parse_query, parse_url
from app.sim import KERNELS, SERIES
from app.teach import lessons

NVG = "vma=pfnmap,io,shared,maywrite&mem=dev"
GRACE = NVG + "&host=fwb&f=40000000r,40001000x"


@pytest.fixture
def client():
    return create_app({"TESTING": True}).test_client()


def _revision_rows(html: str) -> dict[str, str]:
    return {m.group(1): m.group(0) for m in re.finditer(
        r'<tr id="rev-([\w.-]+)" data-testid="revision".*?</tr>', html, re.S)}


def test_the_series_shows_every_revision_from_v1_to_v10_and_v6_17_in_order(client):
    r = client.get(f"/series/?{GRACE}")
    assert r.status_code == 200
    html = r.data.decode()
    rows = _revision_rows(html)
    assert list(rows) == list(SERIES)
    for label in ("v1", "v2", "v3", "v4", "v5", "v7", "v8", "v9", "v10", "2a8dfab26677", "v6.17"):
        assert f">{label}</a>" in html, label
    assert "the same code" in rows["patch-v5"] and "20250524013943.2832-1-ankita@nvidia.com" in rows["patch-v5"]
    assert html.count('data-testid="between"') == len(SERIES) - 1


def test_each_answer_links_the_step_of_that_revisions_permalink_that_decided_it(client):
    html = client.get(f"/series/?{GRACE}").data.decode()
    rows = _revision_rows(html)
    # v3 maps the exec fault Normal, with the I-cache hazard; v4 refuses the memslot
    v3 = rows["patch-v3"]
    assert "hazard (host oops)" in v3
    links = re.findall(r'<td class="(?:ok|bad)"[^>]*>\s*<a href="([^"]+)"', v3)
    assert links and all(unescape(h).startswith("/patch-v3/?" + GRACE) for h in links)
    step = int(parse_query(urlsplit(unescape(links[-1])).query).step or 0)
    assert step > 0
    v4 = rows["patch-v4"]
    assert "refused -EINVAL" in v4 and "kvm_arch_prepare_memory_region()" in v4
    href = unescape(re.search(r'<td class="bad"><a href="([^"]+)"', v4).group(1))
    assert href.startswith("/patch-v4/?") and "step=" in href


def test_between_two_revisions_the_change_the_review_and_a_comparison(client):
    html = client.get(f"/series/?{GRACE}").data.decode()
    between = re.findall(r'<tr class="between (differs|same)" data-testid="between">(.*?)</tr>', html, re.S)
    v3_v4 = next(b for b in between if "v3 &rarr; v4" in b[1])
    assert v3_v4[0] == "differs" and "This scenario's answer changes here." in v3_v4[1]
    assert "Marc Zyngier, Mon 10 Mar 2025" in v3_v4[1]
    assert 'href="https://lore.kernel.org/r/861pv5p0c3.wl-maz@kernel.org"' in v3_v4[1]
    assert 'href="/patch-v3..patch-v4/?' in v3_v4[1]
    v9_v10 = next(b for b in between if "v9 &rarr; v10" in b[1])
    assert "David Hildenbrand, Fri 4 Jul 2025" in v9_v10[1] and v9_v10[0] == "same"


def test_two_revisions_compare_step_by_step(client):
    r = client.get(f"/patch-v3..patch-v4/?{NVG}&host=fwb&f=40001000x")
    assert r.status_code == 200
    html = r.data.decode()
    assert "Memslot refused" in html or "-EINVAL" in html
    assert 'href="/patch-v1..patch-v4/' in html         # the picker lists the series, not the six kernels


def test_the_series_text_is_mail_safe_and_ends_with_its_permalink():
    client = create_app({"TESTING": True, "PUBLIC_URL": "https://s2viz.example/"}).test_client()
    r = client.get(f"/text/series/?{GRACE}")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    text = r.data.decode("ascii")
    lines = text.splitlines()
    assert all(len(line) <= 72 and "\t" not in line for line in lines[:-1])
    assert lines[-1] == f"https://s2viz.example/series/?{GRACE}"
    for label in ("v1 (", "v3 (", "v4 (", "v10 (", "v6.17 ("):
        assert any(line.startswith(label) for line in lines), label
    assert "<861pv5p0c3.wl-maz@kernel.org>" in text and "HAZARD (host oops)" in text


def test_the_series_json(client):
    r = client.get(f"/api/v1/series/?{GRACE}")
    assert r.status_code == 200 and r.is_json
    data = r.get_json()
    assert data["schema"] == 1 and data["canonical"] == f"/series/?{GRACE}"
    assert [x["model"] for x in data["revisions"]] == list(SERIES)
    v4 = next(x for x in data["revisions"] if x["model"] == "patch-v4")
    assert v4["memslot"]["result"] == "-EINVAL" and v4["cap"] == {"number": 240, "result": 0}
    assert v4["message_id"] == "20250518054754.5345-1-ankita@nvidia.com" and v4["base"] == "next-20250407"
    v3 = next(x for x in data["revisions"] if x["model"] == "patch-v3")
    assert v3["faults"][1]["hazard"]["key"] == "icache_no_linear_alias"
    assert v3["faults"][1]["decided"]["href"].startswith("/patch-v3/?")
    assert len(data["between"]) == len(SERIES) - 1
    assert all(b["review"] and b["review"][0]["mail"].startswith("https://lore.kernel.org/r/") for b in data["between"])


@pytest.mark.parametrize("url,status", [
    (f"/series/?f=40000000r&{NVG}", 301), ("/series/?mt=cached", 400), ("/text/series/?mt=cached", 400),
    ("/api/v1/series/?mt=cached", 400), ("/api/v1/series/?preset=anon", 400),
])
def test_the_series_answers_bad_input_like_every_view(client, url, status):
    assert client.get(url).status_code == status


def test_a_revision_permalink_its_json_and_its_text(client):
    q = f"{NVG}&slot=cacheable&f=40000000r"
    html = client.get(f"/patch-v4/?{q}").data.decode()
    assert 'aria-label="Revisions of the cacheable-PFNMAP series"' in html
    data = client.get(f"/api/v1/patch-v4/?{q}").get_json()
    assert data["memslot"]["result"] == "ok" and data["capability"]["cap"] == 240
    text = client.get(f"/text/patch-v4/?{q}").data.decode()
    assert "KVM_CHECK_EXTENSION(240)" in text and "(the patch's lines)" in text
    assert client.get(f"/api/v1/v6.17/?{q}").get_json()["memslot"]["result"] == "-EINVAL"


def test_a_revisions_hunk_step_links_the_mail_that_changed_it(client):
    from app.present.presenters import source_link
    from tests.conftest import run
    steps = {s.id: s for _, s in run("patch-v8", f"{NVG}&host=fwb&remap=1&f=40000000r").all_steps()}
    href, title = source_link("patch-v8", steps["uma.classify"])       # 5/6: the classification
    assert href == "https://lore.kernel.org/r/20250620120946.2991-6-ankita@nvidia.com"
    assert "next-20250610" in title
    href, title = source_link("patch-v8", steps["uma.faultin"])         # outside the hunks: v6.14's lines
    assert href.startswith("https://elixir.bootlin.com/linux/v6.14/source/") and "v6.14's lines" in title
    step = next(i for i, (_, s) in enumerate(run("patch-v8", f"{NVG}&host=fwb&remap=1&f=40000000r").all_steps(), 1)
                if s.id == "uma.classify")
    html = client.get(f"/patch-v8/?{NVG}&host=fwb&remap=1&f=40000000r&step={step}").data.decode()
    assert "https://lore.kernel.org/r/20250620120946.2991-6-ankita@nvidia.com" in html


def test_the_lists_of_kernels_keep_the_six(client):
    html = client.get(f"/all/?{NVG}&f=40000000r").data.decode()
    assert "patch-v4" not in html and all(m in html for m in KERNELS)
    assert b"patch-v4" not in client.get("/map/v6.17/").data
    assert client.get("/exercises/?model=patch-v4&n=2").status_code == 200


def test_the_review_lesson_reveals_the_series_view(client):
    lesson = lessons.by_id("series")
    assert lesson and {lessons.Part(p.link, "").model for p in lesson.parts} <= set(SERIES)
    for p in lesson.parts:
        mid, parsed = parse_url(p.link)
        assert canonical_url(mid, parsed.scenario) == p.link and parsed.ok
    url = "/lessons/series/?a=" + "A"
    html = client.get(url + "&p=1").data.decode()
    assert 'data-testid="series-link"' in html and "/series/?vma=pfnmap,io,shared,maywrite&amp;mem=dev" in html


def test_the_cli_reads_a_revision_and_the_series():
    import json
    import subprocess
    import sys

    def s2viz(*args):
        return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, timeout=120)
    r = s2viz("trace", f"/patch-v4/?{NVG}&f=40000000r", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["memslot"]["result"] == "-EINVAL"
    r = s2viz("trace", f"/series/?{GRACE}", "--text")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[-1] == f"/series/?{GRACE}" and all(len(line) <= 72 for line in lines[:-1])
    r = s2viz("trace", f"/series/?{GRACE}")
    assert [x["model"] for x in json.loads(r.stdout)["revisions"]] == list(SERIES)
    assert s2viz("trace", "/series/?mt=cached").returncode == 2
