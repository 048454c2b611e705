"""A paginator that asks PostgreSQL's planner instead of counting millions of rows."""

import json
from typing import Any

from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Count, F, QuerySet, Window
from django.db.models.functions import Coalesce
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
        # An In over a subquery (the search's ids by number or phone) may find any number of rows.
        if unique and (
            isinstance(condition, Exact)
            or (
                isinstance(condition, In)
                and isinstance(condition.rhs, list | tuple | set)
                and len(condition.rhs) <= 3
            )
        ):
            return True
    return False


def page_number_of(request) -> int:
    """The page a list shows, as its ChangeList reads it (the first when the address names none)."""
    page = request.GET.get(PAGE_VAR, "1")
    return int(page) if page.isascii() and page.isdigit() else 1


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

    A search of all orders, newest first, passes `search_rows` (orders.selectors.orders_search_rows: the
    matches' search rows, which carry their order's created_at): the estimate, the count and the page's ids
    are read from them alone, so the sort joins no order at all; only the page's orders are read.
    """

    estimate_above = SEARCH_ESTIMATE_ABOVE
    # The list's own order that the search rows' (order_created_at, order_id) reproduce.
    search_rows_ordering = ("-created_at", "-id")

    def __init__(
        self, *args, page_number: int | None = None, search_rows: QuerySet | None = None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.page_number = page_number
        self._counted_page: tuple[int, list[int]] | None = None  # (number, its ids, newest first)
        matches = self.object_list
        self.search_rows = (
            search_rows
            if isinstance(matches, QuerySet)
            and tuple(dict.fromkeys(matches.query.order_by)) == self.search_rows_ordering
            else None
        )

    def _ids(self) -> tuple[QuerySet, str]:
        """The rows that the count and the page's ids are read from, and their column of the order's id."""
        if self.search_rows is not None:
            return self.search_rows, "order_id"
        assert isinstance(self.object_list, QuerySet)
        return self.object_list, "pk"

    @cached_property
    def count(self) -> int:
        if self.search_rows is None:
            return super().count
        estimate = planner_estimate(self.search_rows)
        if estimate is not None and estimate > self.estimate_above:
            self.approximate = True
            return estimate
        return self.exact_count()

    def exact_count(self) -> int:
        if not isinstance(self.object_list, QuerySet):
            return super().exact_count()
        rows, key = self._ids()
        if self.page_number is None or self.page_number < 1:
            return rows.count()
        bottom = (self.page_number - 1) * self.per_page
        found = list(
            rows.annotate(matches_count=Window(Count("*"))).values_list(key, "matches_count")[
                bottom : bottom + self.per_page + self.orphans
            ]
        )
        if not found:  # page 1 empty: no match; a page past the last: the count alone says how many
            return 0 if bottom == 0 else rows.count()
        self._counted_page = (self.page_number, [pk for pk, _count in found])
        return found[0][1]

    def page(self, number):
        page = super().page(number)
        matches = self.object_list
        if isinstance(matches, QuerySet) and isinstance(page.object_list, QuerySet):
            cut = page.object_list.query
            ids: Any
            if self._counted_page is not None and self._counted_page[0] == page.number:
                ids = self._counted_page[1][: (cut.high_mark or 0) - cut.low_mark]
            else:
                rows, key = self._ids()
                ids = rows.values(key)[cut.low_mark : cut.high_mark]
            page.object_list = matches.filter(pk__in=ids)
        return page


class NewestFirstSearchPaginator(Paginator):
    """The paginator of a text search over a list kept newest first by an index (`ordering`, e.g. the
    Internal comments by comment_created_idx), whatever the words' frequencies.

    PostgreSQL plans such a page either by walking the index from the newest row until a page of matches is
    found (fast when matches are common, a walk over the whole table when two common words never meet: it
    expects the words to be independent) or by the trigram index's matches, sorted (fast when they are few,
    a read of most of the table when common). It cannot know which, so the page asks: first the newest
    `recent_rows` rows only (a bounded walk); a full page there is the page, as every older match sorts after
    it, and the count is the planner's estimate ("about"). Otherwise the matches are few among the newest
    rows, and the page is read from the trigram index's matches, sorted, with their exact count in the same
    statement. A list sorted by another column is paginated as a plain search."""

    approximate = False
    recent_rows = 5_000  # the bounded walk: 2-7 ms over the comments at 1,000,000 orders (bench figure 13)

    def __init__(self, *args, page_number: int, ordering: tuple[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.page_number = max(page_number, 1)
        self.ordering = ordering
        self.known_page: tuple[int, list[int]] | None = None

    def _newest_first(self) -> bool:
        matches = self.object_list
        # The admin's ChangeList may name its ordering twice (the ModelAdmin's, then its deterministic one).
        return isinstance(matches, QuerySet) and tuple(dict.fromkeys(matches.query.order_by)) == tuple(
            f"-{field}" for field in self.ordering
        )

    @cached_property
    def count(self) -> int:
        if not self._newest_first():
            return super().count
        matches = self.object_list
        assert isinstance(matches, QuerySet)  # _newest_first said so
        time_field = self.ordering[0]
        bottom = (self.page_number - 1) * self.per_page
        wanted = bottom + self.per_page
        window = max(self.recent_rows, wanted)
        everything = matches.model._default_manager.order_by(*(f"-{field}" for field in self.ordering))
        oldest_recent = everything.values_list(time_field, flat=True)[window - 1 : window].first()
        if oldest_recent is None:  # a short table: count it
            return super().count
        recent = matches.filter(**{f"{time_field}__gte": oldest_recent})
        ids = list(recent.values_list("pk", flat=True)[bottom:wanted])
        if len(ids) == self.per_page:
            self.known_page = (self.page_number, ids)
            self.approximate = True
            return max(planner_estimate(matches) or 0, wanted)
        # Few matches among the newest rows: sort the trigram index's matches (an ordering no index serves,
        # so the planner reads the matches, not the table) and count them in the same statement.
        unindexed = matches.order_by(
            Coalesce(F(time_field), F(time_field)).desc(), *(f"-{field}" for field in self.ordering[1:])
        )
        rows = list(
            unindexed.annotate(matches_count=Window(Count("*"))).values_list("pk", "matches_count")[
                bottom:wanted
            ]
        )
        if not rows and bottom:  # a page past the last: the count alone says how many
            return super().count
        self.known_page = (self.page_number, [pk for pk, _count in rows])  # none: no statement for the page
        return rows[0][1] if rows else 0

    def page(self, number):
        page = super().page(number)
        if (
            self.known_page is not None
            and self.known_page[0] == page.number
            and isinstance(self.object_list, QuerySet)
        ):
            page.object_list = self.object_list.filter(pk__in=self.known_page[1])
        return page


class KnownPageChangeList(ChangeList):
    """A ChangeList that shows the page its paginator already found (`known_page`: its number and ids), also
    when every match fits one page, where Django's own would read the whole unpaginated search again."""

    def get_results(self, request) -> None:
        super().get_results(request)
        known = getattr(self.paginator, "known_page", None)
        if known is not None and known[0] == self.page_num and not self.show_all:
            self.result_list = self.queryset.filter(pk__in=known[1])
