"""Profiles of figures that miss their goal: pyinstrument when it can be imported (it is not a dependency:
`pip install --target /tmp/prof pyinstrument` and PYTHONPATH=/tmp/prof), summarized as the functions that
take the most time of their own, grouped where they live (orderops, Django, the database driver)."""

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from bench.env import REPO

try:
    from pyinstrument import Profiler
except ImportError:  # the suite runs without it; profiles are then left out
    Profiler = None

TOP = 12
# Django functions worth seeing whole next to orderops' own (they run once per row of the list).
INCLUSIVE_ALSO = {"action_checkbox", "lookup_field"}


def available() -> bool:
    return Profiler is not None


def _where(file_path: str) -> str:
    path = Path(file_path or "")
    if path.is_relative_to(REPO) and ".venv" not in path.parts:
        return str(path.relative_to(REPO))
    if "site-packages" in path.parts:
        return "/".join(path.parts[path.parts.index("site-packages") + 1 :])
    return path.name or "<built-in>"


def _area(where: str) -> str:
    if where.split("/")[0] in {"orders", "operators", "console", "orderops"}:
        return "orderops (orders/, operators/, console/, orderops/)"
    if where == "django/db/backends/utils.py" or "psycopg2" in where or "sqlite3" in where:
        return "database (inside cursor.execute / fetch: the statements themselves)"
    if where.startswith(("django/template", "django/forms")):
        return "Django templates and widgets"
    if where.startswith("django/contrib/admin"):
        return "Django admin"
    if where.startswith("django/db"):
        return "Django ORM"
    if where.startswith("django/"):
        return "other Django"
    return "other"


def profile(
    what: str,
    call: Callable[[], object],
    times: int = 5,
    *,
    before: Callable[[], object] | None = None,
    after: Callable[[], object] | None = None,
) -> str:
    """Run `call` `times` times under pyinstrument (`before` and `after` each time, unprofiled); a Markdown
    section of where the time went."""
    if Profiler is None:
        return ""
    profiler = Profiler(interval=0.0005)
    session = None
    for _time in range(times):
        if before is not None:
            before()
        profiler.start()
        call()
        session = profiler.stop()
        if after is not None:
            after()
    own: dict[str, float] = defaultdict(float)
    by_area: dict[str, float] = defaultdict(float)

    inclusive: dict[str, float] = defaultdict(float)

    def walk(frame, outer: frozenset = frozenset()) -> None:
        # A frame's own time includes its synthetic "[self]" children: they are not counted again.
        if frame.is_synthetic:
            return
        where = _where(frame.file_path)
        name = (
            f"{frame.class_name}.{frame.function}" if getattr(frame, "class_name", None) else frame.function
        )
        if frame.total_self_time:
            own[f"{name} ({where}:{frame.line_no})"] += frame.total_self_time
            by_area[_area(where)] += frame.total_self_time
        # orderops' own functions (and the admin's per-row checkbox), whole calls, outermost call only.
        key = f"{name} ({where}:{frame.line_no})"
        if (_area(where).startswith("orderops") or frame.function in INCLUSIVE_ALSO) and key not in outer:
            inclusive[key] += frame.time
            outer = outer | {key}
        for child in frame.children:
            walk(child, outer)

    root = session.root_frame() if session is not None else None
    if root is None:
        return ""
    walk(root)
    total = sum(own.values()) or 1.0
    lines = [
        f"#### {what}",
        "",
        f"pyinstrument, {times} runs, {total / times * 1000:,.1f} ms per run sampled.",
        "",
    ]
    lines += ["| where the time went | share |", "|---|---:|"]
    lines += [
        f"| {area} | {seconds / total:.0%} |"
        for area, seconds in sorted(by_area.items(), key=lambda i: -i[1])
    ]
    lines += ["", "| orderops function, whole calls (and the admin's per-row ones) | share |", "|---|---:|"]
    for name, seconds in sorted(inclusive.items(), key=lambda item: -item[1])[:TOP]:
        lines.append(f"| `{name}` | {seconds / total:.1%} |")
    lines += ["", "| function (own time) | share |", "|---|---:|"]
    for name, seconds in sorted(own.items(), key=lambda item: -item[1])[:TOP]:
        lines.append(f"| `{name}` | {seconds / total:.1%} |")
    return "\n".join(lines) + "\n"
