"""Lessons: ordered permalinks with a paragraph each, played as graded exercises. A lesson only
points at permalinks; the simulator decides what each one shows and which answer is right. Every
link here is part of the permalink corpus."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..permalink import Parsed, canonical_query, canonical_url, parse_url
from ..present.presenters import overall_verdict
from ..sim import SERIES, simulate
from .exercises import CHOICES, answer_class, describe, worked_link

NVG = "vma=pfnmap,io,shared,maywrite&mem=dev"


@dataclass(frozen=True)
class Part:
    link: str
    text: str
    ask: str = "What happens?"

    def parsed(self) -> tuple[str, Parsed]:
        return parse_url(self.link)

    @property
    def model(self) -> str:
        return urlsplit(self.link).path.strip("/")


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    intro: str
    parts: tuple[Part, ...]


LESSONS = (
    Lesson("grace-hopper", "Grace Hopper GPU memory, end to end",
           "The nvgrace-gpu driver maps the GPU's memory into QEMU with remap_pfn_range(): VM_PFNMAP, a "
           "cacheable pgprot, and PFNs the kernel never mapped. Follow one read of that memory through "
           "four kernels.", (
               Part(f"/v6.14/?{NVG}&f=40000000r",
                    "v6.14 looks only at the PFN: it is not kernel memory, so stage 2 maps it Device-nGnRE. "
                    "The host maps the same memory cacheable: the two views disagree."),
               Part(f"/patch-v3/?{NVG}&f=40000000r",
                    "The v3 patch reads the VMA's pgprot: MT_NORMAL means cacheable_devmem, and stage 2 maps "
                    "it Normal. With FWB the guest cannot make it non-cacheable."),
               Part(f"/patch-v3/?{NVG}&host=&f=40000000r",
                    "Without FWB, KVM would have to clean caches through a kernel mapping this memory does "
                    "not have. The v3 patch refuses, but only when the guest touches the memory."),
               Part(f"/v6.17/?{NVG}&host=fwb&f=40000000r",
                    "The merged series also needs DIC, and refuses at memslot registration, before the "
                    "guest runs."),
               Part(f"/v7.1/?{NVG}&f=40000000r,40001000x",
                    "On a host with FWB and DIC, v7.1 maps it Normal and lets the guest execute from it."),
           )),
    Lesson("v3-patch", "What the v3 patch changes",
           "One patch, five hunks: a new cacheable_devmem flag decided from the VMA, and a fault-time "
           "check for FWB. Compare it with the kernel it applies to.", (
               Part(f"/v6.14/?{NVG}&f=40000000r", "Before: Device, whatever the VMA's pgprot says."),
               Part(f"/patch-v3/?{NVG}&f=40000000r", "After: Normal, because the pgprot is exactly MT_NORMAL."),
               Part("/patch-v3/?vma=pfnmap,io,maywrite&mt=ngnrne&mem=dev&f=40000000r",
                    "A private (COW) PFNMAP, like /dev/mem opened MAP_PRIVATE: the patch refuses it, and "
                    "returns while still holding mmap_lock."),
               Part("/v6.14/?vma=pfnmap,io,shared,maywrite&host=&f=40000000r",
                    "A PFNMAP of kernel RAM on a host without FWB: v6.14 maps it Normal..."),
               Part("/patch-v3/?vma=pfnmap,io,shared,maywrite&host=&f=40000000r",
                    "...and the patch now refuses it, because its FWB check does not ask whether the PFN is "
                    "RAM."),
           )),
    Lesson("fwb-dic", "Why FWB and DIC matter: cache maintenance needs a kernel mapping",
           "Before KVM maps memory cacheable for a guest, it may clean the D-cache to PoC and invalidate "
           "the I-cache to PoU, by virtual address, through the kernel's linear map. FWB and DIC make "
           "that unnecessary.", (
               Part("/v6.17/?host=dic&f=40000000r",
                    "Ordinary RAM without FWB: KVM cleans the page to PoC before the guest can see it "
                    "uncached."),
               Part("/v6.17/?f=40000000r", "With FWB the clean is skipped: the guest's view is always cacheable."),
               Part("/v6.17/?host=fwb&f=40000000r,40000000x",
                    "Without DIC the page starts non-executable; the first instruction fetch faults, and "
                    "KVM invalidates the I-cache before adding execute permission."),
               Part(f"/patch-v3/?{NVG}&host=fwb&f=40000000x",
                    "The v3 patch with FWB but no DIC maps GPU memory executable and invalidates the "
                    "I-cache through a kernel address that does not exist. v4 added the DIC check."),
               Part(f"/v6.17/?{NVG}&host=fwb&f=40000000x",
                    "The merged code refuses this host at memslot registration."),
           )),
    Lesson("fail-early", "The review: fail early, and make support discoverable",
           "Marc Zyngier's review of v3: a check at fault time tells a well-behaved VMM nothing in "
           "advance, and FWB is not discoverable from userspace.", (
               Part(f"/patch-v3/?{NVG}&host=&f=40000000r",
                    "v3: the memslot is accepted, capability 243 does not exist, and KVM_RUN fails with "
                    "-EINVAL when the guest first touches the memory."),
               Part(f"/v6.17/?{NVG}&host=&f=40000000r",
                    "v6.17: KVM_CHECK_EXTENSION(243) answers 0 and KVM_SET_USER_MEMORY_REGION fails with "
                    "-EINVAL: the VMM learns before the guest runs."),
               Part(f"/v6.17/?{NVG}&host=fwb&remap=1&f=40000000r",
                    "A VMA swapped in after registration escapes the memslot check; the fault-time check "
                    "remains, and KVM_RUN fails with -EFAULT."),
           )),
    Lesson("vfio-nc", "VFIO BARs and Normal-NC",
           "vfio-pci maps device BARs with pgprot_noncached and VM_ALLOW_ANY_UNCACHED, which lets KVM "
           "map them Normal Non-cacheable so the guest can pick write-combining.", (
               Part("/v6.17/?vma=pfnmap,io,shared,maywrite,uc&mt=ngnrne&mem=dev&f=40000000w",
                    "Normal-NC at stage 2: the guest's own type decides within non-cacheable."),
               Part("/v6.17/?vma=pfnmap,io,shared,maywrite&mt=ngnrne&mem=dev&f=40000000w",
                    "Without VM_ALLOW_ANY_UNCACHED, stage 2 forces Device-nGnRE."),
               Part("/v6.17/?vma=pfnmap,io,shared,maywrite,uc&mt=ngnrne&mem=dev&f=40000000x",
                    "Executing from a BAR: KVM refuses with -ENOEXEC and injects an instruction abort."),
           )),
    Lesson("mte-pfnmap", "MTE and PFNMAP",
           "A VM with MTE needs VM_MTE_ALLOWED on every VMA it maps: tags must be kept for guest memory.", (
               Part("/v6.17/?vma=maywrite,mteok&host=fwb,dic,mte&vm=mte&f=40000000r",
                    "Anonymous RAM with VM_MTE_ALLOWED: mapped, tags sanitised."),
               Part(f"/v6.17/?{NVG}&host=fwb,dic,mte&vm=mte&f=40000000r",
                    "Any PFNMAP lacks VM_MTE_ALLOWED: the memslot is refused, in every kernel."),
               Part(f"/v6.17/?{NVG}&host=fwb,dic,mte&vm=mte&remap=1&f=40000000r",
                    "Swapped in after registration, cacheable GPU memory reaches the fault-time MTE check."),
               Part(f"/v6.14/?{NVG}&host=fwb,dic,mte&vm=mte&remap=1&f=40000000r",
                    "v6.14 maps it Device, which skips the MTE check altogether."),
           )),
)

LEAF = "vma=pfnmap,io,shared,maywrite,uc&mt=ngnrne&mem=dev"
LESSONS += (
    Lesson("leaf-size", "How big a block: the VMA or the host's stage-1 leaf",
           "Up to 7.1, KVM sized a VM_PFNMAP mapping from the VMA: how far the VMA extends around the "
           "faulting address and how HVA and PA are aligned. \"KVM: arm64: Use stage-1 leaf size for "
           "VM_PFNMAP\" (7.3, backported to 6.12.113) reads the size the host itself maps instead.", (
               Part(f"/v7.1/?{LEAF}&pg=1g&f=40000000r",
                    "A vfio BAR, 1 GiB-aligned: v7.1 maps one 1 GiB block, whatever the host's own page "
                    "tables map there."),
               Part(f"/v7.3/?{LEAF}&pg=1g&f=40000000r",
                    "7.3 starts from PAGE_SIZE and upgrades to what the host maps, at most a 2 MiB block.",
                    "How big is the block now?"),
               Part(f"/v6.12/?{LEAF}&pg=1g&f=40000000r",
                    "The LTS kernel most hosts run has the same fix, backported."),
               Part("/v7.3/?vma=mixedmap,io,shared,maywrite&mt=ngnre&mem=dev&pg=2m&f=40000000r",
                    "The upgrade is no longer skipped for non-cacheable mappings: a device MIXEDMAP page "
                    "on a 2 MiB host leaf becomes a 2 MiB block (v7.1 maps 4K)."),
           )),
)

LESSONS += (
    Lesson("series", "How review changed the patch",
           "Ten revisions, from September 2023 to July 2025, of the patch that lets KVM map Grace Hopper GPU "
           "memory (nvgrace-gpu: VM_PFNMAP, VM_IO, a cacheable pgprot, no struct page) cacheable at stage 2. "
           "Predict what each one answers, on hosts with and without FWB and DIC; each reveal opens the series "
           "view, where the same scenario runs through every revision beside the review that changed it.", (
               Part(f"/patch-v1/?{NVG}&f=40000000r",
                    "v1 takes the stage-2 type from the VMA's pgprot: MT_NORMAL, so Normal, where v6.14 mapped "
                    "Device. Catalin Marinas answered that the pgprot says how userspace mapped the memory, not "
                    "what it is."),
               Part(f"/patch-v1/?{NVG}&host=dic&f=40000000r",
                    "Without FWB, v1 refuses every PFN without a struct page, at fault time: not only this memory "
                    "but every vfio BAR too. v3 limited the check to the memory it maps cacheable."),
               Part(f"/patch-v2/?{NVG}&f=40000000r,40001000x",
                    "v2 still maps it Normal (the pgprot decides the type), but VM_IO makes it noncacheable, and "
                    "noncacheable memory may not be executed.", "What happens at the exec fault?"),
               Part(f"/patch-v3/?{NVG}&host=fwb&f=40001000x",
                    "v3 lets the guest execute from it and asks only for FWB. Without DIC, KVM invalidates the "
                    "I-cache through a kernel address this memory does not have: the host oopses."),
               Part(f"/patch-v3/?{NVG}&host=dic&f=40000000r",
                    "Without FWB, v3 refuses at fault time: KVM_RUN fails. Marc Zyngier's review: refuse at "
                    "memslot registration instead, and let userspace discover what the host supports."),
               Part(f"/patch-v4/?{NVG}&f=40000000r",
                    "v4 refuses the memslot unless userspace sets the new KVM_MEM_ENABLE_CACHEABLE_PFNMAP flag, "
                    "even on a host with FWB and DIC."),
               Part(f"/patch-v4/?{NVG}&host=fwb&slot=cacheable&f=40001000x",
                    "With the flag but without DIC: refused at registration. v4 added DIC beside FWB, which "
                    "closes v3's I-cache hole."),
               Part(f"/patch-v7/?{NVG}&f=40000000r,40001000x",
                    "Sean Christopherson NAKed the flag, and v7 dropped it: FWB and DIC alone decide, and "
                    "capability 243 tells userspace.", "What happens at the exec fault?"),
               Part("/patch-v7/?host=fwb&f=40000000r",
                    "Not GPU memory: ordinary anonymous guest RAM, on a host without DIC. v7's fault-time check "
                    "covers every cacheable VMA; Catalin Marinas asked exactly this on v7, and v8 fixed it."),
               Part(f"/patch-v8/?{NVG}&host=fwb&remap=1&f=40000000r",
                    "A VMA mapped over the memslot after registration escapes the memslot check. From v8 the "
                    "fault path refuses it with -EFAULT."),
               Part(f"/block-pfnmap/?{NVG}&f=40000000r",
                    "Mainline between two commits of the series, after \"Block cacheable PFNMAP mapping\" alone: "
                    "a bisection can land here."),
               Part(f"/v6.17/?{NVG}&host=fwb&f=40000000r",
                    "As merged (v10, the same decisions): FWB without DIC is refused at registration, and "
                    "capability 243 answers 0 beforehand."),
           )),
)


def series_link(mid: str, sc) -> str:
    """The series view of a part's scenario, for a revision of the series or the merged kernel."""
    if mid not in SERIES:
        return ""
    query = canonical_query(sc)
    return "/series/" + (f"?{query}" if query else "")


