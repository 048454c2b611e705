"""The benchmark suite still runs: `python -m bench --smoke` (tiny sizes, its own SQLite file, checks only).

No timing is asserted; the suite's own correctness checks (zero double holds, statement counts independent
of N, ...) decide its exit status.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the smoke run uses its own SQLite file; once per `make test` (the SQLite pass) is enough",
)
def test_benchmark_suite_smoke_run_passes_its_checks(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bench-smoke.sqlite3'}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "0 failed" in result.stdout
    # Every figure ran, the load through HTTP (gunicorn, bench/http_load.py) included.
    assert "figure http: done" in result.stdout and "figure pages: done" in result.stdout
    # The connected stores' figures: webhooks through gunicorn, and the backfill by sync_orders.
    assert "figure hooks: done" in result.stdout and "figure backfill: done" in result.stdout
    # Figure 12: the search column's cost on imports and bulk writes.
    assert "figure import: done" in result.stdout


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is read from Linux's /proc")
def test_child_peak_memory_is_the_childs_own_not_its_big_parents():
    """ru_maxrss of a child carries its parent's resident size from between fork and exec: a benchmark that
    has just generated a million orders reported 446 MB for `manage.py check`. bench.child reads VmHWM."""
    from bench.child import manage_run

    ballast = bytearray(300 * 1024 * 1024)
    ballast[::4096] = b"\1" * len(ballast[::4096])  # touch every page: 300 MB resident in this process
    run = manage_run("check", environment={"DJANGO_SETTINGS_MODULE": "tests.settings"})
    assert run.exit_status == 0, run.stderr
    assert 10 < run.peak_mb < 250, f"manage.py check: peak {run.peak_mb:.0f} MB (parent holds 300 MB more)"
    del ballast
