"""Figures 1 and 6: the console's order list and order page, rendered through the whole Django stack, against
a stock ModelAdmin of the same model on the same data (bench/stock_admin.py).

Every request goes through django.test.Client in this process (middleware, session, permissions, template
rendering; no network), logged in as an operator of the Operators group. Each view is requested once to
warm up, then `repeat` times, alternating with its stock reference (which one goes first alternates too),
so that both see the same machine. Statements are captured on every request, with each one's time. Each
request opens its own database connection, as the console does with the default CONN_MAX_AGE=0.
"""

import re
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench import profiling
from bench.common import Goal, Report, Result, cost_ratio, judged, median, ms, p95, timed, times
from bench.data import TIMELINE_ENTRIES, Dataset
from orders.models import Order
from orders.search_text import phone_national_digits

CONSOLE = "/admin/orders/order/"
STOCK = "/stockadmin/orders/order/"
LIST_RATIO_GOAL = 0.45
LIST_QUERIES_GOAL = 8
SLOWEST_QUERY_GOAL = 0.005  # seconds
TBODY = re.compile(rb"<tbody>(.*?)</tbody>", re.DOTALL)


@dataclass
class PageRuns:
    """Requests of one URL: wall times, statements per request, and each request's slowest statement."""

    url: str
    seconds: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    slowest: list[tuple[float, str]] = field(default_factory=list)
    rows: int = -1

    @property
    def slowest_median(self) -> float:
        return median([seconds for seconds, _sql in self.slowest])

    @property
    def slowest_sql(self) -> str:
        return max(self.slowest)[1]


def body_rows(html: bytes) -> int:
    """Rows of the result table (the list's <tbody>), -1 when there is none."""
    match = TBODY.search(html)
    return match.group(1).count(b"<tr") if match else 0


def get(client: Client, runs: PageRuns, *, record: bool) -> None:
    with CaptureQueriesContext(connection) as captured:
        seconds, response = timed(client.get, runs.url)
    if response.status_code != 200:
        raise RuntimeError(f"GET {runs.url} answered {response.status_code}")
    runs.rows = body_rows(response.content)
    if record:
        queries = captured.captured_queries
        runs.seconds.append(seconds)
        runs.statements.append(len(queries))
        runs.slowest.append(max((float(query["time"]), query["sql"]) for query in queries))


def compare(client: Client, console_url: str, stock_url: str, repeat: int) -> tuple[PageRuns, PageRuns]:
    console, stock = PageRuns(console_url), PageRuns(stock_url)
    for round_number in range(repeat + 1):  # round 0 warms up
        pair = [console, stock] if round_number % 2 else [stock, console]
        for runs in pair:
            get(client, runs, record=round_number > 0)
    return console, stock


def statements_text(runs: PageRuns) -> str:
    low, high = min(runs.statements), max(runs.statements)
    return str(low) if low == high else f"{low}-{high}"


def short_sql(sql: str, limit: int = 90) -> str:
    sql = re.sub(r'"([a-z_]+)"\.', "", sql)  # drop table qualifiers: shorter, still readable
    sql = re.sub(r"SELECT .*? FROM", "SELECT … FROM", sql, count=1)
    return sql if len(sql) <= limit else sql[: limit - 1] + "…"


