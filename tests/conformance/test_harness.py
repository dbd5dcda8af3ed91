"""The harness's reading of the probe's records (no QEMU): what a raw run turns into."""
import json

from conformance import harness
from conformance.cases import BY_ID, CASES

HOST = {"fwb": True, "dic": False, "mte": False, "lpa2": False, "vhe": True, "vfio": True}


def test_descriptors_are_read_by_the_architecture():
    leaf = harness.decode_leaf(0x00400000A00004C5, 2, has_fwb=True)
    assert (leaf["memtype"], leaf["perm"], leaf["size"]) == ("device_nGnRE", "RW-", 2 << 20)
    assert harness.decode_leaf(0x4809E45B, 3, has_fwb=True)["perm"] == "R-X"
    assert harness.decode_leaf(0x4809E4FF, 3, has_fwb=False)["memtype"] == "normal"
    assert harness.decode_leaf(0x4809E4D7, 3, has_fwb=True)["memtype"] == "normal_nc"


def test_the_prot_bits_moved_in_7_0():
    assert harness.relax_prot(0b110, "6.17.13") == {"R", "W"}       # X=0 W=1 R=2
    assert harness.relax_prot(0b1100, "7.1.3") == {"R", "W"}        # PX=0 UX=1 W=2 R=3
    assert harness.relax_prot(0b0011, "7.3.4") == {"X"}
    assert harness.relax_prot(0b001, "6.12.117") == {"X"}


RAW = """\
@@B [    0.1] CPU features: detected: Stage-2 Force Write-Back
@@B [    1.1] kvm [1]: VHE mode initialized successfully
@@B loaded 3-vfio-pci.ko
@@C anon-rx begin
@@C anon-rx cap_dev -1 -EINVAL
@@C anon-rx cap_vm 0 0
@@C anon-rx reg 0
@@O anon-rx 1 r 0x40000008
@@T anon-rx 1 kvm_guest_fault: ipa 0x40000000, hsr 0x93c08007, hxfar 0x40000008, pc 0x10000070
@@T anon-rx 1 s2v_map: (kvm_pgtable_stage2_map+0x0/0x138) ipa=0x40000000 size=0x1000 phys=0x4809e000 prot=0x6
@@T anon-rx 1 s2v_pte: (stage2_make_pte+0x0/0x70) new=0x43c6a003 addr=0x40000000 level=2
@@T anon-rx 1 s2v_pte: (stage2_make_pte+0x0/0x70) new=0x004000004809e4db addr=0x40000000 level=3
@@E anon-rx 1 val 0x5332564d00000000
@@O anon-rx 2 x 0x40000000
@@T anon-rx 2 kvm_guest_fault: ipa 0x40000000, hsr 0x8200000f, hxfar 0x40000000, pc 0x40000000
@@T anon-rx 2 s2v_relax: (kvm_pgtable_stage2_relax_perms+0x0/0xa0) ipa=0x40000000 prot=0x1
@@C anon-rx end 2
@@C devmemp-w begin
@@C devmemp-w reg 0
@@O devmemp-w 1 w 0x40000010
@@E devmemp-w 1 run -EFAULT
@@C devmemp-w end 1
@@C noslot-nisv begin
@@O noslot-nisv 1 p 0x80000008
@@E noslot-nisv 1 nisv 0x80000008
@@O noslot-nisv 2 r 0x80001008
@@E noslot-nisv 2 mmio 0x80001008 r 8
@@C noslot-nisv end 2
@@C devmem-log begin
@@C devmem-log reg -EINVAL
"""


