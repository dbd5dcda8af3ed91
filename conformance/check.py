"""Compare freshly recorded runs with their models, the way `make test` compares the committed ones.

    python -m conformance.check DIR        # every linux-*.json, layout-*.json and random-*.json.gz in DIR

Prints one line per run and per differing case, and closes with "N passed, N failed" (a case that
could not be compared, e.g. no MTE on that CPU, is neither). Exit 1 if any case differs.
"""
from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

from app import conformance


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    files = [p for pattern in ("linux-*.json", "layout-*.json", "random-*.json.gz")
             for p in sorted(Path(args[0]).glob(pattern))]
    if not files:
        print(f"conformance: no recorded run in {args[0]}")
        return 1
    passed = failed = 0
    for path in files:
        fx = json.loads(gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_text())
        fx["file"] = path.name
        rows = [conformance.compare_case(fx, c) for c in fx["cases"]]
        same = [r for r in rows if r["status"] in ("same", "known")]
        bad = [r for r in rows if r["status"] in ("differs", "bad_permalink", "no_model")]
        what = "random campaign" if "campaign" in fx else "whole-VM cases" if path.name.startswith("layout-") \
            else "hand-written cases"
        print(f"conformance: Linux {fx['kernel']['version']} on {fx['cpu']}, {what}, against {fx.get('model')}: "
              f"{len(same)} cases the same, {len(bad)} different, {len(rows) - len(same) - len(bad)} not compared")
        for r in bad:
            what = "; ".join(d["what"] for d in r.get("diffs", ())) or r.get("why", "")
            print(f"  {r['id']}: {r['status']}: {what}  {r.get('permalink', '')}")
        passed, failed = passed + len(same), failed + len(bad)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
