"""One memory budget for everything a worker memoises.

Every cache in a process (rendered responses, their compressed forms, traces, story steps,
behaviour grids) is a namespace of one LRU whose values are counted in estimated bytes. The sum
stays under the budget whatever is asked of the worker: new entries push the least recently used
ones out, and a value larger than a slice of the budget is built and returned but not kept.

Sizes are estimates the caller gives with the value, cheap to compute and on the high side: a
body's length, a trace's step count times the bytes a step was measured to take (app/web/traces.py).
Keys are strings, bytes, numbers and tuples of them, sized by their length.

The budget comes from S2VIZ_CACHE_MB (default 64); the factory installs one store per app.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

DEFAULT_BUDGET = 64 * 1024 * 1024
LARGEST_SHARE = 8          # no single value may take more than budget / LARGEST_SHARE
ENTRY_OVERHEAD = 120       # the LRU's own bookkeeping per entry, in bytes (its links and size)


class ByteLRU:
    """A thread-safe LRU bounded by the estimated size of its keys and values."""

    def __init__(self, budget: int = DEFAULT_BUDGET):
        self.budget = budget
        self.used = 0
        self._data: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: Hashable):
        with self._lock:
            hit = self._data.get(key)
            if hit is None:
                return None
            self._data.move_to_end(key)
            return hit[0]

    def put(self, key: Hashable, value, size: int):
        """Keep value (of about `size` bytes) under key, unless it is too large; return value."""
        size += ENTRY_OVERHEAD + key_size(key)
        if size > self.budget // LARGEST_SHARE:
            return value
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.used -= old[1]
            self._data[key] = (value, size)
            self.used += size
            while self.used > self.budget and self._data:
                _, (_, freed) = self._data.popitem(last=False)
                self.used -= freed
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.used = 0


EXTENSION = "s2viz.cache"
_fallback = ByteLRU()          # outside a request (scripts, the CLI): the same kind of bounded store


def install(app, budget: float) -> ByteLRU:
    """Give app its store: one per app, and a worker serves one app, so one budget per worker."""
    store = app.extensions[EXTENSION] = ByteLRU(max(1024 * 1024, int(budget)))
    return store


def store() -> ByteLRU:
    from flask import current_app, has_app_context
    return current_app.extensions[EXTENSION] if has_app_context() and EXTENSION in current_app.extensions \
        else _fallback


def memo(key: Hashable, build: Callable[[], object], size: Callable[[object], int]):
    """The value kept under key, or build() kept and returned, counted as size(value) bytes. Two
    threads missing at once may both build; the values are equal (every cached thing here is a
    pure function of its key)."""
    lru = store()
    hit = lru.get(key)
    if hit is not None:
        return hit
    value = build()
    return lru.put(key, value, size(value))


# What CPython takes for the objects a key is made of, beyond their characters (64-bit builds).
STR_OVERHEAD, TUPLE_OVERHEAD, TUPLE_SLOT, NUMBER = 49, 40, 8, 32


def key_size(key) -> int:
    """The bytes a key holds: strings and bytes by their length, tuples by their items."""
    if isinstance(key, (str, bytes)):
        return STR_OVERHEAD + len(key)
    if isinstance(key, tuple):
        return TUPLE_OVERHEAD + TUPLE_SLOT * len(key) + sum(key_size(k) for k in key)
    if key is None or isinstance(key, (int, float)):
        return NUMBER
    raise TypeError(f"a cache key is made of strings, bytes, numbers and tuples, not {type(key).__name__}")
