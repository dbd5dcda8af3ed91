"""The checks of scripts/verify_sources.py on small made-up sources (no download)."""
import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("verify_sources",
                                              Path(__file__).parent.parent / "scripts" / "verify_sources.py")
vs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vs)

SRC = """static int helper(int a)
{
\treturn a;
}

static long
two_lines(struct x *x,
\t  int y)
{
\tif (y)
\t\treturn -EFAULT;
\treturn 0;
}
""".splitlines()


def test_function_span_finds_kernel_style_definitions():
    assert vs.function_span(SRC, "helper") == (1, 4)
    assert vs.function_span(SRC, "two_lines") == (6, 13)
    assert vs.function_span(SRC, "missing") is None


def test_a_range_must_lie_in_its_function_and_hold_its_keyword():
    ok = {"func": "two_lines", "file": "f.c", "lines": [10, 11]}
    assert vs.check_step(SRC, "s", ok, "-EFAULT") == []
    assert vs.check_step(SRC, "s", ok, "-EINVAL")             # keyword absent
    outside = {"func": "helper", "file": "f.c", "lines": [10, 11]}
    assert vs.check_step(SRC, "s", outside, "-EFAULT")        # not inside helper()
    beyond = {"func": "helper", "file": "f.c", "lines": [40, 41]}
    assert vs.check_step(SRC, "s", beyond, "x")
