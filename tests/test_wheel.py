"""The wheel as a user installs it: built from this checkout, installed into a fresh virtualenv
outside it, `s2viz serve` answering a page and its fingerprinted stylesheet."""
import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.server import free_port, wait_healthy

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if not (ROOT / "static" / "dist" / "manifest.json").is_file():
        pytest.fail("static/dist is not built: run the tests through `make test`")
    tmp = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp / "dist"), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    assert "License classifiers are deprecated" not in build.stdout + build.stderr
    assert "project.license` as a TOML table is deprecated" not in build.stdout + build.stderr
    wheel, = (tmp / "dist").glob("s2viz-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(tmp / "venv")], check=True, timeout=120)
    pip = subprocess.run([str(tmp / "venv" / "bin" / "python"), "-m", "pip", "install", "-q",
                          "--disable-pip-version-check", str(wheel)], capture_output=True, text=True, timeout=900)
    assert pip.returncode == 0, pip.stderr[-2000:]
    return tmp


def test_the_installed_wheel_serves_a_page_and_its_fingerprinted_css(installed):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(installed)}         # nothing of the checkout's environment
    proc = subprocess.Popen([str(installed / "venv" / "bin" / "s2viz"), "serve", "--port", str(port)],
                            cwd=installed, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        wait_healthy(base, proc)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        page = opener.open(base + "/v6.17/?f=40000000r", timeout=30).read().decode()
        assert "Mapped Normal" in page
        css = re.search(r'href="(/static/dist/css/app\.[0-9a-f]{12}\.css)"', page).group(1)
        with opener.open(base + css, timeout=30) as r:
            assert r.status == 200 and "immutable" in r.headers["Cache-Control"]
            assert r.headers["Content-Type"].startswith("text/css") and len(r.read()) > 1000
        js = re.search(r'src="(/static/dist/vendor/htmx\.min\.[0-9a-f]{12}\.js)"', page).group(1)
        assert opener.open(base + js, timeout=30).status == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert b"Starting gunicorn" in err          # the production server, not a development one


def test_the_installed_wheel_shows_the_conformance_runs(installed):
    """The recorded runs are package data: /conformance/, its JSON and a recorded trace's "checked
    against Linux" line work from the wheel alone, with the checkout out of reach."""
    from app import conformance

    assert conformance.fixtures(), "no recorded runs in the checkout"
    row = next(r for r in conformance.report()["cases"] if r["status"] == "same" and r.get("permalink"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(installed)}
    proc = subprocess.Popen([str(installed / "venv" / "bin" / "s2viz"), "serve", "--port", str(port)],
                            cwd=installed, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_healthy(base, proc)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        page = opener.open(base + "/conformance/", timeout=60).read().decode()
        rep = conformance.report()            # every recorded case, and the random ones that are not the same
        assert page.count('<tr id="') == len(rep["cases"]) + len(rep["random_rows"])
        assert "source-read only" not in page or "v6.14" in page
        data = json.loads(opener.open(base + "/conformance.json", timeout=60).read())
        assert len(data["runs"]) == len(conformance.fixtures())
        assert [m["same"] for m in data["models"]] == [m["same"] for m in conformance.report()["models"]]
        trace = opener.open(base + row["permalink"], timeout=60).read().decode()
        assert f"checked against Linux {row['kernel']}" in trace
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    where = subprocess.run([str(installed / "venv" / "bin" / "python"), "-c",
                            "import app.conformance as c; print(c.fixture_dir())"],
                           capture_output=True, text=True, check=True, cwd=installed).stdout.strip()
    assert str(ROOT) not in where and "site-packages" in where


def test_serve_refuses_to_start_without_the_built_assets(installed):
    site = subprocess.run([str(installed / "venv" / "bin" / "python"), "-c",
                           "import app.web.serving.site as s; print(s.STATIC)"],
                          capture_output=True, text=True, check=True, cwd=installed).stdout.strip()
    assert str(ROOT) not in site and "site-packages" in site
    manifest = Path(site) / "dist" / "manifest.json"
    manifest.rename(manifest.with_suffix(".away"))
    try:
        r = subprocess.run([str(installed / "venv" / "bin" / "s2viz"), "serve", "--port", str(free_port())],
                           capture_output=True, text=True, timeout=60, cwd=installed)
    finally:
        manifest.with_suffix(".away").rename(manifest)
    assert r.returncode == 2
    assert r.stderr.startswith("s2viz: cannot serve: the built static files are missing")
    assert len(r.stderr.strip().splitlines()) == 1
