"""Gunicorn settings: workers follow the cgroup's CPU quota, not the host's CPU count."""
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
