"""Figure 13: the admin lists with a search that an operator can open besides the order list (figure 7):
Internal comments, the assignment log and the holds, each searched with the worst terms found, against the
same list unfiltered, as the same operator in the same run, interleaved (bench/changelist.py's compare).
Goal: within 2x of the unfiltered list, whatever the term (issue 26, "Bounded work per request")."""

from functools import partial
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.test import Client

from bench import profiling
from bench.changelist import (
    PAGE_RATIO_GOAL,
    SEARCH_SLOWEST_GOAL,
    compare,
    short_sql,
    statements_text,
)
from bench.common import Goal, Report, Result, cost_ratio, judged, median, ms, p95, times
from bench.data import Dataset
from operators.models import Assignment, AssignmentLog
from orders.models import OrderComment

COMMENTS = "/admin/orders/ordercomment/"
LOG = "/admin/operators/assignmentlog/"
HOLDS = "/admin/operators/assignment/"
ONE_LETTER_WORDS = " ".join(["a"] * 1000)


def _searches(dataset: Dataset) -> list[tuple[str, str, str, bool]]:
    """(list, what, term, finds something) for each list: terms from the loaded data, then the worst found."""
    middle = OrderComment.objects.filter(pk__gte=OrderComment.objects.count() // 2).order_by("pk")
    comment = middle.select_related("order").first()
    if comment is None:
        raise RuntimeError("figure 13: the data set has no comments (bench data older than generator 4?)")
    reference = comment.body.split()[-1]  # "BG004812337": in this comment only
    hold = Assignment.objects.select_related("order").order_by("pk")[dataset.spec.holds // 2]
    logged = AssignmentLog.objects.select_related("order").order_by("pk")[dataset.spec.holds // 3]
    return [
        (COMMENTS, "a parcel's reference (one comment)", reference, True),
        (COMMENTS, "an order number", f"#{comment.order.number}", True),
        (COMMENTS, "a word in every comment", "Ref", True),
        (COMMENTS, "a common word", "customer", True),
        (COMMENTS, "a Bulgarian word", "клиента", True),
        # The worst terms found: common words no comment has together, trigrams every comment shares, many
        # words, one letter a thousand times.
        (COMMENTS, "two common words, no match", "customer bank", False),
        (COMMENTS, "eight common words, no match", "customer called asked deliver address bank Ref", False),
        (COMMENTS, "common trigrams, no match", "Ref BG00000000x", False),
        (COMMENTS, "1,000 one-letter words (cut to 8)", ONE_LETTER_WORDS, True),
        (LOG, "an order number", f"#{logged.order.number}", True),
        (LOG, "1,000 words (cut to 8)", "#1 " * 1000, False),
        (HOLDS, "an order number", f"#{hold.order.number}", True),
        (HOLDS, "1,000 words (cut to 8)", "#1 " * 1000, False),
    ]


NAMES = {COMMENTS: "Internal comments", LOG: "assignment log", HOLDS: "holds"}


def measure_admin_lists(report: Report, dataset: Dataset, repeat: int, smoke: bool) -> None:
    """Figure 13: each search of each list against that list unfiltered; goal within 2x of it, and no query
    over the search's slowest-query goal."""
    operator = get_user_model().objects.get(pk=dataset.operator_pks[0])
    client = Client(raise_request_exception=True)
    client.force_login(operator)
    for url, what, term, finds in _searches(dataset):
        shown = term if len(term) <= 40 else term[:20] + " …"
        figure = f"{NAMES[url]} list, search: {what} (?q={shown})"
        page, listing = compare(client, f"{url}?{urlencode({'q': term})}", url, repeat)
        report.check((page.rows > 0) == finds, f"{figure}: the list shows {page.rows} rows")
        ratio = cost_ratio(median(page.seconds), median(listing.seconds))
        slowest = page.slowest_median
        goals = [
            Goal(f"≤ {PAGE_RATIO_GOAL:.0f}x the list", judged(ratio <= PAGE_RATIO_GOAL, smoke), times(ratio)),
            Goal(
                f"no query over {SEARCH_SLOWEST_GOAL * 1000:.0f} ms",
                judged(slowest <= SEARCH_SLOWEST_GOAL, smoke),
                f"slowest {ms(slowest)} (median over requests)",
            ),
        ]
        report.results.append(
            Result(
                "13",
                figure,
                ms(median(page.seconds)),
                ms(p95(page.seconds)),
                statements_text(page),
                f"the {NAMES[url]} list unfiltered: {ms(median(listing.seconds))},"
                f" {statements_text(listing)} queries",
                times(ratio),
                goals,
            )
        )
        if profiling.available() and any(goal.met is False for goal in goals):
            report.profiles.append(profiling.profile(figure, partial(client.get, page.url)))
        report.notes.append(
            f"{figure}: slowest query {ms(slowest)} (median over requests): `{short_sql(page.slowest_sql)}`;"
            f" unfiltered: {ms(listing.slowest_median)} `{short_sql(listing.slowest_sql)}`"
        )
