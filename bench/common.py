"""What every figure shares: timing, statement capture, statistics, and the rows of the results table."""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext


@dataclass(frozen=True)
class Goal:
    """A goal from the issue, judged on the measured value (met None: not judged, as in a smoke run)."""

    text: str
    met: bool | None
    measured: str = ""


@dataclass
class Result:
    """One row of the results table. Times are formatted by the figure; goals are judged by it."""

    number: str
    figure: str
    median: str = "-"
    p95: str = "-"
    queries: str = "-"
    reference: str = "-"
    ratio: str = "-"
    goals: list[Goal] = field(default_factory=list)

    @property
    def met(self) -> str:
        judged = [goal.met for goal in self.goals if goal.met is not None]
        if not judged:
            return "-"
        return "yes" if all(judged) else "NO"


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        """A correctness check: a failed one makes the run exit non-zero, whatever the size."""
        if ok:
            self.checks.append(what)
        else:
            self.failures.append(what)
            print(f"  CHECK FAILED: {what}", flush=True)


def timed(call: Callable, /, *args, **kwargs) -> tuple[float, Any]:
    """call(*args, **kwargs): (seconds it took, its result)."""
    started = time.perf_counter()
    result = call(*args, **kwargs)
    return time.perf_counter() - started, result


def statements_of(call: Callable, /, *args, **kwargs) -> tuple[int, Any]:
    """call(*args, **kwargs): (statements it ran on this thread's connection, its result)."""
    # The connection's log keeps its last 9,000 statements: once full, a capture's start and end both read
    # 9,000 and it counts nothing (seen in a full run: "0 statements"). Emptied first, it counts from zero.
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        result = call(*args, **kwargs)
    return len(captured.captured_queries), result


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def median(values: list[float]) -> float:
    return statistics.median(values)


def ms(seconds: float) -> str:
    if seconds >= 10:
        return f"{seconds:,.1f} s"
    return f"{seconds * 1000:,.1f} ms"


def cost_ratio(cost: float, reference_cost: float) -> float:
    """The figure's cost over its reference's: 2.0 means the figure takes twice as long."""
    return cost / reference_cost if reference_cost else float("inf")


def times(value: float) -> str:
    return f"{value:.2f}x"


def judged(ok: bool, smoke: bool) -> bool | None:
    """Goals are judged on full runs only: smoke sizes say nothing about speed."""
    return None if smoke else ok


@dataclass(frozen=True)
class Sizes:
    """How big each figure is; the defaults are the issue's."""

    orders: int = 1_000_000
    holds: int = 500_000  # half the orders, held by 20 operators
    page_repeat: int = 15  # requests per page view, after a warm-up
    bulk_repeat: int = 10  # timed rounds of each bulk operation, after a warm-up round
    bulk: int = 10_000  # orders per bulk assign (the default ORDEROPS BULK_MAX_ORDERS)
    naive: int = 1_000  # orders per naive per-order loop, its time scaled to `bulk`
    statement_sizes: tuple[int, int] = (10, 1_000)
    claims: int = 5_000
    threads: int = 8
    status_bulk: int = 10_000  # held orders completed per bulk status change
    release_operators: int = 4  # release_orders --operator x 4: holds / 5 holds (100,000 of 500,000)
    release_repeat: int = 3
    import_repeat: int = 5  # timed rounds of figure 12's imports, after a warm-up round

    @property
    def release_holds(self) -> int:
        return self.holds // 20 * self.release_operators


SMOKE = Sizes(
    orders=2_000,
    holds=500,
    page_repeat=2,
    bulk_repeat=2,
    bulk=100,
    naive=20,
    statement_sizes=(10, 100),
    claims=100,
    status_bulk=10,
    release_repeat=1,
    import_repeat=1,
)