def test_a_run_is_read_into_outcomes():
    host = harness.host_features(RAW)
    assert host["fwb"] and not host["dic"] and host["vhe"] and host["vfio"]
    results = {r["id"]: r for r in harness.parse(RAW, "6.17.13", host)[0]}
    rx = results["anon-rx"]
    assert rx["memslot"] == "ok" and rx["cap_vm"] == 0 and rx["cap_dev"] == "-EINVAL"
    load, fetch = rx["ops"]
    assert load["outcome"] == "map" and load["s2"]["perm"] == "RW-" and load["marker"] == "own"
    assert load["map_call"] == {"ipa": "0x40000000", "size": 4096, "phys": "0x4809e000"}
    assert load["esr_el2"] == ["0x93c08007"]
    assert fetch["outcome"] == "relax" and fetch["s2"]["perm"] == "RWX"
    store = results["devmemp-w"]["ops"][0]
    assert (store["outcome"], store["errno"], store.get("s2")) == ("run_error", "-EFAULT", None)
    assert [o["outcome"] for o in results["noslot-nisv"]["ops"]] == ["exit_nisv", "exit_mmio"]
    assert results["devmem-log"]["memslot"] == "-EINVAL"
    assert {o["outcome"] for o in results["devmem-log"]["ops"]} == {"not_run"}
    assert results["anon-mte"]["skipped"] == "needs a host with MTE"
    assert results["bar-ops"]["error"] == "the probe printed nothing for this case"


def test_every_case_has_a_permalink_on_every_host_variant():
    for case in CASES:
        for host in ({"fwb", "dic", "mte"}, {"fwb"}, set()):
            link, why = case.permalink("v6.17", host)
            assert link or why, case.id
    assert BY_ID["udmabuf-block"].permalink("v7.1", {"fwb", "dic"})[0] == (
        "/v7.1/?vma=pfnmap,shared,maywrite&mem=sg&pg=2m&gs1=off&f=40000000r,40001000r,40002000r,401ff000r")


def test_fixtures_are_written_one_line_per_access():
    fx = {"schema": 1, "cases": [{"id": "a", "ops": [{"op": "r"}, {"op": "w"}]}, {"id": "b", "skipped": "x"}]}
    text = harness.dump(fx)
    assert json.loads(text) == fx and text.count("\n") == 10


def test_unpacked_packages_are_merged_with_dangling_symlinks(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "usr" / "bin").mkdir(parents=True)
    (pkg / "usr" / "bin" / "tool").write_text("x")
    (pkg / "usr" / "share" / "doc").mkdir(parents=True)
    (pkg / "usr" / "share" / "doc" / "qemu-system-arm").symlink_to("qemu-system-common")   # dangling
    harness.merge_tree(pkg, tmp_path / "root")
    harness.merge_tree(pkg, tmp_path / "root")          # a second package into the same tree
    link = tmp_path / "root" / "usr" / "share" / "doc" / "qemu-system-arm"
    assert link.is_symlink() and not link.exists()
    assert (tmp_path / "root" / "usr" / "bin" / "tool").read_text() == "x"


RETRY = """\
@@C anon-ops begin 1
@@C anon-ops cap_vm 0 0
@@C anon-ops reg 0
@@O anon-ops 1 a 0x40007018
@@T anon-ops 1 kvm_guest_fault: ipa 0x40007000, hsr 0x92000007, hxfar 0x40007018, pc 0x10000070
@@T anon-ops 1 s2v_map: (kvm_pgtable_stage2_map+0x0/0x138) ipa=0x40007000 size=0x1000 phys=0x4809e000 prot=0x4
@@T anon-ops 1 s2v_pte: (stage2_make_pte+0x0/0x70) new=0x004000004809e45b addr=0x40007000 level=3
@@T anon-ops 1 kvm_guest_fault: ipa 0x40007000, hsr 0x9200004f, hxfar 0x40007018, pc 0x10000070
@@T anon-ops 1 s2v_relax: (kvm_pgtable_stage2_relax_perms+0x0/0xa0) ipa=0x40007000 prot=0x6
@@O anon-ops 2 U 0 1
@@T anon-ops 2 s2v_unmap: (kvm_pgtable_stage2_unmap+0x0/0xb8) ipa=0x40000000 size=0x1000
@@E anon-ops 2 event 0
@@C anon-ops end 2
"""


