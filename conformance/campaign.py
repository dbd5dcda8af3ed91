"""The random campaign: a seeded generator of cases the probe can realise, drawn per kernel and CPU
model, recorded in the same boot as the hand-written cases and compared the same way.

A drawn case is a backing, VM and slot flags, an IPA size, the guest's stage-1 type and a sequence of
1-6 items: accesses (loads, stores, fetches, DC ZVA, LDP, LDXR, LDADD) on a few pages of the test slot
or outside every memslot, and host events between them (unmap, replace, age of a few pages, dirty
logging on or off, the slot deleted), each of a kind the probe can perform on that backing. Only cases
whose permalink the grammar accepts are kept (a case no permalink can express would be recorded and
never compared). The same seed, kernel id and CPU model give the same cases.
"""
from __future__ import annotations

import random

from .cases import BACKINGS, EVENTS, OPS, Case

SEED = 20
N_4K, N_16K = 500, 500

_BACKINGS = ("anon", "thp", "hugetlb", "anonshared", "memfd", "devmem", "devmem4k", "devmemp", "udmabuf",
             "udmabuf4k", "bar", "barwc", "vfio", "remapdev", "gmem", "none")
_ACCESSES = ("r", "r", "r", "w", "w", "x", "zva", "ldp", "ldxr", "ldadd")
_PAGES = (0, 0, 1, 2, 3, 5, 17, 511)
EVENT_SHARE = 0.3          # of the items of a case with a test slot
# The backings the probe's replace can map again (conformance/probe replace_range()), and those whose pages
# are on the host's LRU lists, which DAMON ages (the permalink refuses age elsewhere).
_REPLACEABLE = ("anon", "thp", "hugetlb", "memfd", "devmem")
_AGEABLE = ("anon", "thp", "anonshared", "memfd")


def _valid(case: Case, page: int) -> bool:
    from app.permalink import parse_query
    for host in (set(), {"fwb", "ha"}, {"fwb", "dic", "mte", "lpa2", "ha"}):
        link, why = case.permalink("v7.3", host, page)
        if link is None:
            if why == "the host has no MTE":
                continue
            return False
        if not parse_query(link.split("?", 1)[1]).ok:
            return False
    return True


def draw(kid: str, cpu: str, n: int | None = None, seed: int = SEED) -> list[Case]:
    """n cases for the run of kernel id `kid` on `cpu` (the 16K flavour draws N_16K, others N_4K)."""
    sixteen = kid.endswith("-16k")
    page = 0x4000 if sixteen else 0x1000
    n = n if n is not None else N_16K if sixteen else N_4K
    rng = random.Random(f"{seed}/{kid}/{cpu}")
    out: list[Case] = []
    tries = 0
    while len(out) < n and tries < 50 * n:
        tries += 1
        backing = rng.choice(_BACKINGS)
        if sixteen and backing.startswith("udmabuf"):
            continue                        # mem=sg is a 4K-granule backing in schema 1
        slot = "" if backing == "none" else rng.choice(("", "", "", "log", "ro", "log,ro"))
        vm = rng.choice(("", "", "", "nisv") + (("mte", "mte") if cpu == "max" else ()))
        # No 52-bit VM on 16K hosts: destroying one makes the kernel invalidate the whole IPA space by
        # range, which QEMU's TCG emulates one TLBI at a time (about a minute per VM); the hand-written
        # cases keep two.
        ipa_bits = rng.choice((40,) * 6 + (36, 44, 48) + (() if sixteen else (52,)))
        gs1 = rng.choice(("off", "wb", "nc", "ngnrne")) if ipa_bits == 40 else "off"
        ops = []
        for _ in range(rng.randint(1, 6)):
            if backing != "none" and rng.random() < EVENT_SHARE:
                ops.append(_event(rng, backing, page))
                continue
            op = rng.choice(_ACCESSES)
            where = "N" if backing == "none" or rng.random() < 0.1 else "T"
            ops.append((op, where, rng.choice(_PAGES)))
        if backing == "gmem":
            slot = ""      # the probe registers a guest_memfd slot with KVM_MEM_GUEST_MEMFD alone
        needs = tuple(x for x, on in (("mte", vm == "mte"), ("vfio", backing == "vfio")) if on)
        case = Case(f"rnd{seed}.{len(out)}", _title(backing, slot, vm, ipa_bits, gs1, ops), backing, tuple(ops),
                    slot=slot, vm=vm, gs1=gs1, needs=needs, ipa_bits=ipa_bits)
        if _valid(case, page):
            out.append(case)
    return out


def _event(rng: random.Random, backing: str, page: int) -> tuple:
    """A host event the probe can perform on this backing: (kind, "T", first page, pages; 0: to the slot's
    end) for a range, (kind, "S", 0) for the slot."""
    kinds = ["unmap", "unmap", "logon", "logoff", "delslot"]
    kinds += ["replace"] if backing in _REPLACEABLE else []
    kinds += ["age", "age"] if backing in _AGEABLE else []
    kind = rng.choice(kinds)
    if kind not in ("unmap", "replace", "age"):
        return (kind, "S", 0)
    slot_pages = page // 8
    if backing == "hugetlb":
        return (kind, "T", 0, 0)          # hugetlbfs VMAs are unmapped and mapped in whole huge pages
    first = rng.choice(_PAGES)
    # Aging a few pages only: the probe's DAMON samples every page of the range in one region each, and
    # hundreds of regions make more KVM calls than the trace keeps while the probe waits for them.
    n = rng.choice((1, 1, 1, 2, 3) if kind == "age" else (1, 1, 1, 2, 3, 0))
    return (kind, "T", first, min(n, slot_pages - first) if n else 0)


def _title(backing, slot, vm, ipa_bits, gs1, ops) -> str:
    what = BACKINGS[backing][0].split(",")[0].split(" (")[0]
    flags = ", ".join(x for x in (slot and f"slot {slot}", vm and f"VM {vm}", ipa_bits != 40 and f"{ipa_bits}-bit IPA",
                                  f"guest stage 1 {gs1}") if x)
    acc = ", ".join(_item_title(op) for op in ops)
    return f"{what}; {flags}: {acc}"


def _item_title(op: tuple) -> str:
    if op[0] not in EVENTS:
        o, w, p = op
        return f"{OPS[o][0].split(' (')[0]} {'page ' + str(p) if w == 'T' else 'outside the slots'}"
    if op[1] == "S":
        return {"logon": "dirty logging on", "logoff": "dirty logging off", "delslot": "delete the slot"}[op[0]]
    pages = f"pages {op[2]}-{op[2] + op[3] - 1}" if op[3] > 1 else f"page {op[2]}" if op[3] else f"pages {op[2]}-end"
    return {"unmap": "munmap", "replace": "map again", "age": "age"}[op[0]] + " " + pages


def is_drawn(case_id: str) -> bool:
    return case_id.startswith("rnd")
