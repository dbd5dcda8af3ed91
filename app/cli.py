"""Command line: `s2viz trace '<permalink>' [--json | --text]` (a model's, a comparison's or the
series' '/series/?...'), `s2viz exercises --seed N --n N
[--markdown | --json | --gift]` and `s2viz serve`."""
from __future__ import annotations

import argparse
import json
import sys

from .permalink import canonical_url
from .present.compare import as_text
from .present.report import trace_json
from .present.summary import title
from .present.text import render
from .sim import simulate
from .web.request import Refusal, url_request


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="s2viz", description="arm64 KVM stage-2 fault simulator")
    sub = ap.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("trace", help="print the trace of a permalink")
    tr.add_argument("url", help="permalink URL or /<model>/?<query>")
    fmt = tr.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="contract JSON (default)")
    fmt.add_argument("--text", action="store_true", help="mail-safe plain text")
    ex = sub.add_parser("exercises", help="print a seeded exercise set (questions, then answers)")
    ex.add_argument("--seed", default="1", help="the set's seed (default 1)")
    ex.add_argument("--n", default="8", help="how many questions (default 8, at most 40)")
    ex.add_argument("--model", default="all", help="a model id, or all (default)")
    ex.add_argument("--level", default="basic", help="basic (default) or advanced")
    exf = ex.add_mutually_exclusive_group()
    exf.add_argument("--markdown", action="store_const", dest="format", const="md", help="Markdown (default)")
    exf.add_argument("--json", action="store_const", dest="format", const="json", help="JSON")
    exf.add_argument("--gift", action="store_const", dest="format", const="gift", help="Moodle GIFT")
    sv = sub.add_parser("serve", help="serve the web app with gunicorn (settings: app/web/serving/gunicorn_conf.py)")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sv.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    sv.add_argument("--workers", type=int, help="worker processes (default: the CPU quota, at least 2)")
    args = ap.parse_args(argv)
    if args.cmd == "serve":
        return _serve(args.host, args.port, args.workers)
    if args.cmd == "exercises":
        return _exercises(args)
    return _trace(args.url, args.text)


def _serve(host: str, port: int, workers: int | None) -> int:
    """The production server, as the container runs it; refuses to start rather than answer 500s."""
    from . import create_app
    from .web.serving import site
    missing = site.missing()
    if missing:
        return _fail(f"cannot serve: {missing}.")
    try:
        create_app()        # the settings (S2VIZ_*) are checked here, once, before any worker starts
    except ValueError as e:
        return _fail(f"cannot serve: {e}")
    from gunicorn.app.wsgiapp import WSGIApplication
    argv = ["-c", "python:app.web.serving.gunicorn_conf", "--bind", f"{host}:{port}"]
    if workers:
        argv += ["--workers", str(workers)]
    sys.argv = ["s2viz serve", *argv, "app:create_app()"]
    WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]", prog="s2viz serve").run()
    return 0


def _fail(message: str) -> int:
    print(f"s2viz: {message}", file=sys.stderr)
    return 2


def _exercises(args) -> int:
    from .teach import exercises
    try:
        es = exercises.generate(*exercises.parse(vars(args)))
    except exercises.ExerciseError as e:
        return _fail(str(e))
    sys.stdout.write(exercises.FORMATS[args.format or "md"][0](es))
    return 0


def _trace(url: str, text: bool) -> int:
    """A permalink's trace (or a comparison's, as text), read by the server's own request path: a
    scenario the server would refuse exits 2 with the server's sentence."""
    got = url_request(url)
    if isinstance(got, Refusal):
        return _fail(got.message)
    sc = got.scenario
    if not got.models:                      # /series/: every revision of the series
        from .present import series
        from .sim import SERIES
        rows = series.rows(sc, {mid: simulate(mid, sc) for mid in SERIES})
        canon = canonical_url("series", sc)
        if text:
            sys.stdout.write(series.as_text(sc, rows, title(sc), canon))
        else:
            json.dump(series.as_json(sc, rows, canon), sys.stdout, indent=2)
            sys.stdout.write("\n")
        return 0
    if len(got.models) == 2:
        if not text:
            return _fail("a comparison (a..b) has no JSON form; use --text.")
        (ma, mb), pair = got.models, "..".join(got.models)
        sys.stdout.write(as_text(simulate(ma, sc), simulate(mb, sc), title(sc), canonical_url(pair, sc)))
        return 0
    tr = simulate(got.model, sc)
    canon = canonical_url(got.model, sc)
    if text:
        sys.stdout.write(render(tr, title(sc), canon))
    else:
        json.dump(trace_json(tr, canon), sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0


def run() -> int:
    try:
        return main()
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(run())
