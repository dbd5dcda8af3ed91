"""The layers of app/ and the direction of their imports, read from the source (every import
statement, at module level or inside a function):

    app.sim -> app.permalink -> app.present -> app.teach -> app.web -> app.cli

A module imports only from its own layer or the layers before it, the import graph has no circle,
no module imports another module's private name, and no module is longer than 400 lines."""
import ast
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
LAYERS = ("sim", "permalink", "present", "teach", "web", "cli")
# Modules outside the folders that name their layer: the package root builds the web app;
# app.conformance (the recorded runs, their comparison and the /conformance/ page) is a view of its own.
PLACED = {"app": "web", "app.conformance": "web"}
PRIVATE_ALLOWED: set = set()
MAX_LINES = 400


def modules() -> dict[str, Path]:
    out = {}
    for path in APP.rglob("*.py"):
        parts = list(path.relative_to(APP.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = modules()


def imports(name: str, path: Path) -> list[tuple[str, str | None, int]]:
    """(module imported, name imported from it or None, line) for every import in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.append((sub, None, node.lineno) if sub in MODULES else (base, a.name, node.lineno))
    return [(m, n, line) for m, n, line in out if m == "app" or m.startswith("app.")]


def owner(module: str) -> str:
    """The module of ours a dotted name lives in (app.sim.MODELS lives in app.sim)."""
    while module not in MODULES:
        module = module.rpartition(".")[0]
    return module


def layer(module: str) -> str:
    placed = next((p for p in sorted(PLACED, key=len, reverse=True) if module == p or module.startswith(p + ".")), None)
    if placed and placed != "app":
        return PLACED[placed]
    if module in PLACED:
        return PLACED[module]
    return module.split(".")[1]


GRAPH = {m: {(owner(t), n, line) for t, n, line in imports(m, p)} for m, p in MODULES.items()}


def test_every_module_has_a_layer():
    assert {layer(m) for m in MODULES} <= set(LAYERS)


def upward(graph: dict) -> list[str]:
    """Every import from a layer to a later one."""
    return [f"{m}:{line} imports {t} ({layer(m)} -> {layer(t)})" for m, edges in graph.items()
            for t, _, line in edges if LAYERS.index(layer(t)) > LAYERS.index(layer(m))]


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every circle a depth-first walk of the graph closes."""
    found, state = [], {}

    def visit(m, path):
        state[m] = "open"
        for t in sorted(edges.get(m, ())):
            if state.get(t) == "open":
                found.append(path[path.index(t):] + [t])
            elif t not in state:
                visit(t, path + [t])
        state[m] = "done"
    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
    return found


def test_no_module_imports_from_a_later_layer():
    assert upward(GRAPH) == []


def test_the_import_graph_has_no_circle():
    assert circles({m: {t for t, _, _ in es if t != m} for m, es in GRAPH.items()}) == []


def test_the_checks_see_an_upward_import_and_a_circle():
    assert upward({"app.present.stage": {("app.web.traces", None, 9)}}) == [
        "app.present.stage:9 imports app.web.traces (present -> web)"]
    assert upward({"app.web.traces": {("app.present.stage", None, 9)}}) == []
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_another_modules_private_name():
    private = [(m, t, n) for m, edges in GRAPH.items() for t, n, _ in edges
               if n and n.startswith("_") and not n.startswith("__") and t != m]
    assert set(private) <= PRIVATE_ALLOWED, sorted(set(private) - PRIVATE_ALLOWED)


def test_no_module_is_longer_than_400_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_importing_the_simulator_loads_no_web_or_plotting_module():
    code = ("import sys, app.sim; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'plotly', 'jinja2', 'werkzeug')"
            " or m.startswith(('app.web', 'app.present', 'app.teach'))]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
