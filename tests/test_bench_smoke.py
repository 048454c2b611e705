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
