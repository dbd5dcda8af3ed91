"""A backing whose pages are RAM but not physically contiguous (`mem=sg`): a udmabuf made of
memfd pages, the way a VMM shares guest memory with a device model.

The layout is fixed, so that a permalink always means the same addresses: page k of the memslot
lives at its own 2 MiB-spaced host frame, never next to page k+1, and page 0 of every 2 MiB of
IPA space is not 2 MiB-aligned in PA. Kernels that size a VM_PFNMAP mapping from the VMA's
vm_pgoff (get_vma_page_shift()) rather than from the host's stage-1 leaf map a whole block's
worth of host memory that follows the first page physically: host pages that are not the
buffer's. "KVM: arm64: Use stage-1 leaf size for VM_PFNMAP" (mainline 7.3-rc6; 7.2.10, 6.18.56,
6.12.113) made the size follow the stage-1 leaf.
"""
from __future__ import annotations

from ..scenario import MEMSLOT_GPA, SZ_2M

SG_BASE = 0x10_0000_0000            # host PA of the buffer's first frame region


def page_pa(ipa: int, page_size: int) -> int:
    """Host PA of the buffer page that backs `ipa` (with its offset in the page)."""
    k = (ipa - MEMSLOT_GPA) // page_size
    per_block = SZ_2M // page_size
    return SG_BASE + k * SZ_2M + ((7 * k + 1) % per_block) * page_size + ipa % page_size


def buffer_page_at(pa: int, page_size: int) -> int | None:
    """Which buffer page, if any, lives at host PA `pa`."""
    if pa < SG_BASE:
        return None
    k = (pa - SG_BASE) // SZ_2M
    return k if page_pa(MEMSLOT_GPA + k * page_size, page_size) == pa & ~(page_size - 1) else None


def overmapped(ipa: int, size: int, pa: int, page_size: int, limit: int = 3) -> tuple[int, list[tuple]]:
    """The pages of a mapping [ipa, ipa+size) -> [pa, pa+size) that are not the buffer pages the
    guest expects there: (how many, the first `limit` as (ipa, host pa, buffer page or None))."""
    bad, shown = 0, []
    for off in range(0, size, page_size):
        host = pa + off
        if page_pa(ipa + off, page_size) != host:
            bad += 1
            if len(shown) < limit:
                shown.append((ipa + off, host, buffer_page_at(host, page_size)))
    return bad, shown


def explain(t, sc, size: int, ipa: int, pa: int, fault_ipa: int) -> bool:
    """The step that names what a mapping of a scattered backing will really map; True when it
    covers host pages that are not the buffer's."""
    page = sc.page_size
    bad, shown = overmapped(ipa, size, pa, page)
    if bad == 0:
        return False
    if not t:
        return True
    page_ipa = fault_ipa & ~(page - 1)
    t.step("get_vma_page_shift", size=size, ipa=ipa, overmapped=bad,
           shown=tuple((i, h, b, page_pa(i, page)) for i, h, b in shown), page_ipa=page_ipa,
           got=pa + page_ipa - ipa, expect=page_pa(page_ipa, page))
    return True
