"""HTTP edges through the test client: the public origin, HEAD, cache headers, redirects, 404s,
clipped echoes, and the worker's byte budget."""
import re

import pytest

from app import create_app
from app.sim import LATEST
from app.web.serving import cache
from app.web.serving.origin import OriginError

NVG = "/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r"
PARTIAL = {"HX-Request": "true", "HX-Request-Type": "partial"}
POISON = {"Host": "evil.example", "X-Forwarded-Host": "evil2.example", "X-Forwarded-Proto": "gopher",
          "X-Forwarded-Prefix": "/evil3", "Forwarded": "host=evil4.example"}


@pytest.fixture
def client():
    return create_app({"TESTING": True}).test_client()


# ---- the public origin ----------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "/text" + NVG, "/text/patch-v3..v6.17/?f=40000000r", "/embed" + NVG, NVG, "/v6.17?f=40000000r",
    "/v6.17/?f=0x40000000R", "/latest/?f=40000000r", "/map/v6.17../", "/text/v6.17?f=40000000r", "/api/v1" + NVG,
    "/v6.17/?mt=cached", "/nowhere", "/"])
def test_a_poisoned_host_reaches_no_body_and_no_location(client, url):
    for headers in (POISON, {**POISON, **PARTIAL}):
        r = client.get(url, headers=headers)
        assert r.status_code < 500
        seen = r.get_data(as_text=True) + " ".join(f"{k}: {v}" for k, v in r.headers.items())
        assert "evil" not in seen and "gopher" not in seen, (url, r.status_code)
        location = r.headers.get("Location")
        assert location is None or (location.startswith("/") and not location.startswith("//"))


def test_without_a_public_url_the_text_ends_with_the_path_alone(client):
    text = client.get("/text" + NVG).get_data(as_text=True)
    assert text.splitlines()[-1] == NVG


def test_the_public_url_is_the_origin_of_every_absolute_link():
    client = create_app({"TESTING": True, "PUBLIC_URL": "https://kvm.example/s2viz/"}).test_client()
    text = client.get("/text" + NVG, headers=POISON).get_data(as_text=True)
    assert text.splitlines()[-1] == "https://kvm.example/s2viz" + NVG
    embed = client.get("/embed" + NVG, headers=POISON).get_data(as_text=True)
    assert 'href="https://kvm.example/s2viz' + NVG.replace("&", "&amp;") + '"' in embed


def test_trusted_hosts_refuse_other_hosts_and_may_be_named():
    client = create_app({"TESTING": True, "TRUSTED_HOSTS": "kvm.example, .kvm.example"}).test_client()
    r = client.get("/text" + NVG, headers={"Host": "evil.example"})
    assert r.status_code == 400 and b"evil" not in r.data
    text = client.get("/text" + NVG, headers={"Host": "www.kvm.example"}).get_data(as_text=True)
    assert text.splitlines()[-1] == "http://www.kvm.example" + NVG


@pytest.mark.parametrize("value", ["kvm.example", "ftp://kvm.example", "https://kvm.example/?q=1", "https://u:p@h/"])
def test_a_malformed_public_url_stops_the_app_with_one_sentence(value):
    with pytest.raises(OriginError, match="S2VIZ_PUBLIC_URL must look like"):
        create_app({"PUBLIC_URL": value})


def test_a_malformed_cache_budget_stops_the_app_with_one_sentence():
    with pytest.raises(ValueError, match="S2VIZ_CACHE_MB must be a number"):
        create_app({"CACHE_MB": "lots"})


# ---- HEAD, cache headers, static files -----------------------------------------------------------

@pytest.mark.parametrize("url,headers", [
    (NVG, {}), (NVG, PARTIAL), ("/api/v1" + NVG, {}), ("/text" + NVG, {}), ("/figure" + NVG, {}),
    ("/all/?f=40000000r", {}), ("/v6.17/?mt=cached", {}), ("/lessons/", {}), ("/healthz", {})])
@pytest.mark.parametrize("encoding", ["br", "gzip", ""])
def test_head_answers_the_headers_get_answers(client, url, headers, encoding):
    h = {**headers, "Accept-Encoding": encoding}
    get, head = client.get(url, headers=h), client.head(url, headers=h)
    assert head.status_code == get.status_code and head.data == b""
    assert dict(head.headers) == dict(get.headers)
    assert "X-Body-Etag" not in get.headers
    if get.status_code == 200 and url != "/healthz":
        assert get.headers["ETag"] and get.headers["Cache-Control"]