def by_id(lid: str) -> Lesson | None:
    return next((lesson for lesson in LESSONS if lesson.id == lid), None)


class LessonError(ValueError):
    """Bad lesson progress in the URL: the message is one sentence."""


@dataclass(frozen=True)
class Play:
    """A lesson being played: the answers given so far (one letter per part, in order) and the
    part shown. Everything is in the URL: ?a=<letters>&p=<part>."""

    lesson: Lesson
    answers: str
    current: int               # 1-based

    def href(self, part: int | None = None) -> str:
        """The address of a part with these answers; p is left out when it is the part to predict next."""
        part = part or self.current
        query = "&".join(q for q in (f"a={self.answers}" if self.answers else "",
                                     "" if part == self.next_part else f"p={part}") if q)
        return f"/lessons/{self.lesson.id}/" + (f"?{query}" if query else "")

    @property
    def next_part(self) -> int:
        """The part that takes the next prediction (the last part once all are predicted)."""
        return min(len(self.answers) + 1, self.total)

    @property
    def total(self) -> int:
        return len(self.lesson.parts)

    def parts(self) -> list[dict]:
        """Per part: its question in plain words, and, once predicted, the prediction, the answer,
        the lesson's explanation and the trace opened where the outcome is decided."""
        out = []
        for i, part in enumerate(self.lesson.parts, 1):
            mid, parsed = part.parsed()
            sc = parsed.scenario
            row = {"n": i, "model": mid, "question": describe(mid, sc, None), "href": self.href(i), "text": part.text,
                   "answered": i <= len(self.answers), "current": i == self.current}
            if row["answered"]:
                verdict = overall_verdict(simulate(mid, sc))
                row.update(given=self.answers[i - 1], answer=answer_class(mid, sc), verdict=verdict,
                           reveal=worked_link(mid, sc), plain=canonical_url(mid, sc), series=series_link(mid, sc))
                row["right"] = row["given"] == row["answer"]
            out.append(row)
        return out


