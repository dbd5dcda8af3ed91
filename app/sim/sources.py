"""Where each step lives in the real kernel: file, function and lines at the model's tag."""
from __future__ import annotations

import json
from functools import cache
from importlib import resources

from .steps import REGISTRY
from .trace import Source

UNKNOWN = Source("?", "?", (0, 0))
ARCH_FILE = "Arm ARM (ASL)"
# Steps that are the CPU's doing, not KVM's: cited by their ASL function, as the registry declares them.
ARCH = {sid: Source(d.func, d.file, (0, 0)) for sid, d in REGISTRY.items() if d.file == ARCH_FILE}
# Steps that are what the VMM or the host's mm does to start an event (munmap(), mmap(), page
# reclaim): named by the call, with no kernel lines: the simulator models KVM, not them.
OUTSIDE_FILES = ("the VMM (userspace)", "the host's page reclaim (mm)", "the host's mm (mm/vma.c, mm/huge_memory.c)")
OUTSIDE = {sid: Source(d.func, d.file, (0, 0)) for sid, d in REGISTRY.items() if d.file in OUTSIDE_FILES}


@cache
def _raw() -> dict:
    with resources.files(__package__).joinpath("data/sources.json").open() as fh:
        return json.load(fh)


@cache
def table() -> dict:
    data = _raw()
    return {mid: {sid: Source(v["func"], v["file"], tuple(v["lines"])) for sid, v in steps.items()}
            for mid, steps in data["models"].items()}


def source_for(mid: str, sid: str) -> Source:
    """A patch model cites its own (patched) lines only inside its hunks; elsewhere the code is the
    base tag's, so it cites the base tag's lines."""
    if sid in ARCH:
        return ARCH[sid]
    if sid in OUTSIDE:
        return OUTSIDE[sid]
    p = patch(mid)
    if p is not None and sid not in p["hunks"]:
        mid = p["base"]
    return table().get(mid, {}).get(sid, UNKNOWN)


def in_patch_hunk(mid: str, sid: str) -> bool:
    p = patch(mid)
    return p is not None and sid in p["hunks"]


def tag(mid: str) -> str:
    return _raw()["tags"][mid]


def patch(mid: str) -> dict | None:
    """For a model that is a patch on a tag: its lore link, base tag and the steps its hunks touch."""
    return _raw().get("patches", {}).get(mid)
