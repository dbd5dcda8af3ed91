"""Outside app/sim, code uses only the simulator's stated public surface (app/sim/__init__.py):
never the kernel models, the engine or the registry's own modules."""
import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"
PUBLIC = {"app.sim", "app.sim.scenario", "app.sim.presets", "app.sim.sweep", "app.sim.sources", "app.sim.steps",
          "app.sim.trace", "app.sim.units", "app.sim.hw", "app.sim.hw.memattr", "app.sim.hw.pgtable",
          "app.sim.hw.esr", "app.sim.hw.bits", "app.sim.hw.access", "app.sim.hazards", "app.sim.series"}


def imported_modules(path: Path) -> set[str]:
    package = ".".join(path.relative_to(APP.parent).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}".startswith("app.sim."))
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_only_the_public_surface_of_the_simulator_is_used_outside_it():
    sim = APP / "sim"
    bad = []
    for path in APP.rglob("*.py"):
        if sim in path.parents:
            continue
        for mod in imported_modules(path):
            if mod.startswith("app.sim.") and mod not in PUBLIC and not _is_name(mod):
                bad.append((str(path.relative_to(APP)), mod))
    assert not bad, bad


def _is_name(mod: str) -> bool:
    """`from app.sim.hw import memattr` imports a public module; `from app.sim import X` a name."""
    parent = mod.rsplit(".", 1)[0]
    return parent in PUBLIC and mod not in ("app.sim.kernel", "app.sim.engine")
