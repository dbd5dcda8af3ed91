"""The JSON API and /healthz through Flask's test client."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import create_app


@pytest.fixture
def client():
    return create_app({"TESTING": True}).test_client()


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json == {"status": "ok"}


def test_api_returns_contract_json(client):
    r = client.get("/api/v1/v6.14/?vma=pfnmap,io&mem=dev&f=40000000r")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.json["canonical"] == "/v6.14/?vma=pfnmap,io&mem=dev&f=40000000r"
    assert r.json["faults"][0]["s2"]["memtype"] == "device_nGnRE"
    assert r.json["cap_cacheable_pfnmap"] == 0


def test_events_come_in_the_json_with_their_place_in_f(client):
    r = client.get("/api/v1/v6.17/?f=40000000r,unmap:40000000,40000000r")
    assert r.status_code == 200
    assert [f["outcome"] for f in r.json["faults"]] == ["map", "run_error"]
    (e,) = r.json["events"]
    assert (e["at"], e["after_faults"], e["kind"], e["ipa"], e["size"], e["result"]) == \
        (1, 1, "unmap", "0x40000000", 4096, "ok")
    assert e["changes"] == {"unmapped": 1, "freed": 2} and e["steps"][0]["id"] == "vmm.munmap"
    assert client.get("/api/v1/v6.17/?f=40000000r").json["events"] == []


def test_a_bad_event_is_400_with_a_nearest_link_that_keeps_the_faults(client):
    r = client.get("/api/v1/v6.17/?f=40000000r,unmap:40000800")
    assert r.status_code == 400 and "aligned to the 4K page" in r.json["error"]
    assert r.json["nearest"] == "/api/v1/v6.17/?f=40000000r"


def test_non_canonical_query_redirects_permanently(client):
    r = client.get("/api/v1/v6.17/?mem=dev&vma=io,pfnmap&f=0x4000_0000R")
    assert r.status_code == 301
    assert r.headers["Location"] == "/api/v1/v6.17/?vma=pfnmap,io&mem=dev&f=40000000r"


def test_latest_redirects_temporarily_to_a_pinned_model(client):
    r = client.get("/api/v1/latest/?f=40000000r")
    assert r.status_code == 302 and r.headers["Location"] == "/api/v1/v7.3/?f=40000000r"


@pytest.mark.parametrize("url,fragment", [
    ("/api/v1/v6.17/?mt=cached", "not a memory type"),
    ("/api/v1/v6.17/?bogus=1", "Unknown key"),
])
def test_bad_input_is_400_with_one_sentence_and_a_nearest_link(client, url, fragment):
    r = client.get(url)
    assert r.status_code == 400
    assert fragment in r.json["error"]
    assert r.json["nearest"].startswith("/api/v1/")
    assert client.get(r.json["nearest"]).status_code == 200


def test_an_unknown_model_is_404_with_one_sentence_and_a_nearest_link(client):
    r = client.get("/api/v1/v2.6/?")
    assert r.status_code == 404 and "Unknown model 'v2.6'" in r.json["error"]
    assert client.get(r.json["nearest"]).status_code == 200


def test_unknown_routes_are_404_json_under_the_api_and_html_elsewhere(client):
    r = client.get("/api/v1/v6.17/extra")
    assert r.status_code == 404 and r.json["error"] == "There is no page at this address."
    r = client.get("/no/such/thing")
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert b"There is no page at this address." in r.data


QUERY_CHARS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789=&,._x%-+;#/ ", max_size=80)


@settings(max_examples=300, deadline=None)
@given(q=QUERY_CHARS, model=st.sampled_from(["v6.14", "patch-v3", "v6.17", "v7.1", "latest", "zz"]))
def test_fuzzed_queries_never_5xx(q, model):
    client = create_app({"TESTING": True}).test_client()
    r = client.get(f"/api/v1/{model}/?{q}")
    assert r.status_code < 500


def test_an_unexpected_error_is_one_sentence_and_no_traceback():
    app = create_app()

    def boom():
        raise ZeroDivisionError("secret detail")

    app.add_url_rule("/boom", view_func=boom)
    app.add_url_rule("/api/v1/boom", view_func=boom)
    client = app.test_client()
    for url in ("/boom", "/api/v1/boom"):
        r = client.get(url)
        assert r.status_code == 500
        assert b"Something went wrong on our side" in r.data
        assert b"secret detail" not in r.data and b"Traceback" not in r.data and b"ZeroDivision" not in r.data


def test_debug_cannot_be_switched_on_from_the_environment(monkeypatch):
    monkeypatch.setenv("S2VIZ_DEBUG", "true")
    assert create_app().debug is False
