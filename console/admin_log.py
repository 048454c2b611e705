"""The holds and the assignment log in the admin, read-only: both change only through the services. People
are named as the console names them, every order number links to its order, and both lists filter by
operator, action or date."""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.utils.translation import gettext_lazy

from console.formatting import display_name, exact_time
from console.order_links import order_link
from operators.models import Assignment, AssignmentLog
from operators.selectors import holders_eligible
from orderops.admin_search import BoundedSearchAdmin
from orders.results import is_order_id


class ReadOnlyAdmin(BoundedSearchAdmin):
    show_full_result_count = False
    # Facet counts would count the whole table once per filter choice.
    show_facets = admin.ShowFacets.NEVER
    search_fields = ["=order__number"]
    search_help_text = gettext_lazy("An order number.")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_bounded_search_results(self, request, queryset, bounded):
        # "#100042" as the console writes a number: one index look-up, as on the order list.
        number = bounded.text.lstrip("#").strip()
        if not number:
            return queryset, False
        return queryset.filter(order__number=number), False

    @admin.display(description=gettext_lazy("order"), ordering="order__number")
    def order_number(self, row) -> str:
        return order_link(row.order_id, row.order.number)


class OperatorFilter(admin.SimpleListFilter):
    """Whose hold: the choices come from the users who may hold orders, never from scanning the rows."""

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
        return queryset.filter(operator_id=int(value))


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["order_number", "operator_name", "assigned_by_name", "assigned", "last_activity"]
    list_display_links = None
    list_select_related = ["order", "operator", "assigned_by"]
    list_filter = [OperatorFilter, ("assigned_at", admin.DateFieldListFilter)]
    ordering = ["-assigned_at", "-id"]

    @admin.display(description=gettext_lazy("operator"), ordering="operator__first_name")
    def operator_name(self, hold: Assignment) -> str:
        return display_name(hold.operator)

    @admin.display(description=gettext_lazy("assigned by"), ordering="assigned_by__first_name")
    def assigned_by_name(self, hold: Assignment) -> str:
        return display_name(hold.assigned_by)

    @admin.display(description=gettext_lazy("assigned at"), ordering="assigned_at")
    def assigned(self, hold: Assignment) -> str:
        return exact_time(hold.assigned_at)

    @admin.display(description=gettext_lazy("last activity"), ordering="last_activity_at")
    def last_activity(self, hold: Assignment) -> str:
        return exact_time(hold.last_activity_at)


@admin.register(AssignmentLog)
class AssignmentLogAdmin(ReadOnlyAdmin):
    list_display = ["when", "order_number", "action", "operator_name", "actor_name", "reason"]
    list_select_related = ["order", "operator", "actor"]
    list_filter = [OperatorFilter, "action", ("at", admin.DateFieldListFilter)]
    ordering = ["-at", "-id"]

    @admin.display(description=gettext_lazy("at"), ordering="at")
    def when(self, entry: AssignmentLog) -> str:
        return exact_time(entry.at)

    @admin.display(description=gettext_lazy("operator"), ordering="operator__first_name")
    def operator_name(self, entry: AssignmentLog) -> str:
        return display_name(entry.operator)

    @admin.display(description=gettext_lazy("by"), ordering="actor__first_name")
    def actor_name(self, entry: AssignmentLog) -> str:
        # No actor: the system did it (an automatic release, an expiry, a command).
        return display_name(entry.actor)
