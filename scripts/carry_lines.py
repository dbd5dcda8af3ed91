#!/usr/bin/env python3
"""Carry one model's line table to another kernel tree by diffing each cited file.

    python3 scripts/carry_lines.py FROM_MODEL OLD_TREE NEW_MODEL NEW_TREE

Every range of FROM_MODEL (read in OLD_TREE) is mapped line by line onto NEW_TREE; the result
replaces NEW_MODEL's table. Ranges whose text changed are listed on stderr: read those by hand.
"""
from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

TABLE = Path(__file__).resolve().parent.parent / "app" / "sim" / "data" / "sources.json"


def line_map(old: list[str], new: list[str]) -> tuple[dict[int, int], set[int]]:
    """1-based old line -> new line, and the old lines whose text changed."""
    out, changed = {}, set()
    sm = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        for k in range(i1, i2):
            if op == "equal":
                out[k + 1] = j1 + (k - i1) + 1
            else:
                out[k + 1] = min(j1 + (k - i1), max(j2 - 1, j1)) + 1
                changed.add(k + 1)
    return out, changed


def main(src: str, old_tree: str, dst: str, new_tree: str) -> None:
    table = json.loads(TABLE.read_text())
    maps: dict[str, tuple] = {}
    out = {}
    for sid, e in table["models"][src].items():
        path = e["file"]
        if path not in maps:
            try:
                old = (Path(old_tree) / path).read_text(errors="replace").splitlines()
                new = (Path(new_tree) / path).read_text(errors="replace").splitlines()
            except FileNotFoundError:
                maps[path] = None
            else:
                maps[path] = line_map(old, new)
        entry = dict(e)
        if maps[path] is None:
            print(f"{sid}: {path} missing", file=sys.stderr)
        else:
            m, changed = maps[path]
            a, b = e["lines"]
            entry["lines"] = [m[a], m[b]]
            if any(n in changed for n in range(a, b + 1)):
                print(f"{sid}: {path}:{a}-{b} changed -> {m[a]}-{m[b]}", file=sys.stderr)
        out[sid] = entry
    table["models"][dst] = out
    TABLE.write_text(json.dumps(table, indent=1) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:5])
