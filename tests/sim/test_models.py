"""One suite, every kernel: every branch of the decision procedure, with what each model decides.

Each case is a permalink query and the verdicts per model (see tests.conftest.verdicts); "*" is
every model. The expectations come from kernel-behaviour.md §3-4 and the source at each tag.
"""
import pytest

from tests.conftest import MODEL_IDS, run, verdicts

NVG = "vma=pfnmap,io,shared,maywrite&mem=dev"          # nvgrace-gpu usemem
VFIO = "vma=pfnmap,io,shared,maywrite,uc&mt=ngnrne&mem=dev"
DEVMEM_PRIVATE = "vma=pfnmap,io,maywrite&mt=ngnrne&mem=dev"
PFNMAP_RAM = "vma=pfnmap,io,shared,maywrite"

CASES = [
    # --- memslot registration: kvm_arch_prepare_memory_region() -------------------------------
    ("anonymous RAM registers and maps Normal", "f=40000000r",
     {"*": "reg=ok | map normal RWX 4K"}),
    ("MTE VM refuses a VMA without VM_MTE_ALLOWED", "host=fwb,dic,mte&vm=mte&f=40000000r",
     {"*": "reg=-EINVAL | not_run"}),
    ("MTE VM accepts VM_MTE_ALLOWED RAM and sanitises tags", "vma=maywrite,mteok&host=fwb,dic,mte&vm=mte&f=40000000r",
     {"*": "reg=ok | map normal RWX 4K"}),
    ("MTE VM can never register a PFNMAP slot", "host=fwb,dic,mte&vm=mte&" + VFIO + "&f=40000000r",
     {"*": "reg=-EINVAL | not_run"}),
    ("PFNMAP with dirty logging is refused", "slot=log&vma=pfnmap,io,shared,maywrite&mt=ngnrne&mem=dev&f=40000000r",
     {"*": "reg=-EINVAL | not_run"}),
    ("cacheable PFNMAP without DIC: only merged kernels refuse the memslot", NVG + "&host=fwb&f=40000000r",
     {"v6.12": "reg=ok | map device_nGnRE RW- 4K",
      "v6.14": "reg=ok | map device_nGnRE RW- 4K",
      "patch-v3": "reg=ok | map normal RW- 4K",
      "v6.17": "reg=-EINVAL | not_run", "v7.1": "reg=-EINVAL | not_run", "v7.3": "reg=-EINVAL | not_run"}),
    ("cacheable PFNMAP without FWB: v3 fails at fault time, merged kernels at registration",
     NVG + "&host=&f=40000000r",
     {"v6.12": "reg=ok | map device_nGnRE RW- 4K",
      "v6.14": "reg=ok | map device_nGnRE RW- 4K",
      "patch-v3": "reg=ok | run_error -EINVAL",
      "v6.17": "reg=-EINVAL | not_run", "v7.1": "reg=-EINVAL | not_run", "v7.3": "reg=-EINVAL | not_run"}),
    ("MT_NORMAL_TAGGED counts as cacheable for the merged check only",
     "vma=pfnmap,io,shared,maywrite&mt=tagged&mem=dev&host=fwb,mte&f=40000000r",
     {"v6.12": "reg=ok | map device_nGnRE RW- 4K",
      "v6.14": "reg=ok | map device_nGnRE RW- 4K",
      "patch-v3": "reg=ok | map device_nGnRE RW- 4K",
      "v6.17": "reg=-EINVAL | not_run", "v7.1": "reg=-EINVAL | not_run", "v7.3": "reg=-EINVAL | not_run"}),
    ("non-cacheable PFNMAP needs nothing from the host", VFIO + "&host=&f=40000000r",
     {"*": "reg=ok | map normal_nc RW- 4K"}),
    ("the memslot check looks at VM_PFNMAP only, not VM_MIXEDMAP",
     "vma=mixedmap,io,shared,maywrite&mem=dev&host=fwb&f=40000000r",
     {"v6.12": "reg=ok | map device_nGnRE RW- 4K",
      "v6.14": "reg=ok | map device_nGnRE RW- 4K",
      "patch-v3": "reg=ok | map device_nGnRE RW- 4K",
      "v6.17": "reg=ok | run_error -EFAULT",
      "v7.1": "reg=ok | run_error -EFAULT",
      "v7.3": "reg=ok | run_error -EFAULT"}),
    ("guest_memfd slot: refused before arm64 had it, a Normal page from gmem_abort() after",
     "vma=shared,maywrite&slot=gmem&pg=2m&f=40000000r,40000000w",
     {"v6.12": "reg=-EINVAL | not_run | not_run", "v6.14": "reg=-EINVAL | not_run | not_run",
      "patch-v3": "reg=-EINVAL | not_run | not_run", "v6.17": "reg=-EINVAL | not_run | not_run",
      "v7.1": "reg=ok | map normal RWX 4K | no_fault", "v7.3": "reg=ok | map normal RWX 4K | no_fault"}),
    # --- remap: the VMA changed after registration ----------------------------------------------
    ("remap: a cacheable PFNMAP swapped in is caught at fault time", NVG + "&host=fwb&remap=1&f=40000000r",
     {"v6.12": "reg=ok | map device_nGnRE RW- 4K",
      "v6.14": "reg=ok | map device_nGnRE RW- 4K",
      "patch-v3": "reg=ok | map normal RW- 4K",
      "v6.17": "reg=ok | run_error -EFAULT",
      "v7.1": "reg=ok | run_error -EFAULT",
      "v7.3": "reg=ok | run_error -EFAULT"}),
    ("remap: an MTE VM faulting on a swapped-in cacheable PFNMAP",
     "host=fwb,dic,mte&vm=mte&remap=1&" + NVG + "&f=40000000r",
     {"v6.12": "reg=ok | map device_nGnRE RW- 4K",
      "v6.14": "reg=ok | map device_nGnRE RW- 4K",
      "patch-v3": "reg=ok | run_error -EFAULT",
      "v6.17": "reg=ok | run_error -EFAULT",
      "v7.1": "reg=ok | run_error -EFAULT",
      "v7.3": "reg=ok | run_error -EFAULT"}),
    ("remap: dirty logging over a swapped-in device PFNMAP keeps it writable",
     "slot=log&remap=1&vma=pfnmap,io,shared,maywrite&mt=ngnrne&mem=dev&f=40000000r",
     {"*": "reg=ok | map device_nGnRE RW- 4K"}),
    # --- kvm_handle_guest_abort() -----------------------------------------------------------------
    ("IPA beyond the VM's IPA size: abort injected", "ipa=32&f=100000000r,100000000x",
     {"*": "reg=ok | inject dabt | inject iabt"}),
    ("IPA beyond the host limit: address size fault injected", "f=10000000000000r",
     {"*": "reg=ok | inject dabt"}),
    ("no memslot: MMIO exit with a valid syndrome", "f=80000000r,80000000w",
     {"*": "reg=ok | exit_mmio | exit_mmio"}),
    ("no memslot, no ISV: -ENOSYS unless the VMM asked for NISV exits", "f=80000000r.noisv",
     {"*": "reg=ok | run_error -ENOSYS"}),
    ("no memslot, no ISV, NISV to user", "vm=nisv&f=80000000w.noisv",
     {"*": "reg=ok | exit_nisv"}),
    ("no memslot: instruction fetch gets an abort", "f=80000000x",
     {"*": "reg=ok | inject iabt"}),
    ("no memslot: the guest's page tables there get a data abort", "f=80000000r.ptw",
     {"*": "reg=ok | inject dabt"}),
    ("no memslot: cache maintenance is skipped", "f=80000000w.cm",
     {"*": "reg=ok | resume"}),
    ("read-only memslot: writes are MMIO, reads map read-only", "slot=ro&f=40000000w,40000000r",
     {"*": "reg=ok | exit_mmio | map normal R-X 4K"}),
    ("read-only memslot: cache maintenance counts as a write and has no ISV", "slot=ro&f=40000000w.cm",
     {"*": "reg=ok | run_error -ENOSYS"}),
    ("access-flag fault: set AF and resume", "f=40000000r,40000000r.af",
     {"*": "reg=ok | map normal RWX 4K | resume"}),
    ("an access the leaf allows does not fault", "f=40000000w,40000000r",
     {"*": "reg=ok | map normal RWX 4K | no_fault"}),
    ("v7.1's relax_perms() without X makes an executable leaf execute-never",
     "slot=log&host=fwb&f=40000000r,40000000x,40000000w",
     {"v6.12": "reg=ok | map normal R-- 4K | relax normal R-X 4K | relax normal RWX 4K",
      "v6.14": "reg=ok | map normal R-- 4K | relax normal R-X 4K | relax normal RWX 4K",
      "patch-v3": "reg=ok | map normal R-- 4K | relax normal R-X 4K | relax normal RWX 4K",
      "v6.17": "reg=ok | map normal R-- 4K | relax normal R-X 4K | relax normal RWX 4K",
      "v7.1": "reg=ok | map normal R-- 4K | relax normal R-X 4K | relax normal RW- 4K",
      "v7.3": "reg=ok | map normal R-- 4K | relax normal R-X 4K | relax normal RWX 4K"}),
    ("6.12: a hugetlbfs VMA never has VM_MTE_ALLOWED, so an MTE VM cannot use it",
     "vma=maywrite,mteok,hugetlb&host=fwb,dic,mte&vm=mte&pg=2m&f=40000000r",
     {"v6.12": "reg=-EINVAL | not_run", "v6.14": "reg=ok | map normal RWX 2M",
      "patch-v3": "reg=ok | map normal RWX 2M", "v6.17": "reg=ok | map normal RWX 2M",
      "v7.1": "reg=ok | map normal RWX 2M", "v7.3": "reg=ok | map normal RWX 2M"}),
    ("FSC 0x35: only v7.1 and later handle it", "f=40000000w,40000000w.atomic",
     {"v6.12": "reg=ok | map normal RWX 4K | run_error -EFAULT",
      "v6.14": "reg=ok | map normal RWX 4K | run_error -EFAULT",
      "patch-v3": "reg=ok | map normal RWX 4K | run_error -EFAULT",
      "v6.17": "reg=ok | map normal RWX 4K | run_error -EFAULT",
      "v7.1": "reg=ok | map normal RWX 4K | inject dabt", "v7.3": "reg=ok | map normal RWX 4K | inject dabt"}),
    # --- user_mem_abort(): classification ---------------------------------------------------------
    ("Grace Hopper GPU memory with FWB and DIC", NVG + "&f=40000000r,40001000x",
     {"v6.12": "reg=ok | map device_nGnRE RW- 4K | inject iabt",
      "v6.14": "reg=ok | map device_nGnRE RW- 4K | inject iabt",
      "patch-v3": "reg=ok | map normal RWX 4K | map normal RWX 4K",
      "v6.17": "reg=ok | map normal RWX 4K | map normal RWX 4K",
      "v7.1": "reg=ok | map normal RWX 4K | map normal RWX 4K",
      "v7.3": "reg=ok | map normal RWX 4K | map normal RWX 4K"}),
    ("v3 maps cacheable devmem executable with FWB but no DIC", NVG + "&host=fwb&f=40001000x",
     {"v6.12": "reg=ok | inject iabt", "v6.14": "reg=ok | inject iabt", "patch-v3": "reg=ok | map normal RWX 4K",
      "v6.17": "reg=-EINVAL | not_run", "v7.1": "reg=-EINVAL | not_run", "v7.3": "reg=-EINVAL | not_run"}),
    ("vfio-pci BAR: VM_ALLOW_ANY_UNCACHED gives Normal-NC, exec refused", VFIO + "&f=40000000r,40001000x",
     {"*": "reg=ok | map normal_nc RW- 4K | inject iabt"}),
    ("device PFNMAP without VM_ALLOW_ANY_UNCACHED is Device-nGnRE",
     "vma=pfnmap,io,shared,maywrite&mt=ngnrne&mem=dev&f=40000000w",
     {"*": "reg=ok | map device_nGnRE RW- 4K"}),
    ("exec on an already mapped device page: permission fault, then -ENOEXEC", VFIO + "&f=40000000r,40000000x",
     {"*": "reg=ok | map normal_nc RW- 4K | inject iabt"}),
    ("COW PFNMAP: v3 refuses it, others map read-only", DEVMEM_PRIVATE + "&f=40000000r,40000000w",
     {"v6.12": "reg=ok | map device_nGnRE R-- 4K | run_error -EFAULT",
      "v6.14": "reg=ok | map device_nGnRE R-- 4K | run_error -EFAULT",
      "patch-v3": "reg=ok | run_error -EINVAL | run_error -EINVAL",
      "v6.17": "reg=ok | map device_nGnRE R-- 4K | run_error -EFAULT",
      "v7.1": "reg=ok | map device_nGnRE R-- 4K | run_error -EFAULT",
      "v7.3": "reg=ok | map device_nGnRE R-- 4K | run_error -EFAULT"}),
    ("PFNMAP of kernel RAM without FWB: v3 rejects what v6.14 mapped", PFNMAP_RAM + "&host=&f=40000000r",
     {"v6.12": "reg=ok | map normal RW- 4K",
      "v6.14": "reg=ok | map normal RW- 4K",
      "patch-v3": "reg=ok | run_error -EINVAL",
      "v6.17": "reg=-EINVAL | not_run", "v7.1": "reg=-EINVAL | not_run", "v7.3": "reg=-EINVAL | not_run"}),
    ("PFNMAP of kernel RAM with a non-cacheable pgprot is still mapped Normal",
     PFNMAP_RAM + "&mt=nc&f=40000000r", {"*": "reg=ok | map normal RWX 4K"}),
    ("ZONE_DEVICE memory without PFNMAP: Device before v6.17, Normal after",
     "vma=shared,maywrite&mem=zdev&f=40000000r",
     {"v6.12": "reg=ok | map device_nGnRE RW- 4K",
      "v6.14": "reg=ok | map device_nGnRE RW- 4K",
      "patch-v3": "reg=ok | map device_nGnRE RW- 4K",
      "v6.17": "reg=ok | map normal RWX 4K",
      "v7.1": "reg=ok | map normal RWX 4K",
      "v7.3": "reg=ok | map normal RWX 4K"}),
    ("MIXEDMAP without VM_IO: the PFN cannot be looked up", "vma=mixedmap,shared,maywrite&mem=dev&f=40000000r",
     {"*": "reg=ok | run_error -EFAULT"}),
    ("MIXEDMAP with VM_IO and a non-cacheable pgprot", "vma=mixedmap,io,shared,maywrite&mt=ngnre&mem=dev&f=40000000r",
     {"*": "reg=ok | map device_nGnRE RW- 4K"}),
    # --- writable, dirty logging, permission faults ----------------------------------------------
    ("dirty logging: read maps read-only, the write relaxes", "slot=log&f=40000000r,40000000w",
     {"*": "reg=ok | map normal R-X 4K | relax normal RWX 4K"}),
    ("dirty logging: a stage-1 walk that writes relaxes too", "slot=log&f=40000000r,40000000w.ptw",
     {"*": "reg=ok | map normal R-X 4K | relax normal RWX 4K"}),
    ("a VMA that may not be written maps read-only and a write fails", "vma=shared&f=40000000r,40000000w",
     {"*": "reg=ok | map normal R-X 4K | run_error -EFAULT"}),
    ("without DIC, the first exec of a mapped page relaxes to add X", "host=fwb&f=40000000r,40000000x",
     {"*": "reg=ok | map normal RW- 4K | relax normal RWX 4K"}),
    ("without DIC, an exec fault maps X at once", "host=fwb&f=40000000x",
     {"*": "reg=ok | map normal RWX 4K"}),
    # --- mapping size -----------------------------------------------------------------------------
    ("THP-backed RAM maps a 2M block", "pg=2m&f=40000000r", {"*": "reg=ok | map normal RWX 2M"}),
    ("hugetlbfs 1G maps a 1G block", "vma=maywrite,hugetlb&pg=1g&f=40000000r",
     {"*": "reg=ok | map normal RWX 1G"}),
    ("dirty logging forces pages even on hugetlbfs", "vma=maywrite,hugetlb&pg=2m&slot=log&f=40000000w",
     {"*": "reg=ok | map normal RWX 4K"}),
    ("device PFNMAP aligned to 2M maps a block, no THP needed", VFIO + "&pg=2m&f=40000000r",
     {"*": "reg=ok | map normal_nc RW- 2M"}),
    ("16K granule: 32M block", "g=16k&pg=32m&f=40000000r", {"*": "reg=ok | map normal RWX 32M"}),
    ("64K granule: 512M block", "g=64k&ipa=48&vma=maywrite,hugetlb&pg=512m&f=40000000r",
     {"*": "reg=ok | map normal RWX 512M"}),
    ("leaf-size fix: a 1G-aligned VM_PFNMAP is a 1G block only where the VMA sizes it",
     VFIO + "&pg=1g&f=40000000r",
     {"v6.12": "reg=ok | map normal_nc RW- 2M", "v6.14": "reg=ok | map normal_nc RW- 1G",
      "patch-v3": "reg=ok | map normal_nc RW- 1G", "v6.17": "reg=ok | map normal_nc RW- 1G",
      "v7.1": "reg=ok | map normal_nc RW- 1G", "v7.3": "reg=ok | map normal_nc RW- 2M"}),
    ("leaf-size fix: a device MIXEDMAP page on a 2M host leaf becomes a 2M block",
     "vma=mixedmap,io,shared,maywrite&mt=ngnre&mem=dev&pg=2m&f=40000000r",
     {"v6.12": "reg=ok | map device_nGnRE RW- 2M", "v6.14": "reg=ok | map device_nGnRE RW- 4K",
      "patch-v3": "reg=ok | map device_nGnRE RW- 4K", "v6.17": "reg=ok | map device_nGnRE RW- 4K",
      "v7.1": "reg=ok | map device_nGnRE RW- 4K", "v7.3": "reg=ok | map device_nGnRE RW- 2M"}),
    ("a permission fault on a block relaxes the block", "pg=2m&slot=ro&f=40000000r,40000000x&host=fwb",
     {"*": "reg=ok | map normal R-- 2M | relax normal R-X 2M"}),
]


