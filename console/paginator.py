"""A paginator that asks PostgreSQL's planner instead of counting millions of rows."""

import json

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models.lookups import Exact
from django.db.models.sql.where import AND
from django.utils.functional import cached_property

# Above this many rows (by the planner's estimate) the list shows "about N" instead of counting exactly.
ESTIMATE_ABOVE = 10_000


def at_most_one_row(queryset) -> bool:
    """Whether the filter pins a unique column to one value (a search for an order number): such a result is
    counted exactly, at the cost of one index look-up, without asking the planner first."""
    where = queryset.query.where
    if where.connector != AND or where.negated:
        return False
    for condition in where.children:
        field = getattr(getattr(condition, "lhs", None), "target", None)
        unique = field is not None and getattr(field, "unique", False) and field.model is queryset.model
        if isinstance(condition, Exact) and unique:
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
    """Counts exactly when the result is small; above ESTIMATE_ABOVE rows uses the planner's estimate and sets
    `approximate`, so the page can say "about". Avoids a COUNT(*) over the whole table on every page view."""

    approximate = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list if hasattr(self.object_list, "query") else None
        if queryset is None or at_most_one_row(queryset):
            return super().count
        estimate = planner_estimate(queryset)
        if estimate is not None and estimate > ESTIMATE_ABOVE:
            self.approximate = True
            return estimate
        return super().count
