"""The cacheable-PFNMAP series as it was posted: each revision the models decide with (SERIES, in the
order posted, mainline's block state and the merged v6.17 last), where its mail is, what it applies
to, what it changes; and, between two revisions, the change and the review that asked for it.

Every Message-ID and date here was read from the mail archives (the lists' own copies of each
message); a link is https://lore.kernel.org/r/<Message-ID>. The one-line summaries are this
project's, not the authors' words.
"""
from __future__ import annotations

from dataclasses import dataclass

LORE = "https://lore.kernel.org/r/"


@dataclass(frozen=True)
class Mail:
    who: str
    date: str
    message_id: str
    says: str = ""

    @property
    def link(self) -> str:
        return LORE + self.message_id


@dataclass(frozen=True)
class Revision:
    model: str                   # the model that decides with this revision's code
    label: str                   # "v4", "2a8dfab26677", "v6.17"
    mail: Mail                   # the cover letter (or the mail that applied it)
    subject: str
    base: str                    # what it applies to, as posted
    modelled_on: str             # the tag whose code and lines the model uses outside the hunks
    changes: str                 # what its code decides, in one line
    also: tuple[Mail, ...] = ()  # later postings of the same code (v6)


@dataclass(frozen=True)
class Between:
    """From one revision to the next: what changed, and the review that asked for it."""
    change: str
    review: tuple[Mail, ...]


ANKIT = "Ankit Agrawal"

REVISIONS = (
    Revision("patch-v1", "v1", Mail(ANKIT, "Thu 7 Sep 2023", "20230907181459.18145-1-ankita@nvidia.com"),
             "KVM: arm64: support write combining and cachable IO memory in VMs",
             "next-20230906", "v6.14",
             "The stage-2 type follows the VMA's pgprot, the PFN still decides exec; without FWB no PFN without a "
             "struct page is mapped; every device mapping becomes Normal-NC (2/2)."),
    Revision("patch-v2", "v2", Mail(ANKIT, "Mon 18 Nov 2024", "20241118131958.4609-1-ankita@nvidia.com"),
             "KVM: arm64: Map GPU memory with no struct pages", "next-20241117", "v6.14",
             "noncacheable (VM_IO, no struct page, an MTE VM without VM_MTE_ALLOWED) decides exec, huge pages "
             "and MTE; the pgprot alone the type; without FWB no PFN without a struct page is mapped."),
    Revision("patch-v3", "v3", Mail(ANKIT, "Mon 10 Mar 2025", "20250310103008.3471-1-ankita@nvidia.com"),
             "KVM: arm64: Map GPU device memory as cacheable", "next-20250305 (mmu.c as in v6.14)", "v6.14",
             "Only a VM_PFNMAP VMA with exactly MT_NORMAL is mapped cacheable (cacheable_devmem), with FWB, "
             "checked at fault time; COW VM_PFNMAP refused with mmap_lock held."),
    Revision("patch-v4", "v4", Mail(ANKIT, "Sun 18 May 2025", "20250518054754.5345-1-ankita@nvidia.com"),
             "KVM: arm64: Map GPU device memory as cacheable", "next-20250407", "v6.14",
             "A cacheable VM_PFNMAP memslot needs KVM_MEM_ENABLE_CACHEABLE_PFNMAP, FWB and DIC; DIC is checked at "
             "fault time too; capability 240."),
    Revision("patch-v5", "v5", Mail(ANKIT, "Fri 23 May 2025", "20250523154445.3779-1-ankita@nvidia.com"),
             "KVM: arm64: Map GPU device memory as cacheable", "next-20250407", "v6.14",
             "Anything but Normal-NC and Device-* is cacheable; kvm_arch_supports_cacheable_pfnmap() (FWB and DIC) "
             "decides everywhere; the flag is valid only where it is true.",
             also=(Mail(ANKIT, "Sat 24 May 2025", "20250524013943.2832-1-ankita@nvidia.com",
                        "v6 posts the same mmu.c and kvm_main.c: the weak default moved from 5/5 to 2/5, so that "
                        "every patch builds (Donald Dutile's build report on v5)"),)),
    Revision("patch-v7", "v7", Mail(ANKIT, "Wed 18 Jun 2025", "20250618065541.50049-1-ankita@nvidia.com"),
             "KVM: arm64: Map GPU device memory as cacheable", "next-20250610", "v6.14",
             "No memslot flag: a cacheable VM_PFNMAP memslot needs FWB and DIC; capability 243; the fault-time "
             "FWB+DIC check covers every cacheable VMA, guest RAM included."),
    Revision("patch-v8", "v8", Mail(ANKIT, "Fri 20 Jun 2025", "20250620120946.2991-1-ankita@nvidia.com"),
             "KVM: arm64: Map GPU device memory as cacheable", "next-20250610", "v6.14",
             "Only VM_PFNMAP/VM_MIXEDMAP memory outside the kernel's map is special: a cacheable VM_PFNMAP needs "
             "FWB and DIC (-EFAULT), a cacheable VM_MIXEDMAP is refused, COW refused after the unlock."),
    Revision("patch-v9", "v9", Mail(ANKIT, "Sat 21 Jun 2025", "20250621042111.3992-1-ankita@nvidia.com"),
             "KVM: arm64: Map GPU device memory as cacheable", "next-20250610", "v6.14",
             "A cacheable VM_MIXEDMAP follows the VM_PFNMAP rules; the COW refusal covers it too."),
    Revision("patch-v10", "v10", Mail(ANKIT, "Sat 5 Jul 2025", "20250705071717.5062-1-ankita@nvidia.com"),
             "KVM: arm64: Map GPU device memory as cacheable", "next-20250610", "v6.14",
             "No COW refusal; the dead checks gone: the code that was merged."),
    Revision("block-pfnmap", "2a8dfab26677",
             Mail("Oliver Upton", "Mon 7 Jul 2025", "175193253138.1687959.6241606194423745301.b4-ty@linux.dev"),
             "KVM: arm64: Block cacheable PFNMAP mapping (mainline, with 8cc9dc1ae4fb and 216887f79d98)",
             "kvmarm (v10 1/6 to 3/6 as applied)", "v6.14",
             "Mainline between two commits of the series: every cacheable VM_PFNMAP memslot refused, on any host; "
             "a cacheable VM_PFNMAP/VM_MIXEDMAP over memory outside the kernel's map refused at fault time."),
    Revision("v6.17", "v6.17",
             Mail("Oliver Upton", "Mon 7 Jul 2025", "175193253138.1687959.6241606194423745301.b4-ty@linux.dev"),
             "Merge branch kvm-arm64/cacheable-pfnmap (0c67288e0c8b, f55ce5a6cd33)", "mainline", "v6.17.8",
             "As v10: the VMA's pgprot decides, FWB and DIC at the memslot (capability 243) and at fault time."),
)