def test_an_access_that_faults_twice_is_two_faults_each_as_the_cpu_reported_it():
    """LDADD on a page KVM first maps read-only (its read's translation fault), then its write's
    permission fault: two entries, each with its own ESR, outcome and descriptor; the second's
    permalink item is the write the CPU reported."""
    from conformance.cases import Case, E, T
    case = Case("anon-ops", "t", "anon", (T("ldadd", 7), E("unmap")))
    host = {"fwb": True, "dic": False, "mte": False, "page_size": 4096}
    res = harness.parse(RETRY, "6.17.13", host, [case])[0][0]
    read, write, event = res["ops"]
    assert (read["fault"], read["outcome"], read["s2"]["perm"]) == ("40007000r.noisv", "map", "R--")
    assert (write["fault"], write["outcome"], write["s2"]["perm"], write["retry"]) == ("40007000w.noisv", "relax",
                                                                                       "RW-", 1)
    assert read["esr_el2"] == ["0x92000007"] and write["esr_el2"] == ["0x9200004f"]
    assert event == {"op": "unmap", "event": "unmap:40000000", "outcome": "event", "result": "0",
                     "kvm": ["unmap ipa=0x40000000 size=0x1000"]}
    harness.name_permalink(res, "v6.17", host, case, "6.17.13")
    assert res["query"].endswith("f=40007000r.noisv,40007000w.noisv,unmap:40000000")


def test_faults_are_named_from_the_syndrome():
    assert harness.fault_item(0x40000000, 0x93c08007) == "40000000r"
    assert harness.fault_item(0x40000000, 0x93c0804f) == "40000000w"
    assert harness.fault_item(0x40000000, 0x82000007) == "40000000x"
    assert harness.fault_item(0x40000000, 0x92000047) == "40000000w.noisv"
    assert harness.fault_item(0x40000000, 0x92000147) == "40000000w.cm"
    assert harness.fault_item(0x40000000, 0x9200000b) == "40000000r.noisv.af"
    assert harness.fault_item(0x40000000, 0x92000035) == "40000000r.noisv.atomic"


def test_the_console_carries_the_records_compressed():
    import base64
    import gzip
    text = "@@C a begin 1\n@@C a end 0\n"
    b64 = base64.b64encode(gzip.compress(text.encode())).decode()
    console = f"[ 1.0] boot\n@@Z {len(text)}\n{b64[:20]}\n{b64[20:]}\n@@Z end\n@@H finished\n"
    out = harness.unpack_console(console)
    assert "@@C a begin 1\n" in out and "@@H finished" in out and "@@Z" not in out
    assert "@@X" in harness.unpack_console("@@Z 5\nnot base64!\n@@Z end\n")
    assert "@@X" in harness.unpack_console(f"@@Z {len(text) + 1}\n{b64}\n@@Z end\n")


def test_event_calls_are_summarised_with_counts():
    assert harness._summarise(["a", "b", "a", "a"]) == ["a (x3)", "b"]


def test_a_livelock_is_kept_as_its_first_faults():
    f = [{"fault": "40003000w", "outcome": "map"}] + [{"fault": "40004000x", "esr_el2": ["0x8200000f"],
                                                       "outcome": "resume", "retry": n} for n in range(1, 2000)]
    f[-1] = {**f[-1], "outcome": "timeout"}
    kept = harness.collapse_repeats(f)
    assert len(kept) == harness.KEEP_REPEATS and kept[-1]["repeated"] == 1999 and kept[-1]["ended"] == "timeout"
    assert harness.collapse_repeats(f[:3]) == f[:3]
    varied = f[:2] + [{"fault": "40004000w", "outcome": "map"}] + f[3:]
    assert harness.collapse_repeats(varied) == varied


