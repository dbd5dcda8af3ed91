"""One request path for every address that names a scenario: parse, validate, canonicalise; then
what to show, or a redirect to the canonical address (301; 302 from `latest`), or a refusal (400,
404 for a model that does not exist) with one sentence and the nearest valid address.

The page, the JSON API, the explain views (text, compare a..b, /all/, embed, presenter mode, SVG,
og image), the memslot map's data and the CLI all call scenario_request(); they differ only in
their Shape. How a refusal is said (an HTML page or fragment, JSON, plain text, or a line on stderr
and exit status 2) is the caller's: app/web/views/answer.py for the web, app/cli.py for the CLI.
Nothing here reads Flask's request.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from ..permalink import ScenarioError, canonical_query, clip, parse_query, resolve_model
from ..sim import LATEST
from ..sim.scenario import Scenario
from . import traces
from .form import parse_form

PAIR_EXAMPLE = "v6.14..v6.17"


@dataclass(frozen=True)
class Refusal:
    """A request that cannot be answered: one sentence, the nearest valid address, the status; and,
    when the query was at fault, the nearest valid scenario itself (the page shows it inline)."""
    message: str
    nearest: str
    status: int = 400
    model: str | None = None
    scenario: Scenario | None = None


# A view's own keys, read from the query's first values: the (key, value) pairs to keep after the
# permalink's in the canonical address, or a Refusal.
Own = Callable[[Mapping[str, str]], "tuple[tuple[str, str], ...] | Refusal"]


@dataclass(frozen=True)
class Shape:
    """How one kind of address reads its scenario."""
    prefix: str = ""                 # before /<model>/: "/api/v1", "/text", "/embed", ...
    form: bool = True                # the page's form keys (preset, fire, ...) are folded in
    step: bool = True                # the address may name a step (comparisons drop it)
    check_step: bool = False         # a step past the last is refused (this needs the trace)
    last_step_implied: bool = False  # the page: the last step is the address without `step`
    story: tuple[str, ...] = ()      # form keys that open on the story step: `story` (the key-step link), `preset`
    redirects: bool = True           # another spelling is redirected to the canonical address
    own: Own | None = None           # the view's own keys, kept after the permalink's (mode, fig)
    where: str = "all"               # the path segment of an address that names no model (/all/, /series/)


@dataclass(frozen=True)
class Wanted:
    """A request understood: what to show, and the canonical address to redirect to instead when
    the request named another one."""
    models: tuple[str, ...]          # one model; two for a..b; none for /all/ and /series/
    scenario: Scenario
    step: int | None = None
    own: tuple[tuple[str, str], ...] = ()
    redirect: tuple[str, int] | None = None

    @property
    def model(self) -> str:
        return self.models[0]


def scenario_request(shape: Shape, names: tuple[str, ...], query: str,
                     pairs: Iterable[tuple[str, str]] | None = None) -> Wanted | Refusal:
    """Read the scenario an address names.

    names: the path's model segments: (model,), (a, b) for a comparison, () for /all/ and /series/.
    query: the raw query as sent; it is canonical when it equals what this function writes.
    pairs: its decoded (key, value) pairs, when the caller has them already (a web request's args)."""
    pairs = list(parse_qsl(query, keep_blank_values=True) if pairs is None else pairs)
    first = _first_values(pairs)
    own = shape.own(first) if shape.own else ()
    if isinstance(own, Refusal):
        return own
    models = _models(shape, names)
    if isinstance(models, Refusal):
        return models
    where = "..".join(models) if models else shape.where
    owned = {k for k, _ in own}
    parsed = parse_form([(k, v) for k, v in pairs if k not in owned]) if shape.form else parse_query(query)
    sc = parsed.scenario
    mid = models[0] if len(models) == 1 else None
    if parsed.errors:
        return Refusal(parsed.errors[0], address(shape, where, sc, None, own), model=mid, scenario=sc)
    step = _step(shape, mid, sc, parsed.step if shape.step else None, first)
    if isinstance(step, str):
        return Refusal(step, address(shape, where, sc, None, own))
    wanted = Wanted(models, sc, step, own)
    if not shape.redirects:
        return wanted
    canonical = address(shape, where, sc, step, own)
    if tuple(names) != models:
        return Wanted(models, sc, step, own, (canonical, 302))
    if query != canonical.partition("?")[2]:
        return Wanted(models, sc, step, own, (canonical, 301))
    return wanted


def _step(shape: Shape, mid: str | None, sc: Scenario, step: int | None, first: dict[str, str]) -> int | None | str:
    """The step to show (None: the last), or why the one asked for cannot be."""
    if mid is None:
        return step
    if step is not None and (shape.check_step or shape.last_step_implied):
        total = traces.step_count(mid, sc)
        if step > total:
            return f"step {clip(str(step))} is past the last step ({total})."
    if any(first.get(k) for k in shape.story):
        step = traces.story(mid, sc)          # the step that tells the scenario's story, found only here
    if step is not None and shape.last_step_implied and step == traces.step_count(mid, sc):
        return None
    return step


def address(shape: Shape, where: str, sc: Scenario, step: int | None, own=()) -> str:
    """The canonical address of a scenario (at a step) under a shape's prefix."""
    query = "&".join(q for q in (canonical_query(sc, step), *(f"{k}={v}" for k, v in own)) if q)
    return f"{shape.prefix}/{where}/" + (f"?{query}" if query else "")


def _models(shape: Shape, names: tuple[str, ...]) -> tuple[str, ...] | Refusal:
    try:
        return tuple(resolve_model(n) for n in names)
    except ScenarioError as e:
        nearest = f"{shape.prefix}/{PAIR_EXAMPLE if len(names) == 2 else LATEST}/"
        return Refusal(str(e), nearest, 404)


def _first_values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    first: dict[str, str] = {}
    for k, v in pairs:
        first.setdefault(k, v)
    return first


# ---- the CLI's addresses -------------------------------------------------------------------

CLI = Shape(form=False)
CLI_SERIES = Shape(form=False, step=False, where="series")


def url_request(url: str) -> Wanted | Refusal:
    """The scenario a permalink URL names, read as the JSON API reads it: 'https://host/v6.17/?...',
    '/v6.17/?...', an /api/v1/ address, a comparison '/a..b/?...' or the series '/series/?...' (no model)."""
    parts = urlsplit(url.strip())
    segs = [p for p in parts.path.split("/") if p]
    if segs[:2] == ["api", "v1"]:
        segs = segs[2:]
    if len(segs) != 1:
        return Refusal(f"'{clip(parts.path)}' is not a permalink path: expected /<model>/?<query>.", f"/{LATEST}/")
    if segs[0] == "series":
        return scenario_request(CLI_SERIES, (), parts.query)
    a, dots, b = segs[0].partition("..")
    return scenario_request(CLI, (a, b) if dots else (a,), parts.query)