def test_every_encoding_of_a_memoised_body_is_the_same_document(client):
    import gzip

    import brotli
    plain = client.get(NVG, headers={"Accept-Encoding": ""})
    br = client.get(NVG, headers={"Accept-Encoding": "br"})
    gz = client.get(NVG, headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in plain.headers
    assert brotli.decompress(br.data) == gzip.decompress(gz.data) == plain.data
    assert len({plain.headers["ETag"], br.headers["ETag"], gz.headers["ETag"]}) == 3
    again = client.get(NVG, headers={"Accept-Encoding": "gzip", "If-None-Match": gz.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_htmx_fragments_are_private_and_pages_public(client):
    assert client.get(NVG, headers=PARTIAL).headers["Cache-Control"].startswith("private")
    assert client.get(NVG).headers["Cache-Control"].startswith("public")
    error = client.get("/v6.17/?mt=cached", headers=PARTIAL)
    assert error.status_code == 400 and error.headers["Cache-Control"] == "private, no-store"


def test_static_files_carry_nosniff_and_a_policy(client):
    for path in ("/static/favicon.svg", "/static/css/app.css"):
        with client.get(path) as r:
            assert r.status_code == 200
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert "default-src 'none'" in r.headers["Content-Security-Policy"]


# ---- paths ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("url,status", [
    ("/v6.99/", 404), ("/api/v1/v2.6/", 404), ("/text/nope/", 404), ("/embed/nope/", 404), ("/present/x/", 404),
    ("/figure/nope/", 404), ("/nope..v6.17/", 404), ("/map/nope/", 404), ("/lessons/nope/", 404), ("/a/b/c", 404)])
def test_unknown_paths_are_404_with_one_sentence(client, url, status):
    r = client.get(url)
    assert r.status_code == status
    body = r.get_data(as_text=True)
    assert "Traceback" not in body and ("There is no" in body or "Unknown model" in body)


@pytest.mark.parametrize("url,location,status", [
    ("/map/v6.17../", "/map/v6.17/", 301), ("/map/v6.17..v6.17/", "/map/v6.17/", 301),
    ("/map/latest..latest/", f"/map/{LATEST}/", 302), ("/map/latest/", f"/map/{LATEST}/", 302),
    ("/lessons/grace-hopper/?x=1", "/lessons/grace-hopper/", 302)])     # 302: the resumed part follows a cookie
def test_odd_spellings_redirect_to_the_canonical_address(client, url, location, status):
    r = client.get(url)
    assert (r.status_code, r.headers["Location"]) == (status, location)
    assert client.get(location).status_code == 200


@pytest.mark.parametrize("url", [
    "/v6.17/?ipa=" + "9" * 3000, "/v6.17/?f=40000000r&step=" + "9" * 3000, "/v6.17/?f=" + "4" * 3000 + "r",
    "/lessons/" + "x" * 300 + "/", "/v6.17/?preset=" + "x" * 300, "/v6.17/?" + "k" * 300 + "=1",
    "/" + "m" * 300 + "/", "/api/v1/v6.17/?mt=" + "c" * 300])
def test_every_echoed_value_is_clipped(client, url):
    r = client.get(url)
    assert r.status_code in (400, 404)
    body = r.get_data(as_text=True)
    assert not re.search(r"(9{60}|4{60}|x{60}|k{60}|m{60}|c{60})", body), body[:300]


# ---- memory ---------------------------------------------------------------------------------------

def faults(n: int, start: int = 0) -> str:
    return ",".join(f"{0x4000_0000 + (start + i) * 0x1000:x}{'rwx'[i % 3]}" for i in range(n))


def test_the_byte_lru_never_holds_more_than_its_budget():
    lru = cache.ByteLRU(100_000)
    for i in range(1000):
        lru.put(("k", i), b"x" * 3000, 3000)
        assert lru.used <= lru.budget
    assert 0 < len(lru) <= 100_000 // 3000
    assert lru.get(("k", 999)) is not None and lru.get(("k", 0)) is None
    lru.put("huge", b"x", 50_000)            # more than an eighth of the budget: served, not kept
    assert lru.get("huge") is None


def test_expensive_requests_keep_the_worker_cache_under_its_budget():
    app = create_app({"TESTING": True, "CACHE_MB": 2})
    client, store = app.test_client(), app.extensions[cache.EXTENSION]
    big = f"/v7.1/?vma=pfnmap,io,shared,maywrite&mem=dev&f={faults(64)}"
    for step in range(1, 60, 3):
        for prefix, headers in (("", {}), ("", PARTIAL), ("/present", {}), ("/api/v1", {})):
            r = client.get(f"{prefix}{big}&step={step}" if prefix != "/api/v1" else big, headers=headers)
            assert r.status_code < 500
            assert store.used <= store.budget
        bad = client.get(f"/v7.1/?vma=zz{step}&f={faults(64)}", headers=PARTIAL)
        assert bad.status_code == 400 and store.used <= store.budget
    assert len(store) > 10


def test_a_repeated_bad_htmx_request_is_answered_from_the_cache(client):
    from flask import template_rendered
    names = []
    url = f"/v7.1/?vma=zz&f={faults(16)}"
    with template_rendered.connected_to(lambda s, template, context, **e: names.append(template.name),
                                        client.application):
        first = client.get(url, headers=PARTIAL)
        rendered_once = len(names)
        second = client.get(url, headers=PARTIAL)
    assert first.status_code == second.status_code == 400 and first.data == second.data
    assert rendered_once > 0 and len(names) == rendered_once
    assert second.headers["HX-Push-Url"] == "false"


def test_a_large_key_counts_against_the_budget():
    query = f"f={faults(64)}"
    lru = cache.ByteLRU(10_000_000)
    lru.put(("all", query), b"x" * 100, 100)
    assert lru.used > 100 + len(query) > 100 + 64 * 9
