"""The order list's filters by hold: mine, unassigned, held by others; held by one operator."""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.utils.translation import gettext_lazy

from console.formatting import display_name
from operators.selectors import HoldQueue, holders_eligible, orders_in_queue
from orders.results import is_order_id


class AssignmentFilter(admin.SimpleListFilter):
    title = gettext_lazy("assignment")
    parameter_name = "held"

    def lookups(self, request, model_admin):
        return [
            (HoldQueue.MINE, gettext_lazy("Mine")),
            (HoldQueue.OPEN, gettext_lazy("Unassigned open")),
            (HoldQueue.UNASSIGNED, gettext_lazy("Unassigned")),
            (HoldQueue.OTHERS, gettext_lazy("Held by others")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value is not None and value in HoldQueue:
            return orders_in_queue(queryset, HoldQueue(value), user=request.user)
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