def _expected(table: dict, model: str) -> str:
    return table.get(model, table.get("*"))


@pytest.mark.parametrize("name,query,expect", CASES, ids=[c[0] for c in CASES])
def test_branch(model, name, query, expect):
    assert verdicts(run(model, query)) == _expected(expect, model)


def test_every_case_names_every_model():
    for name, _, table in CASES:
        assert "*" in table or set(table) == set(MODEL_IDS), name


def test_capability_243_answers_fwb_and_dic_on_merged_kernels_only():
    for host, merged in (("fwb,dic", 1), ("fwb", 0), ("dic", 0), ("", 0)):
        for m in MODEL_IDS:
            want = merged if m in ("v6.17", "v7.1", "v7.3") else 0
            assert run(m, f"host={host}").cap_cacheable_pfnmap == want, (m, host)


def test_v3_cow_check_leaks_the_mmap_lock():
    tr = run("patch-v3", DEVMEM_PRIVATE + "&f=40000000r")
    step = next(s for s in tr.faults[0].steps if s.id == "uma.v3_cow")
    assert dict(step.vars)["mmap_lock"] == "leaked"


def _ids(tr, fault=0):
    return [s.id for s in tr.faults[fault].steps]


def test_v7_1_checks_mte_before_taking_the_lock_and_v6_17_after_thp():
    q = "vma=maywrite,mteok&host=fwb,dic,mte&vm=mte&f=40000000r"
    v717, v71 = _ids(run("v6.17", q)), _ids(run("v7.1", q))
    assert v717.index("uma.lock_retry") < v717.index("uma.mte")
    assert v71.index("uma.mte") < v71.index("uma.lock_retry")


