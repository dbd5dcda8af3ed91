"""Gunicorn settings: workers follow the cgroup's CPU quota, not the host's CPU count, and are
warmed before their first request."""
import subprocess
import sys

from app.web.serving.gunicorn_conf import cpu_quota


def test_cgroup_v2_quota(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cpu_quota(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cpu_quota(tmp_path) is None


def test_cgroup_v1_quota(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("300000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cpu_quota(tmp_path) == 3.0
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cpu_quota(tmp_path) is None


def test_no_cgroup_files_means_no_quota(tmp_path):
    assert cpu_quota(tmp_path) is None


def test_the_settings_trust_no_forwarded_headers_and_leave_room_for_the_apps_413(monkeypatch):
    import importlib

    import app.web.serving.gunicorn_conf as conf
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    monkeypatch.setenv("WEB_CONCURRENCY", "")
    conf = importlib.reload(conf)
    assert conf.forwarded_allow_ips == ""
    assert conf.limit_request_line > 4096 * 1.5
    assert conf.workers >= 2 and conf.max_requests and conf.max_requests_jitter


# A permalink whose scenario was recorded on a real kernel: its page carries the conformance note.
RECORDED = "/v6.17/?vma=pfnmap,shared,maywrite&mem=sg&host=fwb,dic,mte,lpa2,ha&pg=2m&gs1=off&f=40000000r,40001000r,40002000r,401ff000r"  # noqa: E501


def test_each_worker_is_warmed_before_its_first_request():
    """gunicorn's hook, run in a fresh process as in a fresh worker: afterwards the first page
    compiles no template and compares no conformance case (the page's note reads their report)."""
    code = f"RECORDED = {RECORDED!r}" + """
import logging
from app import conformance, create_app
from app.web.serving import gunicorn_conf

class Worker:
    pid, log, wsgi = 1, logging.getLogger("worker"), create_app()
gunicorn_conf.post_worker_init(Worker)
compiled = []
env = Worker.wsgi.jinja_env
env.compile = lambda *a, **k: compiled.append(a[1]) or type(env).compile(env, *a, **k)
def refuse(*a):
    raise AssertionError("a conformance case compared during a request")
import app.conformance.overview as overview
overview.compare_case = refuse
r = Worker.wsgi.test_client().get(RECORDED)
assert r.status_code == 200, r.status_code
assert b"checked against Linux" in r.data
print(compiled)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
