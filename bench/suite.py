"""The benchmark suite: orderops against the stock Django admin and the raw SQL limit, in one run.

    .venv/bin/python -m bench                      # 1,000,000 orders on PostgreSQL; writes bench/RESULTS.md
    .venv/bin/python -m bench --smoke              # tiny sizes on an SQLite file: checks only, as CI runs it
    .venv/bin/python -m bench --only list,page     # some figures (list, page, pages, bulk, claims, ...)

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/orderops_bench (created if missing), which the
suite owns: it loads its data set there (bench/data.py: orders with lines, half of them held by 20
operators, the log rows to match), reuses it while it matches --orders, and puts back what the figures
change at the start of every run. --smoke defaults to an SQLite file in the temporary directory instead.

Every figure is measured against its reference in the same run, interleaved, so that the ratio holds on a
noisy machine: median and p95 of repeated runs after a warm-up, statements per request or call, the ratio,
and the issue's goal. Goals are judged on full runs only and never fail the run; correctness checks (no
double holds, equal statement counts, every change logged, the same rows as the stock admin) fail it
with exit status 1, at any size. A full run of every figure rewrites bench/RESULTS.md, keeping its
hand-written Analysis section; with pyinstrument importable (PYTHONPATH=/tmp/prof), every figure that
misses a goal is profiled into it.
"""

import argparse
import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bench.env import DEFAULT_DATABASE_URL, REPO, django_setup

FIGURES = (
    "list",
    "page",
    "pages",
    "lists",
    "bulk",
    "claims",
    "status",
    "release",
    "import",
    "http",
    "hooks",
    "backfill",
)
RESULTS = REPO / "bench" / "RESULTS.md"
ANALYSIS_START, ANALYSIS_END = "<!-- analysis:start -->", "<!-- analysis:end -->"


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument(
        "--orders", type=int, default=1_000_000, help="orders in the data set (default 1,000,000)"
    )
    parser.add_argument("--claims", type=int, help="claims per claim run (default 5,000)")
    parser.add_argument("--page-repeat", type=int, help="requests per page view after a warm-up (default 15)")
    parser.add_argument("--bulk-repeat", type=int, help="timed rounds of each bulk operation (default 10)")
    parser.add_argument(
        "--backfill-orders",
        type=int,
        default=10_000,
        help="orders of the sync_orders backfill (default 10,000)",
    )
    parser.add_argument(
        "--import-orders",
        type=int,
        default=10_000,
        help="orders of figure 12's import_orders (default 10,000)",
    )
    parser.add_argument(
        "--hooks-seconds", type=float, default=120, help="seconds of webhook deliveries at 20/s (default 120)"
    )
    parser.add_argument("--hooks-operators", type=int, help="simulated operators beside them (default 50)")
    parser.add_argument("--only", help=f"comma-separated figures to run, of: {', '.join(FIGURES)}")
    parser.add_argument(
        "--http-seconds",
        type=float,
        help="figure 9's whole length in seconds (default 180: 60 operators alone, 60 with 100 open tabs,\n"
        "60 with 300); shorter is a reduced run, for a busy machine",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, any database, checks only (CI)")
    parser.add_argument("--reload", action="store_true", help="load the data set again even if it matches")
    parser.add_argument(
        "--results",
        type=Path,
        help="where to write the results (default: bench/RESULTS.md, on a full run of every figure only)",
    )
    args = parser.parse_args(argv)
    args.figures = FIGURES if not args.only else tuple(name.strip() for name in args.only.split(","))
    unknown = set(args.figures) - set(FIGURES)
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(sorted(unknown))}; choose from {', '.join(FIGURES)}")
    return args