def measure_list(report: Report, dataset: Dataset, repeat: int, smoke: bool) -> None:
    """Figure 1: page 1 of the order list, six ways, each against the stock admin's nearest page."""
    user_model = get_user_model()
    viewer = user_model.objects.get(pk=dataset.operator_pks[0])
    other = dataset.operator_pks[3]
    # An order number from the middle of the table: found by the console's index look-up, by the stock
    # admin's scan of number, name and email (icontains).
    number = Order.objects.filter(pk=dataset.spec.orders // 2).values_list("number", flat=True).get()
    views: list[tuple[str, dict[str, object], dict[str, object], str]] = [
        ("unfiltered", {}, {}, "stock unfiltered"),
        ("mine", {"held": "mine"}, {"assignment__operator__id__exact": viewer.pk}, "stock filter on holder"),
        (
            "unassigned",
            {"held": "unassigned"},
            {"assignment__operator__isnull": "True"},
            "stock holder filter, empty",
        ),
        ("by status", {"status__code__exact": "processing"}, {"status__code__exact": "processing"}, "stock"),
        (
            "by operator",
            {"operator": other},
            {"assignment__operator__id__exact": other},
            "stock filter on holder",
        ),
        ("search by number", {"q": number}, {"q": number}, "stock search"),
    ]
    client = Client(raise_request_exception=True)
    client.force_login(viewer)
    for name, console_query, stock_query, reference in views:
        console_url = CONSOLE + (f"?{urlencode(console_query)}" if console_query else "")
        stock_url = STOCK + (f"?{urlencode(stock_query)}" if stock_query else "")
        console, stock = compare(client, console_url, stock_url, repeat)
        report.check(
            console.rows == stock.rows and console.rows > 0,
            f"order list, {name}: the console shows {console.rows} rows, the stock admin {stock.rows}",
        )
        ratio = cost_ratio(median(console.seconds), median(stock.seconds))
        most = max(console.statements)
        slowest = console.slowest_median
        report.results.append(
            Result(
                "1",
                f"order list, {name} ({console_url.removeprefix(CONSOLE) or 'page 1'})",
                ms(median(console.seconds)),
                ms(p95(console.seconds)),
                statements_text(console),
                f"{reference} ({stock_url.removeprefix(STOCK) or 'page 1'}): {ms(median(stock.seconds))},"
                f" {statements_text(stock)} queries",
                times(ratio),
                [
                    Goal(
                        f"≤ {LIST_RATIO_GOAL:.2f}x stock",
                        judged(ratio <= LIST_RATIO_GOAL, smoke),
                        times(ratio),
                    ),
                    Goal(
                        f"≤ {LIST_QUERIES_GOAL} queries",
                        judged(most <= LIST_QUERIES_GOAL, smoke),
                        f"{most} queries",
                    ),
                    Goal(
                        f"no query over {SLOWEST_QUERY_GOAL * 1000:.0f} ms",
                        judged(slowest <= SLOWEST_QUERY_GOAL, smoke),
                        f"slowest {ms(slowest)} (median over requests)",
                    ),
                ],
            )
        )
        if profiling.available() and any(goal.met is False for goal in report.results[-1].goals):
            report.profiles.append(profiling.profile(f"order list, {name}", partial(client.get, console_url)))
        report.notes.append(
            f"order list, {name}: slowest console query {ms(slowest)} (median over requests):"
            f" `{short_sql(console.slowest_sql)}`; stock's slowest {ms(stock.slowest_median)}:"
            f" `{short_sql(stock.slowest_sql)}`"
        )


def measure_order_page(report: Report, dataset: Dataset, repeat: int, smoke: bool) -> None:
    """Figure 6: the page of an order with a 200-entry timeline, seen by its holder; against the stock
    admin's change page of the same order (no timeline, no lines)."""
    holder = get_user_model().objects.get(pk=dataset.operator_pks[-1])
    client = Client(raise_request_exception=True)
    client.force_login(holder)
    order_id = dataset.timeline_order_id
    console, stock = compare(client, f"{CONSOLE}{order_id}/change/", f"{STOCK}{order_id}/change/", repeat)
    response = client.get(console.url)
    entries = response.content.count(b'class="timeline-entry')
    report.check(
        entries == TIMELINE_ENTRIES,
        f"order page: the timeline of order {order_id} shows {entries} entries ({TIMELINE_ENTRIES} loaded)",
    )
    report.results.append(
        Result(
            "6",
            f"order page, {TIMELINE_ENTRIES}-entry timeline (its holder's view: editable, with lines)",
            ms(median(console.seconds)),
            ms(p95(console.seconds)),
            statements_text(console),
            f"stock change page of the same order: {ms(median(stock.seconds))},"
            f" {statements_text(stock)} queries",
            times(cost_ratio(median(console.seconds), median(stock.seconds))),
            [Goal("time and queries (no goal set)", None)],
        )
    )
    report.notes.append(
        f"order page: slowest console query {ms(console.slowest_median)} (median over requests):"
        f" `{short_sql(console.slowest_sql)}`"
    )


PAGE_RATIO_GOAL = 2.0  # the "within 2x the unfiltered list page, in the same run"
SEARCH_SLOWEST_GOAL = 0.020  # seconds
WORKLOAD = "/admin/orders/order/workload/"
QUEUES = "/admin/orders/order/queues/"


def _phone_dictated(dataset: Dataset) -> str:
    """The phone of an order in the middle of the data set as an operator would dictate it: the national
    form ("0886 223 958") for a phone stored internationally, the international one otherwise."""
    phone = (
        Order.objects.filter(pk=dataset.spec.orders // 3 + 1).values_list("customer_phone", flat=True).get()
    )
    national = phone_national_digits(phone)
    if phone.startswith("+"):
        return f"0{national[:3]} {national[3:6]} {national[6:]}"
    return f"+359 {national[:2]} {national[2:5]} {national[5:]}"


def measure_pages(report: Report, dataset: Dataset, repeat: int, smoke: bool) -> None:
    """Figures 7 and 8: text searches, the workload page and the navigation's queue counts, each interleaved
    with the unfiltered order list (page 1) as the same user in the same run; goal within 2x of it."""
    email_part = (
        Order.objects.filter(pk=dataset.spec.orders // 3).values_list("customer_email", flat=True).get()
    ).split("@")[0][-9:]
    searches = [
        ("a name", "Ivanova"),
        ("part of an email, no @", email_part),
        ("an accent-free name", "muller"),
        ("a city", "Plovdiv"),
        ("a phone as dictated", _phone_dictated(dataset)),
        ("a lower-case Cyrillic name", "иванова"),
        ("a Latin name for a Cyrillic one", "Georgieva Maria"),
        # The worst terms found: trigrams that (nearly) every row shares, a common phone prefix, many words.
        ("common trigrams", "+359 88 example"),
        ("eight common words", "Emma Novak emma.novak example com 359 88 +359"),
        ("1,000 one-letter words (cut to 8)", " ".join(["a"] * 1000)),
        ("common words, no match", "example com 359 zzzq"),
        ("common names and a city, no match", "Ivanova Muller Plovdiv"),
    ]
    operator = get_user_model().objects.get(pk=dataset.operator_pks[0])
    supervisor = get_user_model().objects.get(pk=dataset.supervisor_pk)
    pages = [
        (
            "7",
            f"search, {what} (?q={term if len(term) <= 50 else term[:20] + ' …'})",
            operator,
            f"{CONSOLE}?{urlencode({'q': term})}",
            True,
        )
        for what, term in searches
    ] + [
        ("8", "workload page (per operator: holds, oldest, today; the backlog)", supervisor, WORKLOAD, False),
        ("8", "queue counts (the navigation's JSON, fetched after load)", operator, QUEUES, False),
    ]
    clients: dict[int, Client] = {}
    for number, figure, user, url, is_search in pages:
        if user.pk not in clients:
            clients[user.pk] = Client(raise_request_exception=True)
            clients[user.pk].force_login(user)
        client = clients[user.pk]
        page, listing = compare(client, url, CONSOLE, repeat)
        if is_search:
            expected = "no match" not in figure
            report.check((page.rows > 0) == expected, f"{figure}: the console found {page.rows} rows")
        ratio = cost_ratio(median(page.seconds), median(listing.seconds))
        slowest = page.slowest_median
        goals = [
            Goal(f"≤ {PAGE_RATIO_GOAL:.0f}x the list", judged(ratio <= PAGE_RATIO_GOAL, smoke), times(ratio))
        ]
        if is_search:
            goals.append(
                Goal(
                    f"no query over {SEARCH_SLOWEST_GOAL * 1000:.0f} ms",
                    judged(slowest <= SEARCH_SLOWEST_GOAL, smoke),
                    f"slowest {ms(slowest)} (median over requests)",
                )
            )
        report.results.append(
            Result(
                number,
                figure,
                ms(median(page.seconds)),
                ms(p95(page.seconds)),
                statements_text(page),
                f"the unfiltered order list as {user.get_username()}: {ms(median(listing.seconds))},"
                f" {statements_text(listing)} queries",
                times(ratio),
                goals,
            )
        )
        if profiling.available() and any(goal.met is False for goal in goals):
            report.profiles.append(profiling.profile(figure, partial(client.get, url)))
        report.notes.append(
            f"{figure}: slowest query {ms(slowest)} (median over requests): `{short_sql(page.slowest_sql)}`"
        )
