"""The order list's filters by hold: mine, unassigned, held by others; held by one operator."""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy

from console.formatting import display_name
from operators.models import Assignment
from operators.selectors import holders_eligible
from orders.results import is_order_id


def unassigned(queryset):
    """The orders nobody holds, as NOT EXISTS (see AssignmentFilter.queryset for why)."""
    return queryset.filter(~Exists(Assignment.objects.filter(order=OuterRef("pk"))))


class AssignmentFilter(admin.SimpleListFilter):
    title = gettext_lazy("assignment")
    parameter_name = "held"

    def lookups(self, request, model_admin):
        return [
            ("mine", gettext_lazy("Mine")),
            ("open", gettext_lazy("Unassigned open")),
            ("unassigned", gettext_lazy("Unassigned")),
            ("others", gettext_lazy("Held by others")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "mine":
            return queryset.filter(assignment__operator=request.user)
        if self.value() == "open":
            # What is left to take: nobody holds it and its status is not a final one.
            return unassigned(queryset).filter(status__releases_assignment=False)
        if self.value() == "unassigned":
            # NOT EXISTS, which PostgreSQL plans as an anti-join with a true row estimate (page 1 probes a few
            # hundred orders newest first). `assignment__isnull=True` is a LEFT JOIN … IS NULL on the holds'
            # primary key, which the planner neither turns into an anti-join nor estimates above one row: on a
            # large table it hashes every hold and then counts exactly (bench/RESULTS.md).
            return unassigned(queryset)
        if self.value() == "others":
            return queryset.filter(assignment__isnull=False).exclude(assignment__operator=request.user)
        return queryset


class OperatorFilter(admin.SimpleListFilter):
    """Held by one operator. Its choices come from the users table, never from scanning orders."""

    title = gettext_lazy("operator")
    parameter_name = "operator"

    def lookups(self, request, model_admin):
        return [(str(user.pk), display_name(user)) for user in holders_eligible()]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not is_order_id(value):  # an id that fits the column; anything else is a 400 naming the filter
            raise IncorrectLookupParameters(value)
        return queryset.filter(assignment__operator_id=int(value))