def play(lesson: Lesson, args) -> tuple[Play, str | None]:
    """The Play the query names and, when it is not in its canonical form (a prediction was just
    submitted, or keys are missing), the address to redirect to. LessonError: one sentence."""
    answers = args.get("a", "")
    total = len(lesson.parts)
    if len(answers) > total or any(c not in CHOICES for c in answers):
        raise LessonError(f"The answers (a) must be at most {total} letters from {''.join(CHOICES)}.")
    p = args.get("p", "")
    if p and (not p.isdigit() or not 1 <= int(p) <= total):
        raise LessonError(f"The part (p) must be a number from 1 to {total}.")
    current = int(p) if p else min(len(answers) + 1, total)
    guess = args.get("guess")
    if guess is not None:
        if guess not in CHOICES:
            raise LessonError(f"A prediction is one of the letters {''.join(CHOICES)}.")
        if current == len(answers) + 1:       # a prediction locks: only the next part can take one
            answers += guess
    game = Play(lesson, answers, current)
    want = game.href()
    got = "&".join(f"{k}={v}" for k, v in args.items())
    return game, (None if want == f"/lessons/{lesson.id}/" + (f"?{got}" if got else "") else want)


def links() -> list[str]:
    return [part.link for lesson in LESSONS for part in lesson.parts]