BETWEEN = {
    ("patch-v1", "patch-v2"): Between(
        "kvm_is_device_pfn() gives way to noncacheable; an exec fault needs Normal memory; the Normal-NC part "
        "left to a series of its own.",
        (Mail("Catalin Marinas", "Thu 5 Oct 2023", "ZR7hKYU1Wj+VTqpO@arm.com",
              "the pgprot says how userspace mapped the memory, not that it is I/O: keep pfn_is_map_memory(), map "
              "cacheable only with FWB, merge the Normal-NC part on its own"),)),
    ("patch-v2", "patch-v3"): Between(
        "Only a VM_PFNMAP VMA with exactly MT_NORMAL is cacheable; COW VM_PFNMAP refused; the FWB check only "
        "for that memory; pfn_valid() and the MTE and exec special cases gone.",
        (Mail("Catalin Marinas", "Wed 11 Dec 2024", "Z1oL1yZtdvGUIW9h@arm.com",
              "pfn_valid() does not mean the kernel maps the memory; cacheable only with FWB; exec separately"),
         Mail("David Hildenbrand", "Fri 20 Dec 2024", "a2d95399-62ad-46d3-9e48-6fa90fd2c2f3@redhat.com",
              "is this only about VM_PFNMAP? A MAP_PRIVATE /dev/mem mapping is a COW VM_PFNMAP: maybe reject it"))),
    ("patch-v3", "patch-v4"): Between(
        "Refused at the memslot unless userspace sets KVM_MEM_ENABLE_CACHEABLE_PFNMAP and the host has FWB and "
        "DIC; DIC checked at fault time too; capability 240.",
        (Mail("Marc Zyngier", "Mon 10 Mar 2025", "861pv5p0c3.wl-maz@kernel.org",
              "the new fault-time errors need a matching check at memslot registration, and FWB is not "
              "discoverable by userspace"),
         Mail("Marc Zyngier", "Tue 18 Mar 2025", "86wmcmn0dp.wl-maz@kernel.org",
              "a memslot flag asks for cacheable VM_PFNMAP, allowed only if a capability says it is supported"),
         Mail("Catalin Marinas", "Tue 29 Apr 2025", "aBD4RsUZp-BmcLwC@arm.com",
              "an executable stage 2 makes KVM invalidate the I-cache, and it has no alias to do it with"))),
    ("patch-v4", "patch-v5"): Between(
        "Anything but Normal-NC and Device-* is cacheable (MT_NORMAL_TAGGED too); FWB from the CPU capability; "
        "kvm_arch_supports_cacheable_pfnmap() gates the flag.",
        (Mail("Catalin Marinas", "Tue 20 May 2025", "aCy3OwBe1HLa4O-7@arm.com",
              "what about MT_NORMAL_TAGGED? Better to invert: allow only Normal-NC and Device-*"),
         Mail("Oliver Upton", "Tue 20 May 2025", "aCyX2nJzBXmQarAJ@linux.dev",
              "outside the page-table code, use the FWB CPU capability directly"),
         Mail("David Hildenbrand", "Wed 21 May 2025", "a2aacca8-cc70-451c-be2b-44911ca3caaa@redhat.com",
              "other architectures will not honour the flag: the core needs an arch check before accepting it"))),
    ("patch-v5", "patch-v7"): Between(
        "The memslot flag is dropped: FWB and DIC alone decide, capability 243; is_vma_cacheable for every VMA, "
        "kvm_can_use_cmo_pfn() and disable_cmo.",
        (Mail("Sean Christopherson", "Fri 6 Jun 2025", "aEMsDsi3DSm1up0G@google.com",
              "NAK to the memslot flag: it does not belong in the uAPI, and x86 always allows cacheable PFNMAP"),
         Mail("Sean Christopherson", "Fri 6 Jun 2025", "aEMvbIu530nCqwhG@google.com",
              "invert the check into kvm_vma_is_cacheable(), and block where the PFN is, not on VM_PFNMAP"),
         Mail("Oliver Upton", "Fri 13 Jun 2025", "aEx-JlaYJsLAQx3J@linux.dev",
              "forgo the memslot flag, keep the capability, follow the VMA's memory attributes"))),
    ("patch-v7", "patch-v8"): Between(
        "The FWB+DIC check moves into the branch for VM_PFNMAP/VM_MIXEDMAP memory outside the kernel's map "
        "(-EFAULT there); guest RAM is never refused; COW checked after the unlock.",
        (Mail("Catalin Marinas", "Wed 18 Jun 2025", "aFLqiAyXZLoOTepi@arm.com",
              "does it also reject any cacheable VMA, even not VM_PFNMAP, on pre-FWB hardware? And say why COW"),
         Mail("Jason Gunthorpe", "Wed 18 Jun 2025", "20250618163836.GA1629589@nvidia.com",
              "keep two concepts apart: what may not be cached, and whether KVM can do the cache maintenance"))),
    ("patch-v8", "patch-v9"): Between(
        "A cacheable VM_MIXEDMAP follows the VM_PFNMAP rules instead of being refused.",
        (Mail("Jason Gunthorpe", "Fri 20 Jun 2025", "20250620122016.GD17127@nvidia.com",
              "the same logic works for VM_MIXEDMAP: drop the VM_PFNMAP test; and why does KVM care about COW?"),)),
    ("patch-v9", "patch-v10"): Between(
        "The COW refusal and the checks that could no longer fire are removed.",
        (Mail("Jason Gunthorpe", "Fri 4 Jul 2025", "20250704140431.GH1410929@nvidia.com",
              "why block COW? Special PTEs follow vm_page_prot, normal pages are cacheable; the other checks are "
              "dead"),
         Mail("David Hildenbrand", "Fri 4 Jul 2025", "07e0fddd-76ba-4905-95f4-b98063215866@redhat.com",
              "with that reasoning it should be fine to drop the COW test"))),
    ("patch-v10", "block-pfnmap"): Between(
        "v10 applied as five commits: after the third, mainline refuses every cacheable VM_PFNMAP memslot, and "
        "cacheable VM_PFNMAP/VM_MIXEDMAP memory outside the kernel's map at fault time.",
        (Mail("Oliver Upton", "Mon 7 Jul 2025", "175193253138.1687959.6241606194423745301.b4-ty@linux.dev",
              "applied to kvmarm/next, 4/6 squashed into its caller and made arm64-only"),)),
    ("block-pfnmap", "v6.17"): Between(
        "0c67288e0c8b allows the cacheable mapping with FWB and DIC, f55ce5a6cd33 adds capability 243: v10's "
        "decisions.",
        (Mail("Oliver Upton", "Mon 7 Jul 2025", "175193253138.1687959.6241606194423745301.b4-ty@linux.dev",
              "applied to kvmarm/next, 4/6 squashed into its caller and made arm64-only"),)),
}


def revision(model: str) -> Revision:
    return next(r for r in REVISIONS if r.model == model)


def between(a: str, b: str) -> Between | None:
    return BETWEEN.get((a, b))