def sizes_for(args: argparse.Namespace):
    from bench.common import SMOKE, Sizes

    if args.smoke:
        return SMOKE
    sizes = Sizes(orders=args.orders, holds=args.orders // 2)
    overrides = {
        "claims": args.claims,
        "page_repeat": args.page_repeat,
        "bulk_repeat": args.bulk_repeat,
    }
    return replace(sizes, **{key: value for key, value in overrides.items() if value is not None})


# --- the machine -------------------------------------------------------------------------------------------


def load_average() -> str:
    return "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "?"


def commit() -> str:
    """HEAD's commit, read from .git without running git (others work in this checkout)."""
    git = REPO / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            path = git / ref
            if path.exists():
                return path.read_text().strip()[:12]
            for line in (git / "packed-refs").read_text().splitlines():
                if line.endswith(" " + ref):
                    return line.split()[0][:12]
        return head[:12]
    except OSError:
        return "?"


def database_lines() -> list[str]:
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor != "postgresql":
        return [f"{connection.vendor} {settings['NAME']}"]
    with connection.cursor() as cursor:
        values = {}
        for name in (
            "server_version",
            "shared_buffers",
            "work_mem",
            "effective_cache_size",
            "max_parallel_workers_per_gather",
            "autovacuum",
            "jit",
        ):
            cursor.execute(f"SHOW {name}")
            values[name] = cursor.fetchone()[0]
    version = values.pop("server_version")
    return [
        f"PostgreSQL {version} at {settings['HOST']}:{settings['PORT']}/{settings['NAME']} (same machine),"
        f" psycopg2 {__import__('psycopg2').__version__.split()[0]}",
        "settings: " + ", ".join(f"{name} {value}" for name, value in values.items()),
    ]


def versions() -> str:
    import django

    return f"Python {platform.python_version()}, Django {django.get_version()}"


# --- the results -------------------------------------------------------------------------------------------


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(results) -> str:
    header = "| # | figure | median | p95 | queries | reference (same run) | ratio | goal | met |"
    rule = "|---|---|---:|---:|---:|---|---:|---|---|"
    rows = [
        "| "
        + " | ".join(
            cell(value)
            for value in (
                result.number,
                result.figure,
                result.median,
                result.p95,
                result.queries,
                result.reference,
                result.ratio,
                "; ".join(goal.text for goal in result.goals) or "-",
                result.met,
            )
        )
        + " |"
        for result in sorted(results, key=lambda result: result.number)
    ]
    return "\n".join([header, rule, *rows])


def goals_lines(results) -> list[str]:
    lines = []
    for result in sorted(results, key=lambda result: result.number):
        for goal in result.goals:
            if goal.met is None:
                continue
            verdict = "met" if goal.met else "**NOT met**"
            measured = f" (measured: {goal.measured})" if goal.measured else ""
            lines.append(f"- {verdict}: figure {result.number}, {result.figure}: {goal.text}{measured}")
    return lines


def previous_analysis(path: Path) -> str:
    if path.exists():
        text = path.read_text()
        if ANALYSIS_START in text and ANALYSIS_END in text:
            return text[text.index(ANALYSIS_START) : text.index(ANALYSIS_END) + len(ANALYSIS_END)]
    placeholder = "(Written by hand after a full run; kept by the next one.)"
    return f"{ANALYSIS_START}\n## Analysis\n\n{placeholder}\n{ANALYSIS_END}"


def results_markdown(report, context: dict, path: Path) -> str:
    lines = [
        "# orderops benchmark results",
        "",
        f"Written by `{context['command']}` on {context['date']}, a full run at {context['orders']:,} orders."
        " Everything above the Analysis section is rewritten by the next full run; the Analysis section is"
        " kept. Ratio: the figure's cost over its reference's, measured in the same run (claim next: its"
        " throughput over the raw claim's). Queries: statements per request or call, as Django counts them"
        " (BEGIN and COMMIT included).",
        "",
        "## Machine",
        "",
        f"- {context['cpus']} CPUs ({context['cpu_model']}), {context['memory']} RAM, {context['system']}",
        f"- {context['versions']}; commit {context['commit']}",
        *(f"- {line}" for line in context["database"]),
        f"- load average (1, 5, 15 min) at the start {context['load_start']}, at the end"
        f" {context['load_end']};"
        " per figure: " + ", ".join(f"{name} {load}" for name, load in context["load_by_figure"]),
        "",
        "## Data",
        "",
        f"- {context['data']}",
        f"- {context['how']}",
        "",
        "## Figures",
        "",
        markdown_table(report.results),
        "",
        "## Goals",
        "",
        *goals_lines(report.results),
        "",
        "## Checks",
        "",
        f"{len(report.checks)} correctness checks passed, {len(report.failures)} failed.",
        *(f"- FAILED: {failure}" for failure in report.failures),
        "",
        "## Notes",
        "",
        *(f"- {note}" for note in report.notes),
        f"- the run took {context['seconds'] / 60:.1f} min",
        "",
    ]
    if report.profiles:
        lines += ["## Profiles of figures that missed a goal", "", *report.profiles, ""]
    lines += [previous_analysis(path), ""]
    return "\n".join(lines)


# --- the run -----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    if args.smoke and not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = (
            f"sqlite:///{Path(tempfile.gettempdir()) / 'orderops-bench-smoke.sqlite3'}"
        )
    django_setup()

    from django.db import connection

    from bench import admin_lists, changelist, data, engine, http_load, imports, operations, profiling
    from bench import stores as store_figures
    from bench.common import Report

    sizes = sizes_for(args)
    data.database_create_if_missing()
    if connection.vendor != "postgresql" and not args.smoke:
        raise SystemExit(
            f"The benchmark measures PostgreSQL, and DATABASE_URL points at {connection.vendor}. Set"
            f" DATABASE_URL=postgres://... (default: {DEFAULT_DATABASE_URL}), or pass --smoke."
        )
    started = time.perf_counter()
    load_start = load_average()
    print(
        f"orderops benchmark{' (SMOKE: tiny sizes, timings mean nothing)' if args.smoke else ''}", flush=True
    )
    print(f"database: {database_lines()[0]}; machine: {os.cpu_count()} CPUs, load {load_start}", flush=True)
    dataset = data.prepare(data.Spec(sizes.orders, sizes.holds), reload=args.reload)
    print(
        f"data: {sizes.orders:,} orders, {dataset.lines:,} lines, {sizes.holds:,} holds; {dataset.how}",
        flush=True,
    )
    if not profiling.available():
        print("pyinstrument is not importable: figures that miss a goal are not profiled", flush=True)

    report = Report()
    steps = {
        "list": lambda: changelist.measure_list(report, dataset, sizes.page_repeat, args.smoke),
        "page": lambda: changelist.measure_order_page(report, dataset, sizes.page_repeat, args.smoke),
        "pages": lambda: changelist.measure_pages(report, dataset, sizes.page_repeat, args.smoke),
        "lists": lambda: admin_lists.measure_admin_lists(report, dataset, sizes.page_repeat, args.smoke),
        "bulk": lambda: engine.measure_bulk(report, sizes, dataset, args.smoke),
        "claims": lambda: engine.measure_claims(report, sizes, dataset, args.smoke),
        "status": lambda: operations.measure_status_change(report, sizes, dataset, args.smoke),
        "release": lambda: operations.measure_release_orders(report, sizes, dataset, args.smoke),
        "import": lambda: imports.measure_writes(
            report,
            100 if args.smoke else args.import_orders,
            sizes.status_bulk,
            sizes.import_repeat,
            args.smoke,
        ),
        "http": lambda: http_load.measure_http(report, sizes, dataset, args.smoke, args.http_seconds),
        "hooks": lambda: store_figures.measure_hooks(
            report,
            dataset,
            args.smoke,
            rate=5 if args.smoke else 20,
            seconds=3 if args.smoke else args.hooks_seconds,
            operators=args.hooks_operators,
        ),
        "backfill": lambda: store_figures.measure_backfill(
            report,
            200 if args.smoke else args.backfill_orders,
            args.smoke,
            platforms=("woocommerce", "magento", "shopify"),
        ),
    }
    load_by_figure = []
    for name in args.figures:
        load_by_figure.append((name, load_average()))
        step_started = time.perf_counter()
        print(f"figure {name}: running (load {load_by_figure[-1][1]})", flush=True)
        steps[name]()
        print(f"figure {name}: done in {time.perf_counter() - step_started:.0f} s", flush=True)

    print()
    print(markdown_table(report.results))
    print()
    for line in goals_lines(report.results) + [f"- FAILED: {failure}" for failure in report.failures]:
        print(line)
    print(f"{len(report.checks)} checks passed, {len(report.failures)} failed;", end=" ")
    seconds = time.perf_counter() - started
    print(f"finished in {seconds:.0f} s, load {load_average()}")

    full = not args.smoke and args.figures == FIGURES and args.orders == 1_000_000
    path = args.results or (RESULTS if full else None)
    if path is not None:
        context = {
            "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "orders": sizes.orders,
            "cpus": os.cpu_count(),
            "cpu_model": cpu_model(),
            "memory": memory_total(),
            "system": f"{platform.system()} {platform.release()}",
            "versions": versions(),
            "commit": commit(),
            "database": database_lines(),
            "load_start": load_start,
            "load_end": load_average(),
            "load_by_figure": load_by_figure,
            "data": f"{sizes.orders:,} orders ({dataset.lines:,} lines), {sizes.holds:,} of them held by 20"
            f" operators with one 'assigned' log row each, one order with a {data.TIMELINE_ENTRIES}-entry"
            " timeline;"
            " seed_demo's status mix, names, addresses and catalog",
            "how": dataset.how,
            "seconds": seconds,
        }
        path.write_text(results_markdown(report, context, path))
        print(f"results written to {path}")
    return 1 if report.failures else 0
