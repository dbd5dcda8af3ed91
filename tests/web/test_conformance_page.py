"""/conformance/, its JSON, and the "checked against" line on trace pages."""
import re

import pytest

from app import conformance, create_app
from app.sim import KERNELS

UDMABUF_617 = "/v6.17/?vma=pfnmap,shared,maywrite&mem=sg&host=fwb,dic,mte,lpa2,ha&pg=2m&gs1=off&f=40000000r,40001000r,40002000r,401ff000r"  # noqa: E501


@pytest.fixture
def client():
    return create_app({"TESTING": True}).test_client()


def test_the_page_gives_each_models_agreement(client):
    r = client.get("/conformance/")
    assert r.status_code == 200
    html = r.data.decode()
    for m in conformance.report()["models"]:
        row = re.search(rf'<tr><td><a href="/{re.escape(m["model"])}/">.*?</tr>', html, re.S).group(0)
        if m["source_read_only"]:
            assert "source-read only" in row
        else:
            assert f"{m['same']} of {m['compared']}" in row and all(f"Linux {k}" in row for k in m["kernels"])


def test_the_page_lists_every_case_with_both_outcomes(client):
    html = client.get("/conformance/").data.decode()
    rows = re.findall(r'<tr id="([^"]+)" class="status-(\w+)">(.*?)</tr>', html, re.S)
    assert len(rows) == len(conformance.report()["cases"]) + len(conformance.report()["random_rows"])
    row = dict((a, body) for a, _, body in rows)["6.17.13-max-udmabuf-block"]
    link = UDMABUF_617.replace("&", "&amp;")
    assert f'href="{link}"' in row
    assert row.count("map normal RWX 2M L3 | no_fault | no_fault | no_fault") == 2 and "same" in row


def test_the_json_is_the_report(client):
    r = client.get("/conformance.json")
    assert r.status_code == 200 and r.is_json
    data = r.get_json()
    assert [m["model"] for m in data["models"]] == list(KERNELS)
    # The one-slot runs' cases and the whole-VM ones (layout-*.json), every one a row.
    runs = conformance.fixtures() + conformance.fixtures("layout-")
    assert len(data["cases"]) == sum(len(fx["cases"]) for fx in runs)


def test_a_recorded_scenario_says_it_was_checked(client):
    html = client.get(UDMABUF_617).data.decode()
    line = re.search(r'<p class="checked"><a href="([^"]+)">([^<]+)</a></p>', html)
    assert line.group(1) == "/conformance/#6.17.13-max-udmabuf-block"
    assert line.group(2) == "checked against Linux 6.17.13 under QEMU 10.0.2 (max): same result"


def test_an_unrecorded_scenario_says_nothing(client):
    assert 'class="checked"' not in client.get("/v6.17/?f=40000000r").data.decode()
    assert conformance.checked("v6.17", "/v6.17/?host=fwb&ipa=33&f=40000000r") is None
    # v6.14 is checked through 6.16.12: the same scenario on it names that kernel.
    assert conformance.checked("v6.14", UDMABUF_617.replace("v6.17", "v6.14"))["kernel"] == "6.16.12"


def test_checked_ignores_the_step_and_is_per_model():
    got = conformance.checked("v6.17", UDMABUF_617 + "&step=3")
    assert got["same"] and got["kernel"] == "6.17.13"
    assert conformance.checked("v7.1", UDMABUF_617) is None
