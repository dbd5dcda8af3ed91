"""Real-browser fixtures: the app on a loopback port, Debian's Chromium driven by Playwright."""
import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_path() -> str | None:
    """A system Chromium if there is one; None lets Playwright use its own download."""
    for candidate in (os.environ.get("S2VIZ_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate:
            return candidate
    return None


@pytest.fixture(scope="session")
def live_server():
    srv = make_server("127.0.0.1", 0, create_app(), threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        except Exception as e:  # noqa: BLE001 - say what is missing in one sentence
            pytest.fail(f"No Chromium could be started ({e.__class__.__name__}); `make test` installs one.")
        yield b
        b.close()


class Page:
    """A page plus what the browser complained about while the test ran."""

    def __init__(self, page, base):
        self.page, self.base, self.errors = page, base, []
        page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def goto(self, path):
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("networkidle")

    def shot(self, name):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, animations="disabled")

    def path(self):
        return self.page.evaluate("location.pathname + location.search")

    def wait_path(self, path):
        """Wait until the address bar shows this path and query (htmx pushes it after the swap)."""
        self.page.wait_for_function("p => location.pathname + location.search === p", arg=path, timeout=5000)


@pytest.fixture
def page(browser, live_server):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    p = Page(ctx.new_page(), live_server)
    yield p
    ctx.close()
    assert p.errors == [], f"browser console: {p.errors}"
