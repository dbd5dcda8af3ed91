"""Where each step lives in the real kernel: file, function and lines at the model's tag."""
from __future__ import annotations

import json
from functools import cache
from importlib import resources

from .trace import Source

UNKNOWN = Source("?", "?", (0, 0))


@cache
def table() -> dict:
    with resources.files(__package__).joinpath("data/sources.json").open() as fh:
        data = json.load(fh)
    return {mid: {sid: Source(v["func"], v["file"], tuple(v["lines"])) for sid, v in steps.items()}
            for mid, steps in data["models"].items()}


def source_for(mid: str, sid: str) -> Source:
    return table().get(mid, {}).get(sid, UNKNOWN)