def test_v7_1_injects_fsc_0x35_after_the_exec_check_and_before_prot():
    ids = _ids(run("v7.1", "f=40000000w,40000000w.atomic"), 1)
    assert ids.index("uma.classify") < ids.index("uma.excl_atomic") and "uma.prot" not in ids


def test_only_6_12_6_14_and_the_patch_reject_a_permission_fault_that_is_neither_read_nor_exec():
    from app.sim import MODELS
    from app.sim.kernel.kvm import KvmArm64
    assert [MODELS[m].rejects_read_perm_fault for m in MODEL_IDS] == [True, True, True, False, False, False]
    assert issubclass(MODELS["v7.1"], KvmArm64)


def test_a_1g_mapping_over_a_two_level_table_livelocks_on_a_permission_fault():
    tr = run("v6.14", "ipa=32&pg=1g&vma=hugetlb,maywrite&host=fwb&f=40000000r,40000000x")
    f = tr.faults[1]
    assert (f.fsc, f.level, f.outcome) == ("permission", 2, "resume")
    assert any(dict(s.vars).get("livelock") for s in f.steps)


def test_without_fwb_a_device_pfn_mapped_normal_is_flagged_as_having_no_linear_alias():
    # v6.17 maps a VM_IO (not PFNMAP/MIXEDMAP) PFN outside the kernel's map as Normal; without FWB
    # the D-cache clean goes through __va() of memory that has no linear mapping.
    tr = run("v6.17", "vma=io,shared,maywrite&mem=dev&host=dic&f=40000000r")
    f = tr.faults[0]
    assert f.s2.memtype == "normal" and dict(f.cmo)["dcache"] == "done"
    assert any(s.id == "clean_dcache" and dict(s.vars).get("linear_map") is False for s in f.steps)