def test_the_host_says_whether_stage_2_sets_the_access_flag():
    raw = RAW + "@@H id_aa64mmfr1_el1 0x10112010312122\n"
    host = harness.host_features(raw)
    assert host["hafdbs"] == 2 and not host["hw_afdbm"] and not host["ha"]     # no AFDBM in this boot log
    raw += "@@B [    0.9] CPU features: detected: Hardware dirty bit management on CPU0\n"
    host = harness.host_features(raw)
    assert host["hw_afdbm"] and host["ha"]
    assert not harness.host_features(raw.replace("0x10112010312122", "0x10112010312120"))["ha"]
    assert harness.host_features(RAW)["hafdbs"] is None


EVENTS = """\
@@C anon-age-log begin 1
@@C anon-age-log cap_vm 0 0
@@C anon-age-log reg 0
@@O anon-age-log 1 w 0x40000010
@@T anon-age-log 1 kvm_guest_fault: ipa 0x40000000, esr 0x93c08047, far 0x40000010, pc 0x10000070
@@T anon-age-log 1 s2v_map: (kvm_pgtable_stage2_map+0x0/0x138) ipa=0x40000000 size=0x1000 phys=0x4809e000 prot=0x6
@@T anon-age-log 1 s2v_pte: (stage2_make_pte+0x0/0x70) new=0x004000004809e4df addr=0x40000000 level=3
@@O anon-age-log 2 A 0 1
@@T anon-age-log 2 s2v_young: (kvm_pgtable_stage2_test_clear_young+0x0/0x98) ipa=0x10000000 size=0x1000 mkold=1
@@T anon-age-log 2 s2v_youngret: (kvm_age_gfn+0x50/0x98 <- kvm_pgtable_stage2_test_clear_young) ret=1
@@T anon-age-log 2 s2v_young: (kvm_pgtable_stage2_test_clear_young+0x0/0x98) ipa=0x40000000 size=0x2000 mkold=1
@@T anon-age-log 2 s2v_youngret: (kvm_age_gfn+0x50/0x98 <- kvm_pgtable_stage2_test_clear_young) ret=0
@@T anon-age-log 2 s2v_young: (kvm_pgtable_stage2_test_clear_young+0x0/0x98) ipa=0x40000000 size=0x1000 mkold=0
@@T anon-age-log 2 s2v_youngret: (kvm_age_gfn+0x50/0x98 <- kvm_pgtable_stage2_test_clear_young) ret=1
@@E anon-age-log 2 event 0
@@O anon-age-log 3 L
@@T anon-age-log 3 s2v_wrprot: (kvm_pgtable_stage2_wrprotect+0x0/0x90) ipa=0x40000000 size=0x200000
@@E anon-age-log 3 event 0
@@O anon-age-log 4 w 0x40000010
@@T anon-age-log 4 kvm_guest_fault: ipa 0x40000000, esr 0x93c0804f, far 0x40000010, pc 0x10000070
@@T anon-age-log 4 s2v_relax: (kvm_pgtable_stage2_relax_perms+0x0/0xa0) ipa=0x40000000 prot=0x6
@@T anon-age-log 4 s2v_attr: (stage2_attr_walker+0x0/0x130) old=0x004000004809e05f addr=0x40000000 level=3
@@C anon-age-log end 4
"""


def test_events_are_read_with_what_kvm_did_and_a_relax_starts_from_the_leaf_the_walker_saw():
    """An age event is named by the ranges KVM was asked to age in the probe's slot (another memslot's
    call is left out, and so is its young answer; a test-only call's answer is no aging's); a relaxed
    leaf is the walker's old leaf (AF cleared by the aging, W by the write protection) with the relax
    applied, not the leaf as mapped."""
    from conformance.cases import Case, E, T
    case = Case("anon-age-log", "t", "anon", (T("w"), E("age"), E("logon"), T("w")))
    host = {"fwb": True, "dic": False, "mte": False, "page_size": 4096}
    res = harness.parse(EVENTS, "6.17.13", host, [case])[0][0]
    store, age, logon, again = res["ops"]
    assert store["s2"]["desc"] == "0x004000004809e4df"
    assert (age["event"], age["asked"], age["young"]) == ("age:40000000:2000", "age:40000000", False)
    assert logon["kvm"] == ["wrprotect ipa=0x40000000 size=0x200000"] and logon["result"] == "0"
    assert (again["outcome"], again["s2"]["desc"], again["s2"]["perm"]) == ("relax", "0x004000004809e0df", "RW-")
    harness.name_permalink(res, "v6.17", {**host, "ha": True}, case, "6.17.13")
    assert res["query"].endswith("f=40000000w,age:40000000:2000,logon,40000000w")
    assert "host=fwb,ha" in res["query"]


