"""The comparison as mail text: plain words for outcomes, and only real differences as 'decisions
that differ'."""
from app.present.compare import as_text
from tests.conftest import run

REFUSED = "vma=pfnmap,io,shared,maywrite&mem=dev&host=&f=40000000r"


def _text(a, b, q):
    return as_text(run(a, q), run(b, q), "t", f"/{a}..{b}/?{q}")


def test_a_fault_that_never_ran_is_said_in_words():
    text = _text("patch-v3", "v6.17", REFUSED)
    assert "not_run" not in text
    assert "v6.17: never runs: no memslot, its registration failed" in text


def test_steps_one_kernel_does_not_take_are_not_decisions_that_differ():
    text = _text("patch-v3", "v6.17", REFUSED)
    assert "(no such step)" not in text
    assert "the decisions that differ:" not in text
    assert "[fault 1] only patch-v3: kvm_handle_guest_abort(), user_mem_abort()" in text


def test_decisions_both_kernels_take_still_differ():
    text = _text("v6.14", "v6.17", "vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r")
    part = text.split("the decisions that differ:")[1]
    assert "[fault 1]" in part and "takes no such step" not in part.split("decisions only")[0]


def test_the_leaf_size_change_is_the_first_divergence_from_v7_1_to_v7_3():
    from app.present.compare import align
    q = "vma=pfnmap,io,shared,maywrite,uc&mt=ngnrne&mem=dev&pg=1g&f=40000000r"
    rows, first = align(run("v7.1", q), run("v7.3", q))
    assert rows[first].a.step.id == rows[first].b.step.id == "uma.vma_size"
    assert "VMA's extent" in rows[first].a.step.text and "PAGE_SHIFT" in rows[first].b.step.text
