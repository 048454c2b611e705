"""A paginator that asks PostgreSQL's planner instead of counting millions of rows."""

import json
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Count, QuerySet, Window
from django.db.models.lookups import Exact, In
from django.db.models.sql.where import AND
from django.utils.functional import cached_property

# Above this many rows (by the planner's estimate) the list shows "about N" instead of counting exactly.
ESTIMATE_ABOVE = 10_000
# The same for a text search: its rows are scattered over the table, so counting them exactly reads a heap
# block per row, where the unfiltered list's count reads an index.
SEARCH_ESTIMATE_ABOVE = 1_000


# Columns unique within a few rows: an order's number is unique per connected store (and among the orders from
# no store), so one number finds one row per store at most.
UNIQUE_PER_STORE = frozenset({("orders", "order", "number")})


def at_most_one_row(queryset) -> bool:
    """Whether the filter pins a unique column to one value or a few (a search for an order number, in any
    case; a number is unique per store, so at most one row per store): such a result is counted exactly, at
    the cost of a few index look-ups, without asking the planner first."""
    where = queryset.query.where
    if where.connector != AND or where.negated:
        return False
    for condition in where.children:
        field = getattr(getattr(condition, "lhs", None), "target", None)
        unique = (
            field is not None
            and field.model is queryset.model
            and (
                getattr(field, "unique", False)
                or (field.model._meta.app_label, field.model._meta.model_name, field.name) in UNIQUE_PER_STORE
            )
        )
        if unique and (
            isinstance(condition, Exact) or (isinstance(condition, In) and len(condition.rhs) <= 3)
        ):
            return True
    return False


def planner_estimate(queryset) -> int | None:
    """PostgreSQL's estimate of how many rows `queryset` returns, or None where there is none."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        if not queryset.query.where:
            # The whole table: the statistics' row count, free to read (-1 before the first ANALYZE).
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [queryset.model._meta.db_table],
            )
            row = cursor.fetchone()
            return row[0] if row and row[0] >= 0 else None
        try:
            sql, params = queryset.order_by().values("pk").query.sql_with_params()
        except EmptyResultSet:  # a condition nothing can meet (an id beyond the column's range)
            return 0
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatingPaginator(Paginator):
    """Counts exactly when the result is small; above `estimate_above` rows uses the planner's estimate and
    sets `approximate`, so the page can say "about". Avoids a COUNT(*) over the whole table on every page
    view."""

    approximate = False
    estimate_above = ESTIMATE_ABOVE

    @cached_property
    def count(self) -> int:
        queryset = self.object_list if hasattr(self.object_list, "query") else None
        if queryset is None or at_most_one_row(queryset):
            return super().count
        estimate = planner_estimate(queryset)
        if estimate is not None and estimate > self.estimate_above:
            self.approximate = True
            return estimate
        return self.exact_count()

    def exact_count(self) -> int:
        """COUNT(*) of the rows, when the planner expects few."""
        return super().count


class SearchEstimatingPaginator(EstimatingPaginator):
    """The paginator of a text search: "about N" from SEARCH_ESTIMATE_ABOVE rows on, and a page cut before
    the list's joins.

    A search's rows come from the trigram index in no useful order, so PostgreSQL reads every match to sort
    them, and it would join each match to its status, hold and holder before sorting: that cost grew with the
    matches, not the page. The page's ids are sorted and cut from the search alone, and only they are
    joined. When the result is counted exactly, the page named by `page_number` (the one the list will show)
    is read in the same statement as the count (COUNT(*) OVER ()), so the matches are read once, not twice.
    """

    estimate_above = SEARCH_ESTIMATE_ABOVE

    def __init__(self, *args, page_number: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.page_number = page_number
        self._counted_page: tuple[int, list[int]] | None = None  # (number, its ids, newest first)

    def exact_count(self) -> int:
        matches = self.object_list
        if self.page_number is None or not isinstance(matches, QuerySet) or self.page_number < 1:
            return super().exact_count()
        bottom = (self.page_number - 1) * self.per_page
        rows = list(
            matches.annotate(matches_count=Window(Count("*"))).values_list("pk", "matches_count")[
                bottom : bottom + self.per_page + self.orphans
            ]
        )
        if not rows:  # page 1 empty: no match; a page past the last: the count alone says how many
            return 0 if bottom == 0 else super().exact_count()
        self._counted_page = (self.page_number, [pk for pk, _count in rows])
        return rows[0][1]

    def page(self, number):
        page = super().page(number)
        matches = self.object_list
        if isinstance(matches, QuerySet) and isinstance(page.object_list, QuerySet):
            cut = page.object_list.query
            ids: Any
            if self._counted_page is not None and self._counted_page[0] == page.number:
                ids = self._counted_page[1][: (cut.high_mark or 0) - cut.low_mark]
            else:
                ids = matches.values("pk")[cut.low_mark : cut.high_mark]
            page.object_list = matches.filter(pk__in=ids)
        return page
