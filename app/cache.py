"""One memory budget for everything a worker memoises.

Every cache in a process (rendered responses, their compressed forms, traces, behaviour grids)
is a namespace of one LRU whose values are counted in estimated bytes. The sum stays under the
budget whatever is asked of the worker: new entries push the least recently used ones out, and a
value larger than a slice of the budget is built and returned but not kept.

The budget comes from S2VIZ_CACHE_MB (default 64); the factory installs one store per app.
"""
from __future__ import annotations

import sys
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
        size += ENTRY_OVERHEAD + _key_size(key)
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


def memo(key: Hashable, build: Callable[[], object], size: Callable[[object], int] | None = None):
    """The value kept under key, or build() kept and returned. Two threads missing at once may
    both build; the values are equal (every cached thing here is a pure function of its key)."""
    lru = store()
    hit = lru.get(key)
    if hit is not None:
        return hit
    value = build()
    return lru.put(key, value, (size or deep_size)(value))


def deep_size(obj, _seen: set | None = None) -> int:
    """Estimated bytes held by obj and everything it references (containers, slots, __dict__)."""
    seen = set() if _seen is None else _seen
    stack = [obj]
    total = 0
    while stack:
        o = stack.pop()
        if id(o) in seen or o is None or isinstance(o, (bool, type)):
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        if isinstance(o, (str, bytes, bytearray, int, float)):
            continue
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(o)
        else:
            for cls in type(o).__mro__:
                slots = getattr(cls, "__slots__", ())
                for name in (slots,) if isinstance(slots, str) else slots:
                    stack.append(getattr(o, name, None))
            if hasattr(o, "__dict__"):
                stack.append(o.__dict__)
    return total


def _key_size(key) -> int:
    """Keys count too: a scenario of 64 faults in a key outweighs a small compressed body."""
    return deep_size(key)
