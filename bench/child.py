"""`manage.py` in a child process, as cron runs it: wall time, output and the child's own peak memory."""

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from bench.env import REPO

# The child's own peak is VmHWM of the process image manage.py runs in, written by the child at exit.
# ru_maxrss (os.wait4, getrusage) is no good here: Linux carries into it the resident size the child had
# between fork and exec, which is the benchmark's own (a suite that has just generated a million orders is
# over 400 MB), so every child would report its parent's peak.
CHILD = """
import atexit, os, runpy, sys

def peak_write():
    with open("/proc/self/status") as status, open(os.environ["BENCH_PEAK_FILE"], "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])

atexit.register(peak_write)
sys.argv = ["manage.py", *sys.argv[1:]]
runpy.run_path("manage.py", run_name="__main__")
"""


@dataclass(frozen=True)
class ChildRun:
    seconds: float
    peak_mb: float  # VmHWM of the child alone
    exit_status: int
    stdout: str
    stderr: str


def manage_run(*arguments: str, environment: dict[str, str] | None = None) -> ChildRun:
    """Run `manage.py ARGUMENTS` in a child process (environment: added to this one's). Output goes to
    files, so that a chatty child never blocks on a full pipe."""
    with (
        tempfile.TemporaryFile("w+") as out,
        tempfile.TemporaryFile("w+") as err,
        tempfile.NamedTemporaryFile("r") as peak,
    ):
        started = time.perf_counter()
        finished = subprocess.run(
            [sys.executable, "-c", CHILD, *arguments],
            cwd=REPO,
            stdout=out,
            stderr=err,
            env={**os.environ, **(environment or {}), "BENCH_PEAK_FILE": peak.name},
        )
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        peak_kb = int(peak.read().strip() or 0)
        return ChildRun(seconds, peak_kb / 1024, finished.returncode, out.read(), err.read())