def test_the_mte_step_sanitises_the_final_mapping_size():
    q = "vma=maywrite,mteok&host=fwb,dic,mte&vm=mte&pg=2m&f=40000000r"
    for m in MODEL_IDS:
        tr = run(m, q)
        sanitised = [s for s in tr.faults[0].steps if "sanitise" in s.text and s.id.startswith("uma.mte")]
        assert len(sanitised) == 1 and "2M" in sanitised[0].text, m
        assert "4K" not in sanitised[0].text, m


def test_v7_1_and_later_sanitise_tags_after_the_upgrade():
    ids = _ids(run("v7.3", "vma=maywrite,mteok&host=fwb,dic,mte&vm=mte&pg=2m&f=40000000r"))
    assert ids.index("uma.mte") < ids.index("uma.lock_retry") < ids.index("thp_adjust") < ids.index("uma.mte_sanitise")


def test_models_that_size_pfnmap_from_the_vma_say_so():
    q = VFIO + "&pg=1g&f=40000000r"
    for m in MODEL_IDS:
        step = next(s for s in run(m, q).faults[0].steps if s.id == "uma.vma_size")
        says_vma = "VMA's extent" in step.text and "stage-1 leaf" in step.text
        assert says_vma == (m not in ("v6.12", "v7.3")), m


