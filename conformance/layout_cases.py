"""Cases for a whole VM (issue 16): several memslots, and a memslot over several VMAs, as the probe
builds them, each with the permalink that expresses it.

The probe runs them (conformance/probe/probe.c, a line with the backing `layout`): every memslot is
registered with its own KVM slot id (1, 2, ...) at its own IPA, memslot 2 at 0xc000_0000 (the guest's
port, which the one-slot cases keep at 0xc000_0000, moves to 0xf000_0000 for these), with its own
flags; its userspace range is one block-aligned PROT_NONE reservation into which each VMA is mapped
with MAP_FIXED at its offset, in order, each backed as the one-slot cases back theirs (anonymous with
MADV_NOHUGEPAGE; /dev/mem MAP_SHARED over hidden RAM at a PA congruent with its IPA modulo a block,
with "S2VH" markers in the hidden RAM around it; the scattered udmabuf). Registration goes in slot
order and stops at the first refusal, as QEMU does (`@@C <id> memslot <slot> <errno>`). An access is
written `<op>:T<page>` (memslot 1), `<op>:S<slot>:<page>` or `<op>:N<page>`; `delslot`, `logon` and
`logoff` name their slot (`D:S2`). The harness (`--only-layout` runs only these) writes them to a
fixture of their own per run, app/data/conformance/layout-<kernel id>-<cpu>.json, with each memslot's
result as `memslots`; app/conformance/ compares that list with the model's (the JSON API's
`memslots[].result`) and every access and event as it does for the one-slot cases. The sizes are 4K
pages' (a /dev/mem VMA of 0x1000 bytes): the cases are run on the 4K kernels.

`split_query()` answers for the `split` backing the one-slot cases record (`split-pfnmap-block`: one
memslot over a one-page /dev/mem VMA and anonymous memory), which schema 1 alone could not express.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cached_property

SLOT2_IPA = 0xC000_0000
TEST_IPA, NOSLOT_IPA, PAGE = 0x4000_0000, 0x8000_0000, 0x1000
MEMSLOT_SIZE = 0x4000_0000
DEVMEM = "pfnmap,io,shared,maywrite:ngnrne:dev:2m"          # /dev/mem MAP_SHARED, 2 MiB-aligned HVA and PA
HOST_ORDER = ("fwb", "dic", "mte", "lpa2", "ha")
EVENT_OF = {"U": "unmap", "R": "replace", "A": "age", "L": "logon", "l": "logoff", "D": "delslot"}
OP_OF = {"r": "r", "w": "w", "x": "x", "z": "zva", "p": "ldp", "e": "ldxr", "a": "ldadd", "c": "civac"}
KIND_OF = {"r": "r", "w": "w", "x": "x", "zva": "w.noisv", "ldp": "r.noisv", "ldxr": "r.noisv", "ldadd": "r.noisv"}
VMA_KINDS = ("anon", "devmem", "udmabuf")                  # what the probe maps into a slot's reservation
# The permalink's first key of a whole VM or f: gs1 goes before it (the canonical order).
_AFTER_GS1 = ("remap", "v1", "s2", "v2", "s3", "v3", "s4", "v4", "s5", "v5", "s6", "v6", "s7", "v7", "s8", "v8",
              "f")


@dataclass(frozen=True)
class LayoutCase:
    """A whole-VM case, in the shape conformance/cases.py's Case has for the harness (ops, ipa(), item(),
    permalink(), probe_line()): `probe` is "<id> <slot>... [mte] <ops>", each slot
    "<ipa>:<size>:<flags>=<vma>/<vma>..." (hex) with its VMAs "<kind>[@<size>]" in HVA order (one of
    them without a size takes what the others leave), the ops as the probe takes them: an access
    "<letter>:T<page>" (memslot 1), "<letter>:S<slot>:<page>" or "<letter>:N<page>" (no memslot), an event
    "D:S<slot>" (also L, l) or "U:T<page>:<npages>". `query` is the layout's keys and f for a host with
    FWB and DIC; host=, gs1=off (the probe's guest runs with its MMU off) and the recorded faults are
    put in per run."""

    id: str
    title: str
    probe: str
    query: str
    needs: tuple[str, ...] = ()
    backing: str = "layout"
    slot: str = ""
    gs1: str = "off"
    ipa_bits: int = 40
    granules: tuple[str, ...] = ("4k", "16k")

    @cached_property
    def _words(self) -> list[str]:
        return self.probe.split()

    @property
    def vm(self) -> str:
        return ",".join(w for w in self._words[1:-1] if "=" not in w)

    @cached_property
    def slots(self) -> tuple[tuple[int, int, str, tuple[tuple[str, int], ...]], ...]:
        """Each memslot: (IPA, size, flags, ((VMA kind, size), ...)), every VMA's size given."""
        out = []
        for w in self._words[1:-1]:
            if "=" not in w:
                continue
            head, vmas = w.split("=", 1)
            ipa, size, flags = head.split(":")
            parts = [(v.split("@")[0], int(v.split("@")[1], 16) if "@" in v else None) for v in vmas.split("/")]
            assert all(k in VMA_KINDS for k, _ in parts) and sum(n is None for _, n in parts) <= 1, w
            rest = int(size, 16) - sum(n for _, n in parts if n is not None)
            out.append((int(ipa, 16), int(size, 16), "" if flags == "-" else flags,
                        tuple((k, rest if n is None else n) for k, n in parts)))
        return tuple(out)

    @property
    def first_vma(self) -> str:
        """The backing of memslot 1's first VMA (the schema-1 keys' VMA)."""
        return self.slots[0][3][0][0]

    @cached_property
    def ops(self) -> tuple[tuple, ...]:
        """As Case.ops: (op, where, page) with where "T" (memslot 1), "S<n>" or "N"; an event
        (event, "T", page, npages) or (event, "S" | "S<n>", 0)."""
        out: list[tuple] = []
        for tok in self._words[-1].split(","):
            if tok[0] in EVENT_OF and (len(tok) == 1 or tok[2] == "S"):
                out.append((EVENT_OF[tok[0]], "S" if len(tok) == 1 or tok[2:] == "S1" else tok[2:], 0))
            elif tok[0] in EVENT_OF:
                page, n = tok[3:].split(":")
                out.append((EVENT_OF[tok[0]], "T", int(page), int(n)))
            elif tok[2] == "S":
                slot, page = tok[2:].split(":")
                out.append((OP_OF[tok[0]], slot, int(page)))
            else:
                out.append((OP_OF[tok[0]], tok[2], int(tok[3:])))
        return tuple(out)

    @property
    def has_events(self) -> bool:
        return any(op[0] in EVENT_OF.values() for op in self.ops)

    def probe_line(self) -> str:
        """The probe's line: as a one-slot case's (id, backing "layout", slot flags, VM flags, guest
        stage 1, IPA size, ops), then one spec per memslot with every VMA's size."""
        specs = [f"{ipa:x}:{size:x}:{flags or '-'}=" + "/".join(f"{k}@{n:x}" for k, n in vmas)
                 for ipa, size, flags, vmas in self.slots]
        return " ".join((self.id, "layout", "-", self.vm or "-", self.gs1, str(self.ipa_bits), self._words[-1],
                         *specs))

    def slot_base(self, i: int) -> int | None:
        """The IPA of the memslot access i is in (None: no memslot)."""
        where = self.ops[i][1]
        return None if where == "N" else TEST_IPA if where in ("T", "S", "S1") else self.slots[int(where[1:]) - 1][0]

    def ipa(self, i: int, page: int = PAGE) -> int:
        base = self.slot_base(i)
        return (NOSLOT_IPA if base is None else base) + self.ops[i][2] * page

    def item(self, i: int, page: int = PAGE) -> str:
        op = self.ops[i]
        if op[0] in ("delslot", "logon", "logoff"):
            return op[0] if op[1] in ("S", "S1") else f"{op[0]}:{self.slot_base(i):x}"
        if op[0] in EVENT_OF.values():
            size = op[3] * page if op[3] else TEST_IPA + MEMSLOT_SIZE - self.ipa(i, page)
            return f"{op[0]}:{self.ipa(i, page):x}" + (f":{size:x}" if size != page else "")
        return f"{self.ipa(i, page):x}{KIND_OF[op[0]]}"

    def permalink(self, model: str, host: set[str], page: int = PAGE, items: list[str] | None = None,
                  kernel: str = "7.3.4") -> tuple[str | None, str | None]:
        if "mte" in self.needs and "mte" not in host:
            return None, "the host has no MTE"
        hs = ",".join(h for h in HOST_ORDER if h in host)
        q = _with(self.query, "host", None if hs == "fwb,dic" else hs, ("vma", "mt", "mem"))
        q = _with(q, "gs1", self.gs1 if self.gs1 != "wb" else None, (), before=_AFTER_GS1)
        if items is not None:
            q = q.split("&f=")[0] + "&f=" + ",".join(items)
        return f"/{model}/?{q}", None


def _scale(n: int, page: int) -> int:
    """A size or offset written for 4K pages (so many 2 MiB blocks and 4K pages) for a host whose pages are
    `page` bytes: as many level-2 blocks and pages of its own."""
    blocks, rest = divmod(n, 0x20_0000)
    assert rest % 0x1000 == 0, hex(n)
    return blocks * (page * page // 8) + rest // 0x1000 * page


def at_page(case: LayoutCase, page: int) -> LayoutCase:
    """The case for a host with `page`-byte pages: every size, offset and page number written for 4K pages
    made as many of the host's blocks and pages (a one-page /dev/mem VMA stays one page, a 2 MiB-aligned
    offset is block-aligned), the permalink's block size and granule with them."""
    if page == PAGE:
        return case
    ratio = (page * page // 8) // 0x20_0000 * 0x1000 // page       # 4K pages of a 2 MiB block -> host pages

    def spec(m):
        head, vmas = m.group(1), m.group(2)
        ipa, size, flags = head.split(":")
        vmas = "/".join(v if "@" not in v else f"{v.split('@')[0]}@{_scale(int(v.split('@')[1], 16), page):x}"
                        for v in vmas.split("/"))
        return f"{ipa}:{_scale(int(size, 16), page):x}:{flags}={vmas}"

    def op(tok):
        m = re.fullmatch(r"([a-zA-Z]):(T|N|S\d+:)(\d+)(:\d+)?", tok)
        if not m:
            return tok
        blocks, rest = divmod(int(m.group(3)), 512)
        return f"{m.group(1)}:{m.group(2)}{blocks * 512 * ratio + rest}{m.group(4) or ''}"

    words = case.probe.split()
    words = [re.sub(r"^([0-9a-f]+:[0-9a-f]+:[a-z,-]+)=(.*)$", spec, w) for w in words[:-1]] + \
        [",".join(op(t) for t in words[-1].split(","))]
    block = {0x4000: "32m", 0x10000: "512m"}[page]
    assert "v1=" not in case.query, "memslot 1's other VMAs take what its first leaves of 1 GiB: not scaled"
    slots = replace(case, probe=" ".join(words)).slots
    parts = []
    for p in case.query.split("&"):
        key, value = p.split("=", 1)
        if re.fullmatch(r"s\d", key):
            ipa, size, *flags = value.split(":")
            value = ":".join([ipa, f"{_scale(int(size, 16), page):x}", *flags])
        elif re.fullmatch(r"v\d", key):
            # The slot's VMAs after its first, sized as the probe's (the first takes what they leave).
            vmas = slots[int(key[1:]) - 1][3]
            value = "/".join(v if j == 0 else f"{v.split('@')[0]}@{vmas[j][1]:x}"
                             for j, v in enumerate(value.split("/"))).replace(":2m", ":" + block)
        elif key == "pg":
            value = block
        parts.append(f"{key}={value}")
    query = _with("&".join(parts), "g", {0x4000: "16k", 0x10000: "64k"}[page], (),
                  before=("ipa", "pg", "gs1") + _AFTER_GS1)
    scaled = replace(case, probe=" ".join(words), query=query)
    return replace(scaled, query=query.split("&f=")[0] + "&f=" + ",".join(scaled.item(i, page)
                                                                          for i in range(len(scaled.ops))))


def _with(query: str, key: str, value: str | None, after: tuple[str, ...], before: tuple[str, ...] = ()) -> str:
    """The query with `key` set to `value` (None: left out), placed after the keys `after` or before the
    first of `before`, as the canonical order has it."""
    parts = [p for p in query.split("&") if p.split("=")[0] != key]
    if value is None:
        return "&".join(parts)
    names = [p.split("=")[0] for p in parts]
    at = next((i for i, n in enumerate(names) if n in before), len(parts)) if before else \
        next((i for i, n in enumerate(names) if n not in after), len(parts))
    return "&".join(parts[:at] + [f"{key}={value}"] + parts[at:])


SPLIT2 = f"s2=c0000000:400000&v2=maywrite/{DEVMEM}@1000/maywrite@1ff000"

CASES = (
    LayoutCase("vm-two-slots", "anonymous RAM in slot 1, /dev/mem in slot 2: a load in each, a fetch from slot 2, "
               "a load where no slot is",
               "vm-two-slots 40000000:200000:-=anon c0000000:200000:-=devmem r:T0,r:S2:0,x:S2:1,r:N0",
               f"s2=c0000000:200000&v2={DEVMEM}&f=40000000r,c0000000r,c0001000x,80000000r"),
    LayoutCase("vm-split-log", "slot 2 over anonymous RAM, one /dev/mem page and RAM again, with dirty logging: "
               "refused at its second VMA",
               "vm-split-log 40000000:200000:-=anon c0000000:400000:log=anon@200000/devmem@1000/anon r:T0",
               SPLIT2.replace("c0000000:400000", "c0000000:400000:log") + "&f=40000000r"),
    LayoutCase("vm-split-mte", "an MTE VM, slot 2 as above: the /dev/mem VMA lacks VM_MTE_ALLOWED",
               "vm-split-mte 40000000:200000:-=anon c0000000:400000:-=anon@200000/devmem@1000/anon mte r:T0",
               "vma=maywrite,mteok&host=fwb,dic,mte&vm=mte&" + SPLIT2.replace("v2=maywrite/", "v2=maywrite,mteok/")
               .replace("/maywrite@1ff000", "/maywrite,mteok@1ff000") + "&f=40000000r", needs=("mte",)),
    LayoutCase("vm-split-block", "slot 2 as above: a load of the /dev/mem page, then of the RAM page after it",
               "vm-split-block 40000000:200000:-=anon c0000000:400000:-=anon@200000/devmem@1000/anon "
               "r:S2:512,r:S2:513",
               SPLIT2 + "&f=c0200000r,c0201000r"),
    LayoutCase("vm-delslot2", "two slots: delete slot 2, then load from each",
               "vm-delslot2 40000000:200000:-=anon c0000000:200000:-=anon r:T0,r:S2:0,D:S2,r:S2:0,r:T0",
               "s2=c0000000:200000&f=40000000r,c0000000r,delslot:c0000000,c0000000r,40000000r"),
    # A cacheable VM_PFNMAP (the udmabuf of the one-slot cases) as the first MiB of memslot 1, anonymous
    # memory after it: v6.17 on refuse the slot without FWB and DIC (mmu.c 6.17.8:2264, 7.1.3:2666,
    # 7.3.4:2674), so slot 2 is never registered; where it is registered, the models that size VM_PFNMAP
    # from the VMA map a 2 MiB block from the udmabuf's first page over the anonymous MiB.
    LayoutCase("vm-udmabuf-split", "slot 1 over a 1 MiB udmabuf and anonymous memory, slot 2 anonymous: a load of "
               "the udmabuf, of the anonymous MiB, of slot 2",
               "vm-udmabuf-split 40000000:200000:-=udmabuf@100000/anon c0000000:200000:-=anon r:T0,r:T256,r:S2:0",
               "vma=pfnmap,shared,maywrite&mem=sg&pg=2m&v1=maywrite@3ff00000&s2=c0000000:200000"
               "&f=40000000r,40100000r,c0000000r", granules=("4k",)),
)
BY_ID = {c.id: c for c in CASES}


def split_query(ops: list[str], page: int = 0x1000, host: frozenset[str] = frozenset({"fwb", "dic"}),
                kernel: str = "7.3.4") -> str:
    """The permalink query of the `split` backing the one-slot cases record (case `split-pfnmap-block`: its
    test slot's first page /dev/mem at a block-aligned PA and HVA, the rest anonymous memory), for a host
    with these features and page size: memslot 1's first VMA is the /dev/mem page, `v1` the anonymous rest
    of the slot. `ops`: the `f` items."""
    from .cases import BY_ID as ONE_SLOT

    link, why = ONE_SLOT["split-pfnmap-block"].permalink("v7.3", set(host), page, list(ops), kernel)
    assert link, why
    return link.split("?", 1)[1]