def test_events_of_a_refused_memslot_are_not_run():
    from conformance.cases import Case, E, T
    case = Case("devmem-log", "t", "devmem", (T("r"), E("logoff")), slot="log")
    host = {"fwb": True, "dic": False, "mte": False, "page_size": 4096}
    res = harness.parse(RAW, "6.17.13", host, [case])[0][0]
    assert [(o["outcome"], o.get("result")) for o in res["ops"]] == [("not_run", None), ("event", "not_run")]


LAYOUT_RAW = """\
@@B [    0.1] CPU features: detected: Stage-2 Force Write-Back
@@B [    0.1] CPU features: detected: Instruction cache invalidation not required for I/D coherence
@@B [    1.1] kvm [1]: VHE mode initialized successfully
@@C vm-split-log begin
@@C vm-split-log cap_vm 1 0
@@C vm-split-log memslot 1 0
@@C vm-split-log memslot 2 -EINVAL
@@C vm-split-block begin
@@C vm-split-block memslot 1 0
@@C vm-split-block memslot 2 0
@@O vm-split-block 1 r 0xc0200008
@@T vm-split-block 1 kvm_guest_fault: ipa 0xc0200000, hsr 0x93c08007, hxfar 0xc0200008, pc 0x10000070
@@T vm-split-block 1 s2v_map: (kvm_pgtable_stage2_map+0x0/0x138) ipa=0xc0200000 size=0x200000 phys=0xa0000000 prot=0xe
@@T vm-split-block 1 s2v_pte: (stage2_make_pte+0x0/0x70) new=0x00600000a0000445 addr=0xc0200000 level=2
@@E vm-split-block 1 val 0x5332564d00000200
@@O vm-split-block 2 r 0xc0201008
@@E vm-split-block 2 val 0x5332564800000201
@@C vm-split-block end 2
@@C vm-delslot2 begin
@@C vm-delslot2 memslot 1 0
@@C vm-delslot2 memslot 2 0
@@O vm-delslot2 1 r 0x40000008
@@O vm-delslot2 2 r 0xc0000008
@@O vm-delslot2 3 D 0 1
@@T vm-delslot2 3 s2v_unmap: (kvm_pgtable_stage2_unmap+0x0/0x60) ipa=0xc0000000 size=0x200000
@@E vm-delslot2 3 event 0
@@O vm-delslot2 4 r 0xc0000008
@@E vm-delslot2 4 mmio 0xc0000008 r 8
@@C vm-delslot2 end 5
"""


