"""Hypothesis strategies for scenarios and queries."""
from dataclasses import replace

from hypothesis import strategies as st

from app.permalink import _mod_clash, check_combinations
from app.sim import scenario as s

IPAS = st.one_of(
    st.integers(s.MEMSLOT_GPA, s.MEMSLOT_GPA + s.MEMSLOT_SIZE - 1).map(lambda x: x & ~0xFFF),
    st.sampled_from([0x4000_0000, 0x4000_1000, 0x4020_0000, 0x7FFF_F000, 0x8000_0000, 0x9000_0000,
                     0x1_0000_0000, 1 << 40, 1 << 52]),
)


@st.composite
def faults(draw):
    kind = draw(st.sampled_from(s.FAULT_KINDS))
    allowed = ["ptw", "af"] if kind == "x" else list(s.FAULT_MODS)
    mods = draw(st.sets(st.sampled_from(allowed), max_size=2))
    f = s.Fault(draw(IPAS), kind, frozenset(mods))
    while _mod_clash(f):        # drop modifiers until the combination is one a guest can make
        f = s.Fault(f.ipa, f.kind, frozenset(sorted(f.mods)[1:]))
    return f


@st.composite
def events(draw, page: int):
    """One host event: a range event over pages of the memslot (one page, a few, a 2M or 1G-aligned
    block), or dirty logging on/off, or the memslot deleted."""
    kind = draw(st.sampled_from(s.EVENT_KINDS))
    if kind not in s.RANGE_EVENTS:
        return s.Event(kind)
    size = draw(st.sampled_from([page, 2 * page, 3 * page, s.SZ_2M, s.SZ_1G // 2]))
    size = max(page, size - size % page)
    start = draw(st.sampled_from([s.MEMSLOT_GPA, s.MEMSLOT_GPA + page, s.MEMSLOT_GPA + s.SZ_2M,
                                  s.MEMSLOT_GPA + s.SZ_2M - page, s.MEMSLOT_GPA + s.MEMSLOT_SIZE - size]))
    return s.Event(kind, start - start % page, size)


def with_events(draw, sc, max_items: int):
    """sc with host events drawn between its faults (none after logging a deleted slot)."""
    count = draw(st.integers(0, max(0, min(4, max_items - len(sc.faults)))))
    evs, deleted = [], False
    for _ in range(count):
        ev = draw(events(sc.page_size))
        if deleted and ev.kind in ("logon", "logoff"):
            continue
        deleted = deleted or ev.kind == "delslot"
        evs.append(replace(ev, after=draw(st.integers(0, len(sc.faults)))))
    evs.sort(key=lambda e: e.after)        # stable: events at the same place keep their order
    deleted = False
    kept = []
    for ev in evs:                         # after sorting, no logon/logoff may follow a delslot
        if deleted and ev.kind in ("logon", "logoff"):
            continue
        deleted = deleted or ev.kind == "delslot"
        kept.append(ev)
    return replace(sc, events=tuple(kept))


@st.composite
def scenarios(draw, max_faults=6, with_host_events=True):
    g = draw(st.sampled_from(s.GRANULES))
    sc = s.Scenario(
        vma=frozenset(draw(st.sets(st.sampled_from(s.VMA_FLAGS)))),
        mt=draw(st.sampled_from(s.MEM_TYPES)),
        mem=draw(st.sampled_from(s.BACKINGS)),
        host=frozenset(draw(st.sets(st.sampled_from(s.HOST_FEATURES)))),
        vm=frozenset(draw(st.sets(st.sampled_from(s.VM_OPTIONS)))),
        slot=frozenset(draw(st.sets(st.sampled_from(s.SLOT_FLAGS)))),
        g=g,
        ipa=draw(st.integers(s.IPA_BITS_MIN, s.IPA_BITS_MAX)),
        pg=draw(st.sampled_from([None, *s.HOST_LEAF_SIZES[g]])),
        gs1=draw(st.sampled_from(s.GUEST_S1_TYPES)),
        remap=draw(st.booleans()),
        faults=tuple(draw(st.lists(faults(), max_size=max_faults))),
    )
    if with_host_events:
        sc = with_events(draw, sc, s.MAX_FAULTS)
    sc, _ = check_combinations(sc)
    return replace(sc)