def test_an_mte_memslot_refusal_says_which_real_mappings_have_vm_mte_allowed():
    for m in MODEL_IDS:
        step = next(s for s in run(m, "host=fwb,dic,mte&vm=mte&f=40000000r").memslot.steps if s.id == "prepare.mte")
        assert "Anonymous, hugetlbfs, shmem and memfd mappings on an MTE host have it" in step.text, m
    step = next(s for s in run("v6.12", "vma=maywrite,mteok,hugetlb&host=fwb,dic,mte&vm=mte&pg=2m").memslot.steps
                if s.id == "prepare.mte")
    assert "6.12 never gives a hugetlbfs mapping VM_MTE_ALLOWED" in step.text


def test_the_anon_and_memfd_presets_carry_vm_mte_allowed_on_an_mte_host_and_file_does_not():
    from app.permalink import parse_query
    from app.sim.presets import PRESETS
    sc = parse_query("host=fwb,dic,mte&vm=mte&f=40000000r").scenario
    for pid, want in (("anon", True), ("memfd", True), ("hugetlb-2m", True), ("file", False)):
        assert ("mteok" in PRESETS[pid].apply(sc).vma) == want, pid
    for m in MODEL_IDS:
        assert run_sc(m, PRESETS["anon"].apply(sc)).memslot.result == "ok", m
        assert run_sc(m, PRESETS["file"].apply(sc)).memslot.result == "-EINVAL", m


def run_sc(model, sc):
    from app.sim import simulate
    return simulate(model, sc)


def test_a_vma_sized_pfnmap_block_warns_that_the_host_may_map_less():
    q = VFIO + "&pg=2m&f=40000000r"
    for m in MODEL_IDS:
        step = next(s for s in run(m, q).faults[0].steps if s.id == "uma.vma_size")
        assert ("PAs the VMA does not map" in step.text) == (m not in ("v6.12", "v7.3")), m
    step = next(s for s in run("v7.1", VFIO + "&f=40000000r").faults[0].steps if s.id == "uma.vma_size")
    assert "PAs the VMA does not map" not in step.text