def test_whole_vm_cases_are_lines_the_probe_reads():
    """A layout case's line is a one-slot case's (backing `layout`) with one spec per memslot after its
    operations, every VMA sized; the probe's accesses name their slot."""
    from conformance.layout_cases import BY_ID as LAYOUT

    line = LAYOUT["vm-split-block"].probe_line()
    assert line == ("vm-split-block layout - - off 40 r:S2:512,r:S2:513 40000000:200000:-=anon@200000 "
                    "c0000000:400000:-=anon@200000/devmem@1000/anon@1ff000")
    assert LAYOUT["vm-split-mte"].probe_line().split()[3] == "mte"
    delslot = LAYOUT["vm-delslot2"]
    assert [delslot.item(i) for i in range(len(delslot.ops))] == [
        "40000000r", "c0000000r", "delslot:c0000000", "c0000000r", "40000000r"]
    assert len(harness.layout_cases_for("7.3.4")) == 6 and len(harness.layout_cases_for("7.3.4-16k")) == 5
    # With 16K pages a 2 MiB block is a 32 MiB one and a 4K page a 16K one: page 512 of slot 2 is 2048.
    big = {c.id: c for c in harness.layout_cases_for("7.3.4-16k")}["vm-split-block"]
    assert big.probe_line().endswith("r:S2:2048,r:S2:2049 40000000:2000000:-=anon@2000000 "
                                     "c0000000:4000000:-=anon@2000000/devmem@4000/anon@1ffc000")
    # The probe compiles with the layout path (when the cross compiler is there, as `make conformance` has it).
    import shutil
    if shutil.which("aarch64-linux-gnu-gcc"):
        import subprocess
        out = subprocess.run(["aarch64-linux-gnu-gcc", "-fsyntax-only", "-Wall", "-Werror",
                              str(harness.HERE / "probe" / "probe.c")], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr


def test_each_memslot_s_registration_is_read_and_those_after_a_refusal_are_not_run():
    from conformance.layout_cases import CASES as LAYOUT

    host = harness.host_features(LAYOUT_RAW)
    results = {r["id"]: r for r in harness.parse(LAYOUT_RAW, "6.17.13", host, list(LAYOUT))[0]}
    log = results["vm-split-log"]
    assert log["memslots"] == [{"slot": 1, "result": "ok"}, {"slot": 2, "result": "-EINVAL"}]
    assert log["memslot"] == "-EINVAL" and [o["outcome"] for o in log["ops"]] == ["not_run"]
    block = results["vm-split-block"]
    assert block["memslot"] == "ok" and [m["result"] for m in block["memslots"]] == ["ok", "ok"]
    first, second = block["ops"]
    # Markers count 4K pages from the start of their own slot: page 0x201 of slot 2 read from hidden RAM.
    assert (first["outcome"], first["s2"]["size"], first["marker"]) == ("map", 2 << 20, "own")
    assert (second["outcome"], second["marker"]) == ("no_fault", "hidden RAM")
    d = results["vm-delslot2"]
    assert d["ops"][2]["event"] == "delslot:c0000000" and d["ops"][2]["result"] == "0"
    assert d["ops"][3]["outcome"] == "exit_mmio"
    assert results["vm-split-mte"]["skipped"] == "needs a host with MTE"


def test_a_whole_vm_fixture_is_compared_slot_by_slot():
    """What app.conformance compares of a layout case: each memslot's registration, and what an event on
    slot 2 did there (its own window, not only the probe's slot 1)."""
    from app import conformance
    from conformance.layout_cases import CASES as LAYOUT

    row = {"kernel": "6.17.13", "package": "p", "version": "v", "sha256": "s"}
    fx, drawn = harness.make_fixture(row, "max", LAYOUT_RAW, 1.0, "10.0.2", "1:10.0.2", "2026-12-07", list(LAYOUT))
    assert drawn is None and fx["model"] == "v6.17"
    cases = {c["id"]: c for c in fx["cases"]}
    assert "&s2=c0000000:400000:log&" in cases["vm-split-log"]["query"]
    log = conformance.compare_case(fx, cases["vm-split-log"])
    assert log["status"] == "same", log.get("diffs")
    assert log["real"]["memslots"] == log["modelled"]["memslots"] == ["ok", "-EINVAL"]
    d = conformance.compare_case(fx, cases["vm-delslot2"])
    assert d["real"]["ops"][2]["unmap"] == ["0xc0000000+0x200000"] == d["modelled"]["ops"][2]["unmap"]
    # A registration the model answers otherwise is a difference.
    wrong = json.loads(json.dumps(cases["vm-split-log"]))
    wrong["memslots"][1]["result"] = "ok"
    wrong["memslot"] = "ok"
    diffs = [x["what"] for x in conformance.compare_case(fx, wrong)["diffs"]]
    assert "memslots: real ['ok', 'ok'], model ['ok', '-EINVAL']" in diffs
