"""axe-core in the page: inject it from node_modules (installed by `npm ci` from package-lock.json),
run it on the whole document, and fail with every violation spelled out.

The pages forbid inline script (script-src 'self'), so page.add_script_tag(path=...) is refused by
the page's own policy; a browser context given `install(context)` gets axe as an init script instead
(run by the browser before the page's scripts, outside the page's CSP), and the page is checked
exactly as it is served, policy included."""
from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def install(context) -> None:
    """Every page this browser context opens gets axe-core."""
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: `npm ci` installs axe-core (a devDependency).")
    context.add_init_script(path=str(AXE))


def violations(page) -> list[dict]:
    """axe.run() on the document: the violations, each with id, impact, help and the nodes' targets."""
    if not page.evaluate("typeof window.axe === 'object'"):
        raise AssertionError("axe-core is not in this page: open it from a context given axe.install().")
    return page.evaluate("""async () => {
        await Promise.all(document.getAnimations().map((a) => a.finished.catch(() => null)));   // settled, as read
        const r = await window.axe.run(document, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary || ""}))}));
    }""")


def describe(found: list[dict]) -> str:
    lines = []
    for v in found:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for n in v["nodes"]:
            lines.append(f"    {n['target']}: {' '.join(n['summary'].split())[:300]}")
    return "\n".join(lines)


def assert_no_violations(page, name: str) -> None:
    """No axe violation on this page; the message lists each one's id, impact and target nodes."""
    found = violations(page)
    assert not found, f"axe found {len(found)} violation(s) on {name}:\n{describe(found)}"


def check_page(browser, base: str, path: str, width: int, height: int, open_details: bool = False) -> None:
    """Open path at width x height in a fresh context with axe installed: no violation, and nothing
    wider than the viewport (with every <details> opened first, if asked)."""
    ctx = browser.new_context(viewport={"width": width, "height": height})
    install(ctx)
    p = ctx.new_page()
    p.goto(base + path)
    p.wait_for_load_state("networkidle")
    if open_details:
        p.evaluate("() => document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    assert_no_violations(p, f"{path} at {width}x{height}")
    assert p.evaluate("document.documentElement.scrollWidth") <= width
    ctx.close()
