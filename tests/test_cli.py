"""The CLI as a user runs it: a subprocess."""
import json
import subprocess
import sys

import pytest


def s2viz(*args):
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, timeout=60)


def test_trace_json_prints_contract_json():
    r = s2viz("trace", "/v6.17/?vma=pfnmap,io&mem=dev&f=40000000r", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["schema"] == 1 and out["model"] == "v6.17"
    assert out["canonical"] == "/v6.17/?vma=pfnmap,io&mem=dev&f=40000000r"
    assert out["memslot"]["result"] == "ok" and out["cap_cacheable_pfnmap"] == 1
    f = out["faults"][0]
    assert (f["outcome"], f["fsc"], f["s2"]["memtype"], f["s2"]["memattr"]) == ("map", "translation", "normal", 6)
    assert f["effective"] == {"type": "normal_wb", "forced_by_fwb": True, "s1": "normal_wb"}
    assert all({"func", "file", "lines", "text"} <= set(s) for s in f["steps"])


def test_full_url_and_text_output():
    r = s2viz("trace", "https://s2viz.example/patch-v3/?vma=pfnmap,io,shared,maywrite&mem=dev&host=&f=40000000r",
              "--text")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert all(len(line) <= 72 and "\t" not in line for line in lines)
    assert r.stdout.isascii()
    assert "KVM_RUN fails -EINVAL" in r.stdout
    assert lines[-1] == "/patch-v3/?vma=pfnmap,io,shared,maywrite&mem=dev&host=&f=40000000r"


@pytest.mark.parametrize("url", ["/v6.17/?vma=bogus", "/v9.9/", "/v6.17/?f=40000000x.cm"])
def test_bad_scenarios_exit_2_with_one_line(url):
    r = s2viz("trace", url)
    assert r.returncode == 2
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("s2viz: ")


def test_a_comparison_prints_as_text_and_refuses_json():
    r = s2viz("trace", "/patch-v3..v6.17/?vma=pfnmap,io,maywrite&mt=ngnrne&mem=dev&f=40000000r", "--text")
    assert r.returncode == 0, r.stderr
    assert "decided by user_mem_abort() at arch/arm64/kvm/mmu.c:1613" in r.stdout
    assert r.stdout.splitlines()[-1] == "/patch-v3..v6.17/?vma=pfnmap,io,maywrite&mt=ngnrne&mem=dev&f=40000000r"
    r = s2viz("trace", "/patch-v3..v6.17/?f=40000000r", "--json")
    assert r.returncode == 2 and "no JSON form" in r.stderr


def test_the_text_ends_with_an_absolute_link_when_s2viz_public_url_is_set():
    import os
    env = {**os.environ, "S2VIZ_PUBLIC_URL": "https://s2viz.example/"}
    r = subprocess.run([sys.executable, "-m", "app.cli", "trace", "/v6.17/?f=40000000r", "--text"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "https://s2viz.example/v6.17/?f=40000000r"
    bad = subprocess.run([sys.executable, "-m", "app.cli", "trace", "/v6.17/?f=40000000r", "--text"],
                         capture_output=True, text=True, timeout=60, env={**env, "S2VIZ_PUBLIC_URL": "s2viz.example"})
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "S2VIZ_PUBLIC_URL" in bad.stderr
