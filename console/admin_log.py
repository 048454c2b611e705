"""The holds, the assignment log and the internal comments in the admin, read-only: they change only through
the services (and the order page). They speak as the rest of the console does: a title rather than the
admin's "Select … to view", people named as the console names them, exact times in the viewer's zone, every
order number a link to its order, action names capitalised, and filters titled in words ("By date")."""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import SEARCH_VAR
from django.db import connections
from django.db.models import F, Func, Q
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy

from console.formatting import display_name, exact_time
from console.order_links import order_link
from console.paginator import (
    EstimatingPaginator,
    KnownPageChangeList,
    NewestFirstSearchPaginator,
    page_number_of,
)
from operators.models import Assignment, AssignmentLog
from operators.selectors import holders_eligible
from orderops.admin_search import BoundedSearchAdmin
from orders.models import Order, OrderComment
from orders.results import is_order_id
from orders.sqlite import CASEFOLD


class ConsoleListTitle(admin.ModelAdmin):
    """The list's title as the console writes it ("Assignment log"), not the admin's "Select … to view"."""

    def changelist_view(self, request, extra_context=None):
        title = capfirst(self.model._meta.verbose_name_plural)
        return super().changelist_view(request, {"title": title, **(extra_context or {})})


def date_filter(title):
    """Django's date filter, titled in words: "By date" rather than the column's name ("By at")."""

    class DateFilter(admin.DateFieldListFilter):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.title = title  # Django titles it with the field's verbose name

    return DateFilter


class ActionFilter(admin.SimpleListFilter):
    """The log's actions as the console writes them: "Taken over", not "taken over"."""

    title = gettext_lazy("action")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return [(value, capfirst(label)) for value, label in AssignmentLog.Action.choices]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if value not in AssignmentLog.Action.values:
            raise IncorrectLookupParameters(value)
        return queryset.filter(action=value)


class ReadOnlyAdmin(ConsoleListTitle, BoundedSearchAdmin):
    show_full_result_count = False
    # The count is the planner's estimate when it is large (the pagination says "about"): the log only grows.
    paginator = EstimatingPaginator
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
    list_filter = [OperatorFilter, ("assigned_at", date_filter(gettext_lazy("date taken")))]
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
    list_display = ["when", "order_number", "action_name", "operator_name", "actor_name", "reason"]
    list_select_related = ["order", "operator", "actor"]
    list_filter = [OperatorFilter, ActionFilter, ("at", date_filter(gettext_lazy("date")))]
    # Newest first by the primary key: log rows are only ever appended, each at its moment, so their ids grow
    # with `at`, and the page reads a hundred index entries instead of sorting the whole log (which grows
    # without end). Only that column sorts, for the same reason.
    ordering = ["-id"]
    sortable_by = ["when"]

    @admin.display(description=gettext_lazy("when"), ordering="id")
    def when(self, entry: AssignmentLog) -> str:
        return exact_time(entry.at)

    @admin.display(description=gettext_lazy("action"), ordering="action")
    def action_name(self, entry: AssignmentLog) -> str:
        return capfirst(entry.get_action_display())

    @admin.display(description=gettext_lazy("operator"), ordering="operator__first_name")
    def operator_name(self, entry: AssignmentLog) -> str:
        return display_name(entry.operator)

    @admin.display(description=gettext_lazy("by"), ordering="actor__first_name")
    def actor_name(self, entry: AssignmentLog) -> str:
        # No actor: the system did it (an automatic release, an expiry, a command).
        return display_name(entry.actor)


def search_words(words: tuple[str, ...]) -> list[str]:
    """The words a search adds a condition for: each once whatever its case, and none inside another (it
    would find nothing the longer word does not)."""
    unique = list({word.casefold(): word for word in words}.values())
    return [
        word
        for word in unique
        if not any(word.casefold() in other.casefold() and word != other for other in unique)
    ]


@admin.register(OrderComment)
class OrderCommentAdmin(ConsoleListTitle, BoundedSearchAdmin):
    """The internal comments of every order, newest first; each is added on its order's page and never
    changed (a superuser may delete one). A long unbroken comment wraps in its cell (console.css).

    Its search reads indexes only (console migration 0002): a word is in the comment (the trigram index over
    the comment, PostgreSQL) or is its order's number (the numbers are looked up first, so that the condition
    is a list of order ids the comments' own index finds, not a join that no index could serve beside the
    trigram one). The newest first by comment_created_idx, and the count is the planner's estimate when it is
    large (the pagination says "about")."""

    list_display = ["when", "order_number", "author_name", "body"]
    list_display_links = None
    list_select_related = ["order", "author"]
    search_fields = ["=order__number", "body"]
    raw_id_fields = ["order"]
    readonly_fields = ["author", "created_at"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatingPaginator

    def get_changelist(self, request, **kwargs):
        return KnownPageChangeList

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        if request.GET.get(SEARCH_VAR, "").strip():
            return NewestFirstSearchPaginator(
                queryset,
                per_page,
                orphans,
                allow_empty_first_page,
                page_number=page_number_of(request),
                ordering=("created_at", "id"),
            )
        return super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)

    def get_bounded_search_results(self, request, queryset, bounded):
        words = search_words(bounded.words)
        if not words:
            return queryset, False
        numbers = {word.lstrip("#") for word in words} - {""}
        order_ids: dict[str, list[int]] = {}
        for number, order_id in Order.objects.filter(number__in=numbers).values_list("number", "pk"):
            order_ids.setdefault(number, []).append(order_id)
        sqlite = connections[queryset.db].vendor == "sqlite"
        if (
            sqlite
        ):  # SQLite's LIKE folds ASCII letters only: compare both sides case-folded (orders/sqlite.py)
            queryset = queryset.annotate(body_folded=Func(F("body"), function=CASEFOLD))
        for word in words:
            condition = Q(body_folded__contains=word.casefold()) if sqlite else Q(body__icontains=word)
            if ids := order_ids.get(word.lstrip("#")):
                condition |= Q(order_id__in=ids)
            queryset = queryset.filter(condition)
        return queryset, False

    def has_add_permission(self, request) -> bool:
        return False  # comments are added on the order's page, where the box is

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a comment, once written, stays as it was written

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    @admin.display(description=gettext_lazy("when"), ordering="created_at")
    def when(self, comment: OrderComment) -> str:
        return exact_time(comment.created_at)

    @admin.display(description=gettext_lazy("order"), ordering="order__number")
    def order_number(self, comment: OrderComment) -> str:
        return order_link(comment.order_id, comment.order.number)

    @admin.display(description=gettext_lazy("author"), ordering="author__first_name")
    def author_name(self, comment: OrderComment) -> str:
        return display_name(comment.author)
