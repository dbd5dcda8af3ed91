"""Cases for a whole VM (issue 16): several memslots, and a memslot over several VMAs, as the probe
would build them, each with the permalink that expresses it.

Nothing here is run yet: the probe registers one test slot (conformance/probe/probe.c). These cases
use ids of their own (`vm-...`), so that adding them never disturbs a recording of the others. What
a recording needs, from the probe and the harness:

- a second memslot (KVM slot id 2) at IPA 0xc000_0000, above the no-memslot IPA the cases use
  (0x8000_0000), registered after the test slot, with its own flags; its userspace range one
  2 MiB-aligned hole (an anonymous PROT_NONE reservation) into which each VMA is mapped with
  MAP_FIXED at its offset, in order, each backing built as the one-slot cases build it (anonymous
  with MADV_NOHUGEPAGE, /dev/mem MAP_SHARED over hidden RAM with "S2VH" markers in the pages past
  the mapped one, as the existing `split` backing does);
- registration in slot order, stopping at the first refusal as QEMU does, each slot's errno recorded
  (`@@C <id> memslot <slot> <errno>`), and the harness writing them as the fixture's `memslots`;
- accesses to any slot: an op's place written `S<slot>:<page>` (slot 1 is `T`), the guest reaching
  the IPA the probe computes for it;
- `delslot`, `logon` and `logoff` naming their slot (`D:S2`), the probe passing that slot's id;
- app/conformance.py comparing `memslots` with the trace's `slots` and each access as today.

`split_query()` answers for the `split` backing the conformance branch already records (one memslot
over a one-page /dev/mem VMA and anonymous memory), which schema 1 could not express.
"""
from __future__ import annotations

from dataclasses import dataclass

SLOT2_IPA = 0xC000_0000
DEVMEM = "pfnmap,io,shared,maywrite:ngnrne:dev:2m"          # /dev/mem MAP_SHARED, 2 MiB-aligned HVA and PA


@dataclass(frozen=True)
class LayoutCase:
    id: str
    title: str
    probe: str                  # the proposed probe line: id, slots ("<ipa>:<size>:<flags>=<vma>/<vma>..."), ops
    query: str                  # the layout's keys and f, for a host with FWB and DIC (host= is added per run)
    needs: tuple[str, ...] = ()

    def permalink(self, model: str, host: set[str]) -> tuple[str | None, str | None]:
        if "mte" in self.needs and "mte" not in host:
            return None, "the host has no MTE"
        hs = ",".join(h for h in ("fwb", "dic", "mte") if h in host)
        q = self.query if hs == "fwb,dic" else _with_host(self.query, hs)
        return f"/{model}/?{q}", None


def _with_host(query: str, host: str) -> str:
    parts = [p for p in query.split("&") if not p.startswith("host=")]
    at = next((i for i, p in enumerate(parts) if p.split("=")[0] not in ("vma", "mt", "mem")), len(parts))
    return "&".join(parts[:at] + [f"host={host}"] + parts[at:])


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
