"""The operator console's order screens, on Django's admin. Every change goes through the services."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import ActionLocation
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import Exists, IntegerField, OuterRef, Value
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from operators import admin_views, rules
from operators.admin_views import holders_choices
from operators.models import Assignment
from operators.selectors import order_timeline
from orders.changelist import html_format
from orders.guard import orders_change_refusals
from orders.models import Order, OrderComment, OrderLine, OrderStatus
from orders.paginator import EstimatingPaginator
from orders.results import OrderOutcome, is_order_id, user_display_name
from orders.selectors import orders_locked
from orders.services import order_update


def short_age(moment) -> str:
    """How long ago, in one short unit: "5 min", "3 h", "2 d"."""
    seconds = max(int((timezone.now() - moment).total_seconds()), 0)
    if seconds < 3600:
        return _("%(count)s min") % {"count": max(seconds // 60, 1)}
    if seconds < 86400:
        return _("%(count)s h") % {"count": seconds // 3600}
    return _("%(count)s d") % {"count": seconds // 86400}


def held_for(moment) -> str:
    """ "2 hours ago"; "just now" for the first minute (naturaltime would say "now")."""
    if (timezone.now() - moment).total_seconds() < 60:
        return _("just now")
    return naturaltime(moment)


def exact_time(moment) -> str:
    """To the minute in the current time zone, "2026-11-26 16:13 UTC": unambiguous in any language. The
    list writes two per row; `date_format` cost 6 % of the page (a format string interpreted per call)."""
    local = timezone.localtime(moment)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


class AssignmentFilter(admin.SimpleListFilter):
    title = gettext_lazy("assignment")
    parameter_name = "held"

    def lookups(self, request, model_admin):
        return [
            ("mine", gettext_lazy("Mine")),
            ("unassigned", gettext_lazy("Unassigned")),
            ("others", gettext_lazy("Held by others")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "mine":
            return queryset.filter(assignment__operator=request.user)
        if self.value() == "unassigned":
            # NOT EXISTS, which PostgreSQL plans as an anti-join with a true row estimate (page 1 probes a few
            # hundred orders newest first). `assignment__isnull=True` is a LEFT JOIN … IS NULL on the holds'
            # primary key, which the planner neither turns into an anti-join nor estimates above one row:
            # at 1M orders it hashed every hold and then counted exactly, 2.4 s a page.
            return queryset.filter(~Exists(Assignment.objects.filter(order=OuterRef("pk"))))
        if self.value() == "others":
            return queryset.filter(assignment__isnull=False).exclude(assignment__operator=request.user)
        return queryset


class OperatorFilter(admin.SimpleListFilter):
    """Held by one operator. Its choices come from the users table, never from scanning orders."""

    title = gettext_lazy("operator")
    parameter_name = "operator"

    def lookups(self, request, model_admin):
        return [(str(user.pk), user_display_name(user)) for user in holders_choices()]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(assignment__operator_id=int(value))
        return queryset


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ["sku", "name", "qty", "unit_price"]

    # The lines are part of the order: the same guard decides (obj is the order).
    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._order_editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._order_editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._order_editable(request, obj)

    def _order_editable(self, request, order) -> bool:
        return order is None or self.admin_site._registry[Order].edit_refusal(request, order) is None


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["order_number", "created", "customer", "total", "status_badge", "assigned_to"]
    list_display_links = ["order_number"]
    list_filter = [AssignmentFilter, OperatorFilter, "status", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["status", "assignment__operator"]
    list_per_page = 100
    search_fields = ["=number", "customer_name", "customer_email"]
    search_help_text = gettext_lazy("An order number, a customer's name, or an email address.")
    show_full_result_count = False
    # Facet counts would count every order once per filter choice on each page view.
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatingPaginator
    ordering = ["-created_at", "-id"]
    inlines = [OrderLineInline]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["assign_to_me", "release", "assign_to_operator", "take_over", "set_status"]
    change_list_template = "admin/orders/order/change_list.html"
    change_form_template = "admin/orders/order/change_form.html"
    fieldsets = [
        (None, {"fields": ["number", "status", ("created_at", "updated_at")]}),
        (gettext_lazy("Customer"), {"fields": ["customer_name", "customer_email", "customer_phone"]}),
        (gettext_lazy("Total"), {"fields": [("grand_total", "currency")]}),
        (
            gettext_lazy("Shipping address"),
            {
                "fields": [
                    "shipping_name",
                    "shipping_street",
                    ("shipping_postcode", "shipping_city"),
                    "shipping_country",
                ]
            },
        ),
    ]

    class Media:
        css = {"all": ["orderops/console.css"]}

    # --- the list ------------------------------------------------------------------------------------

    def get_queryset(self, request):
        # The viewer's id rides along as a constant column, so "you" costs no query per row.
        return (
            super()
            .get_queryset(request)
            .annotate(viewer_id=Value(request.user.pk, output_field=IntegerField()))
        )

    def get_ordering(self, request):
        # Orders held by one operator, newest first, through the holds' copy of created_at: one range of
        # assignment_operator_order_idx instead of sorting all of that operator's holds (50 ms a page for
        # 25,000 holds at 1M orders). The same order as the orders' own column: a trigger keeps them equal.
        if request.GET.get("held") == "mine" or request.GET.get("operator", "").isdigit():
            return ["-assignment__order_created_at", "-id"]
        return super().get_ordering(request)

    def get_search_results(self, request, queryset, search_term):
        """An order number searches the number alone (one index look-up); an address searches emails;
        anything else searches names. A full scan of every column for "100042" would read every order."""
        term = search_term.strip().lstrip("#").strip()
        if not term:
            return queryset, False
        if term.isdigit():
            return queryset.filter(number=term), False
        if "@" in term:
            return queryset.filter(customer_email__icontains=term), False
        return queryset.filter(customer_name__icontains=term), False

    def action_checkbox(self, obj):
        # The same markup as Django's, without rendering a CheckboxInput through the form template engine
        # once per row: that was a fifth of the list page's time.
        return html_format(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            _("Select this object for an action - {}").format(obj),
        )

    @admin.display(description=gettext_lazy("number"), ordering="number")
    def order_number(self, order: Order) -> str:
        return f"#{order.number}"

    @admin.display(description=gettext_lazy("created"), ordering="created_at")
    def created(self, order: Order) -> str:
        return html_format(
            '<time datetime="{}" title="{}">{}</time>',
            order.created_at.isoformat(),
            exact_time(order.created_at),
            _("%(age)s ago") % {"age": short_age(order.created_at)},
        )

    @admin.display(description=gettext_lazy("customer"), ordering="customer_name")
    def customer(self, order: Order) -> str:
        return html_format('{}<br><span class="quiet">{}</span>', order.customer_name, order.customer_email)

    @admin.display(description=gettext_lazy("total"), ordering="grand_total")
    def total(self, order: Order) -> str:
        return f"{formats.number_format(order.grand_total, 2, use_l10n=True)} {order.currency}"

    @admin.display(description=gettext_lazy("status"), ordering="status__position")
    def status_badge(self, order: Order) -> str:
        final = " status-final" if order.status.releases_assignment else ""
        return html_format(
            '<span class="status-badge status-{}{}">{}</span>', order.status_id, final, order.status.label
        )

    @admin.display(description=gettext_lazy("assigned to"))
    def assigned_to(self, order: Order) -> str:
        try:
            hold = order.assignment
        except ObjectDoesNotExist:
            return ""
        mine = hold.operator_id == getattr(order, "viewer_id", None)
        name = _("you") if mine else user_display_name(hold.operator)
        return html_format(
            '<span class="holder{}" title="{}">{}</span> <span class="quiet">· {}</span>',
            " holder-you" if mine else "",
            _("since %(time)s") % {"time": exact_time(hold.assigned_at)},
            name,
            short_age(hold.assigned_at),
        )

    # --- actions: offered only to those who may run them ------------------------------------------------

    def has_hold_permission(self, request) -> bool:
        return rules.actor_refusal(request.user) is None

    def has_assign_others_permission(self, request) -> bool:
        return rules.may_assign_others(request.user)

    def has_override_permission(self, request) -> bool:
        return rules.may_override(request.user)

    @admin.action(description=gettext_lazy("Assign to me"), permissions=["hold"])
    def assign_to_me(self, request, queryset):
        return admin_views.assign_to_me(self, request, queryset)

    @admin.action(description=gettext_lazy("Release"), permissions=["hold"])
    def release(self, request, queryset):
        return admin_views.release(self, request, queryset)

    @admin.action(description=gettext_lazy("Assign to an operator…"), permissions=["assign_others"])
    def assign_to_operator(self, request, queryset):
        return admin_views.assign_to_operator(self, request, queryset)

    @admin.action(description=gettext_lazy("Take over…"), permissions=["override"])
    def take_over(self, request, queryset):
        return admin_views.take_over(self, request, queryset)

    @admin.action(description=gettext_lazy("Set status…"), permissions=["hold"])
    def set_status(self, request, queryset):
        return admin_views.set_status(self, request, queryset)

    def response_action(self, request, queryset, **kwargs):
        # Django filters the list by the posted ids before any action runs; a value that is no id would
        # fail there with a server error. Refuse it with a message instead, changing nothing.
        if request.POST.get("select_across") != "1":
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                if not is_order_id(value):
                    self.message_user(
                        request,
                        _("%(value)r is not an order id. Nothing was changed.") % {"value": value},
                        messages.ERROR,
                    )
                    return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset, **kwargs)

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        if not request.user.is_superuser:
            actions.pop("delete_selected", None)
        return actions

    # --- extra URLs: POST-only buttons and the workload page ----------------------------------------------

    def get_urls(self):
        def wrap(view, *, post_only: bool):
            def call(request, *args, **kwargs):
                if post_only and request.method != "POST":
                    return HttpResponseNotAllowed(["POST"])
                return view(self, request, *args, **kwargs)

            return self.admin_site.admin_view(call)

        custom = [
            path(
                "claim-next/",
                wrap(admin_views.claim_next_view, post_only=True),
                name="orders_order_claim_next",
            ),
            path("workload/", wrap(admin_views.workload_view, post_only=False), name="orders_order_workload"),
            path(
                "<path:object_id>/assign/",
                wrap(admin_views.order_assign_view, post_only=True),
                name="orders_order_assign",
            ),
            path(
                "<path:object_id>/release/",
                wrap(admin_views.order_release_view, post_only=True),
                name="orders_order_release",
            ),
            path(
                "<path:object_id>/take-over/",
                wrap(admin_views.order_take_over_view, post_only=True),
                name="orders_order_take_over",
            ),
            path(
                "<path:object_id>/comment/",
                wrap(admin_views.order_comment_view, post_only=True),
                name="orders_order_comment",
            ),
        ]
        # Before the ModelAdmin's own: its catch-all "<path:object_id>/" would swallow these.
        return custom + super().get_urls()

    # --- the lock: only the holder (or a supervisor) changes an order ------------------------------------

    def edit_refusal(self, request, order: Order, *, fresh: bool = False) -> OrderOutcome | None:
        """Why request.user may not change `order` (None: they may). Asked once per request and order."""
        cache = request.__dict__.setdefault("_orderops_edit_refusals", {})
        if fresh or order.pk not in cache:
            refusals = orders_change_refusals(user=request.user, orders=[(order.pk, order.number)])
            cache[order.pk] = refusals.get(order.pk)
        return cache[order.pk]

    def has_change_permission(self, request, obj=None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or self.edit_refusal(request, obj) is None

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method != "POST" or object_id is None or not is_order_id(object_id):
            return super().changeform_view(request, object_id, form_url, extra_context)
        # A POST decides under the order's row lock and saves in the same transaction, so a form loaded
        # before someone else took the order cannot land.
        with transaction.atomic():
            locked = orders_locked([int(object_id)])
            if int(object_id) in locked:
                number = locked[int(object_id)][0]
                order = Order(pk=int(object_id), number=number)
                refusal = self.edit_refusal(request, order, fresh=True)
                if refusal is not None and super().has_change_permission(request, order):
                    self.message_user(
                        request,
                        _("Your changes to #%(number)s were not saved: %(why)s.")
                        % {"number": number, "why": refusal.detail or refusal.message},
                        messages.ERROR,
                    )
                    return HttpResponseRedirect(reverse("admin:orders_order_change", args=[object_id]))
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        order_update(
            actor=request.user,
            order=obj,
            save=lambda: super(OrderAdmin, self).save_model(request, obj, form, change),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = dict(extra_context or {})
        if object_id and is_order_id(object_id):
            order = Order.objects.select_related("status").filter(pk=int(object_id)).first()
            if order is not None and self.has_view_permission(request, order):
                context.update(self._order_page_context(request, order))
        return super().change_view(request, object_id, form_url, context)

    def _order_page_context(self, request, order: Order) -> dict:
        user = request.user
        hold = Assignment.objects.filter(order=order).select_related("operator", "assigned_by").first()
        refusal = self.edit_refusal(request, order)
        may_hold = rules.actor_refusal(user) is None
        context = {
            "hold": hold,
            "hold_is_mine": hold is not None and hold.operator_id == user.pk,
            "hold_holder_name": (
                _("you") if hold.operator_id == user.pk else user_display_name(hold.operator)
            )
            if hold
            else "",
            "hold_assigner_name": "",
            "hold_age": held_for(hold.assigned_at) if hold else "",
            "hold_since": exact_time(hold.assigned_at) if hold else "",
            "order_is_final": order.status.releases_assignment,
            "can_assign": hold is None and may_hold and not order.status.releases_assignment,
            "can_release": hold is not None
            and rules.may_release(user, holder_id=hold.operator_id, assigned_by_id=hold.assigned_by_id),
            "can_take_over": hold is not None and hold.operator_id != user.pk and rules.may_override(user),
            "read_only_reason": "",
            "timeline": order_timeline(order.pk),
        }
        draft = request.session.pop(admin_views.comment_draft_key(order.pk), None) or {}
        context["comment_draft"] = draft.get("body", "")
        context["comment_error"] = draft.get("error", "")
        if hold is not None and hold.assigned_by_id != hold.operator_id:
            context["hold_assigner_name"] = (
                _("you") if hold.assigned_by_id == user.pk else user_display_name(hold.assigned_by)
            )
        if refusal is not None and super().has_change_permission(request, order):
            if hold is None and order.status.releases_assignment:
                context["read_only_reason"] = _(
                    "Orders in a final status cannot be held, so only a supervisor can change this one."
                )
            elif hold is not None:
                context["read_only_reason"] = _(
                    "Only %(holder)s or a supervisor can change this order. You can still comment on it."
                ) % {"holder": user_display_name(hold.operator)}
            else:
                context["read_only_reason"] = _(
                    "Nobody holds this order. Assign it to yourself to change it."
                )
        elif not super().has_change_permission(request, order):
            context["read_only_reason"] = _("You can view this order and comment on it, but not change it.")
        return context


@admin.register(OrderStatus)
class OrderStatusAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "position", "releases_assignment"]
    list_editable = ["label", "position", "releases_assignment"]
    ordering = ["position", "code"]


@admin.register(OrderComment)
class OrderCommentAdmin(admin.ModelAdmin):
    list_display = ["order", "author", "created_at", "body"]
    list_select_related = ["order", "author"]
    search_fields = ["=order__number", "body"]
    raw_id_fields = ["order"]
    readonly_fields = ["author", "created_at"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False  # comments are added on the order's page, where the box is

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a comment, once written, stays as it was written

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser
