"""The operator console's order screens on Django's admin: the order list and page, and the statuses.

Every change goes through the services. The list's actions are console/actions.py, its filters
console/filters.py; the order page's buttons and the extra pages are console/views.py, wired in here.
"""

from dataclasses import replace
from functools import update_wrapper

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import ActionLocation
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR, SEARCH_VAR
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import IntegerField, Value
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from console import admin_auth, admin_log, views  # noqa: F401 (they register the users', the holds' and the log's pages)
from console.actions import assign_to_me, assign_to_operator, release, set_status, take_over
from console.changelist import html_format
from console.filters import AssignmentFilter, OperatorFilter
from console.flow import VIA, VIA_NEXT, flow_read, next_order_offer
from console.formatting import display_name, exact_time, money, short_age, short_ago
from console.forms import OrderForm
from console.order_links import order_by_number
from console.order_page import OrderPage, lines_change, order_page_context, order_page_read, stale_sentence
from console.paginator import EstimatingPaginator, SearchEstimatingPaginator, page_number_of
from console.queues import queue_title
from console.timeline import order_timeline
from console.update import draft_keep, draft_take, order_page_submit
from operators import rules
from orderops.admin_search import BoundedSearchAdmin
from orderops.search import search_term_bound
from orders.models import Order, OrderLine, OrderStatus
from orders.results import OrderLocked, RequestRefused, is_order_id
from orders.selectors import orders_search, orders_search_rows
from orders.services import EDITABLE, STORE_OWNED, OrderStale
from stores.labels import fulfillment_status_label, payment_status_label
from stores.selectors import orders_from_several_stores, orders_from_stores

STORE_READONLY = [
    "store_link",
    "payment_status_shown",
    "fulfillment_status_shown",
    "shipping_method",
    "shipping_total",
    "tax_total",
    "discount_total",
    "customer_note",
]

# A padlock, drawn inline: no icon font, no request, the text colour of the cell.
LOCK_ICON = SafeString(
    '<svg class="lock-icon" aria-hidden="true" viewBox="0 0 16 16" width="12" height="12">'
    '<path fill="currentColor" d="M4 7V5a4 4 0 1 1 8 0v2h1v8H3V7h1zm2 0h4V5a2 2 0 1 0-4 0v2z"/></svg> '
)


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
        if order is None:
            return True
        order_admin = self.admin_site.get_model_admin(Order)
        assert isinstance(order_admin, OrderAdmin)
        return order_admin.order_page(request, order).powers.edit is None


# The order page's query that shows its items' inline: the Edit items step.
EDIT_ITEMS = "edit_items"


def editing_items(request) -> bool:
    return request.GET.get(EDIT_ITEMS) == "1"


# A search with no result in a queue counts its results in all orders up to this many ("100+").
SEARCH_ELSEWHERE_MAX = 101


@admin.register(Order)
class OrderAdmin(BoundedSearchAdmin):
    # The holder second, where it is seen first (and on a phone's card, beside the number).
    list_display = ["order_number", "assigned_to", "status_badge", "customer", "total", "created"]
    list_display_links = ["order_number"]
    list_filter = [AssignmentFilter, OperatorFilter, "status", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["status", "assignment__operator"]
    list_per_page = 100
    search_fields = ["=number", "customer_name", "customer_email"]
    search_help_text = gettext_lazy(
        "An order number (100042, #L1999), or part of a customer's name, email, phone or city."
    )
    show_full_result_count = False
    # Facet counts would count every order once per filter choice on each page view.
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatingPaginator
    ordering = ["-created_at", "-id"]
    inlines = [OrderLineInline]
    readonly_fields = ["created_at", "updated_at"]
    form = OrderForm
    actions = [assign_to_me, release, assign_to_operator, take_over, set_status]
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
        css = {"all": ["console/console.css"]}

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
        # assignment_operator_order_idx instead of sorting all of that operator's holds (bench/RESULTS.md).
        # The same order as the orders' own column: a trigger keeps them equal.
        if request.GET.get("held") == "mine" or request.GET.get("operator", "").isdigit():
            return ["-assignment__order_created_at", "-id"]
        return super().get_ordering(request)

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        term = request.GET.get(SEARCH_VAR, "").strip()
        if term:
            # A search of all orders (no queue, no filter, no other sort): its page and count are read from
            # the search rows alone, and only the page's orders are joined.
            of_all_orders = not {key for key in request.GET if key not in {SEARCH_VAR, PAGE_VAR}}
            return SearchEstimatingPaginator(
                queryset,
                per_page,
                orphans,
                allow_empty_first_page,
                # The page the list shows (as ChangeList reads it): read with the count, in one statement.
                page_number=page_number_of(request),
                search_rows=(
                    orders_search_rows(search_term_bound(term), using=queryset.db) if of_all_orders else None
                ),
            )
        return super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)

    def get_bounded_search_results(self, request, queryset, bounded):
        """orders.selectors.orders_search: an order number by its unique index, anything else by the trigram
        index over the orders' search rows (one per order: the join never duplicates, so no DISTINCT)."""
        return orders_search(queryset, bounded), False

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

    @admin.display(description=gettext_lazy("store"), ordering="store__name")
    def store_column(self, order: Order) -> str:
        # Cut short on a wide screen when long (console.css): the whole name on hover.
        return (
            format_html('<span title="{}">{}</span>', order.store.name, order.store.name)
            if order.store
            else ""
        )

    @admin.display(description=gettext_lazy("store"))
    def store_link(self, order: Order) -> str:
        store = order.store
        if store is None:
            return ""
        link = html_format(
            '{} · <a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
            store.name,
            store.order_admin_url(order.external_id),
            _("Open in %(platform)s") % {"platform": store.platform_label},
        )
        if store.platform == "magento":
            # Magento's REST API takes no address edit back (issue 23): say where such an edit lives.
            note = _("An address or phone edited here stays in orderops: Magento does not take it back.")
            return html_format("{}<br><small>{}</small>", link, note)
        return link

    # What the store says of the payment and the fulfilment, in the operator's language (the raw value stays
    # on the order; an unknown one is shown as sent).
    @admin.display(description=Order._meta.get_field("payment_status").verbose_name)
    def payment_status_shown(self, order: Order) -> str:
        return payment_status_label(order.payment_status)

    @admin.display(description=Order._meta.get_field("fulfillment_status").verbose_name)
    def fulfillment_status_shown(self, order: Order) -> str:
        return fulfillment_status_label(order.fulfillment_status)

    @admin.display(description=gettext_lazy("In the store"))
    def store_state(self, order: Order) -> str:
        """The list's cell: the store's payment and fulfilment status, in the operator's language (cut short
        on a wide screen: the whole of it on hover)."""
        text = " · ".join(
            label
            for label in (
                payment_status_label(order.payment_status),
                fulfillment_status_label(order.fulfillment_status),
            )
            if label
        )
        return format_html('<span title="{}">{}</span>', text, text) if text else ""

    def get_list_display(self, request):
        # Once orders come from several stores (two may both have #1001), each row says its store; once one
        # store is connected, what the store says of the payment and the fulfilment.
        list_display = list(super().get_list_display(request))
        if orders_from_several_stores():
            list_display.insert(list_display.index("order_number") + 1, "store_column")
        if orders_from_stores():
            list_display.insert(list_display.index("status_badge") + 1, "store_state")
        return list_display

    def get_list_filter(self, request):
        list_filter = list(super().get_list_filter(request))
        if orders_from_several_stores():
            list_filter.insert(list_filter.index("status"), "store")
        return list_filter

    def get_list_select_related(self, request):
        related = super().get_list_select_related(request)
        if orders_from_several_stores() and not isinstance(related, bool):
            return [*related, "store"]
        return related

    @admin.display(description=gettext_lazy("created"), ordering="created_at")
    def created(self, order: Order) -> str:
        return html_format(
            '<time datetime="{}" title="{}">{}</time>',
            order.created_at.isoformat(),
            exact_time(order.created_at),
            short_ago(order.created_at),
        )

    @admin.display(description=gettext_lazy("customer"), ordering="customer_name")
    def customer(self, order: Order) -> str:
        # The whole of it on hover: a wide screen shows it on one line, cut short when long.
        return html_format(
            '<span title="{} · {}">{}<br><span class="quiet">{}</span></span>',
            order.customer_name,
            order.customer_email,
            order.customer_name,
            order.customer_email,
        )

    @admin.display(description=gettext_lazy("total"), ordering="grand_total")
    def total(self, order: Order) -> str:
        return money(order.grand_total, order.currency)

    @admin.display(description=gettext_lazy("status"), ordering="status__position")
    def status_badge(self, order: Order) -> str:
        final = " status-final" if order.status.releases_assignment else ""
        return html_format(
            '<span class="status-badge status-{}{}">{}</span>', order.status_id, final, order.status.label
        )

    @admin.display(description=gettext_lazy("assigned to"), ordering="assignment__operator__first_name")
    def assigned_to(self, order: Order) -> str:
        try:
            hold = order.assignment
        except ObjectDoesNotExist:
            return html_format('<span class="holder-none">{}</span>', _("free"))
        viewer_id = getattr(order, "viewer_id", None)
        if hold.operator_id == viewer_id:
            return html_format(
                '<span class="holder holder-you" title="{}">{}</span> <span class="quiet">· {}</span>',
                _("since %(time)s") % {"time": exact_time(hold.assigned_at)},
                pgettext("the list's holder column, for the viewer's own orders", "you"),
                short_age(hold.assigned_at),
            )
        # Held by a colleague: locked for the viewer (the row is muted by console.css).
        return html_format(
            '<span class="holder holder-other" title="{}">{}<span class="visually-hidden">{}</span>{}</span>'
            ' <span class="quiet">· {}</span>',
            _("locked: held since %(time)s") % {"time": exact_time(hold.assigned_at)},
            LOCK_ICON,
            _("locked, held by"),
            display_name(hold.operator),
            short_age(hold.assigned_at),
        )

    # --- actions (console/actions.py): offered only to those who may run them ------------------------------

    def _list_powers(self, request) -> dict[str, bool]:
        if "_orderops_list_powers" not in request.__dict__:
            request._orderops_list_powers = rules.list_powers(request.user)
        return request._orderops_list_powers

    def changelist_view(self, request, extra_context=None):
        # "Get next order" only for those who may take orders (the rule book's assign power).
        context = {
            "may_claim": self._list_powers(request)["assign_to_me"],
            # The queue's name ("My orders") when the list is one of the navigation's queues, else "Orders":
            # not the admin's "Select order to change".
            "title": queue_title(request.GET),
            **(extra_context or {}),
        }
        response = super().changelist_view(request, context)
        context_data = getattr(response, "context_data", None)
        if context_data is not None and "cl" in context_data:
            context_data["search_elsewhere"] = self._search_elsewhere(request, context_data["cl"])
        return response

    def _search_elsewhere(self, request, cl) -> dict | None:
        """A search that found nothing in a queue (or under a filter) but finds orders in all orders: how many
        (up to SEARCH_ELSEWHERE_MAX, "100+"), and the link to them. The count reads at most that many rows."""
        filtered = {key for key in request.GET if key not in {SEARCH_VAR, ORDER_VAR, PAGE_VAR}}
        if not cl.query or cl.result_count or not filtered:
            return None
        found = (
            orders_search(Order.objects.all(), search_term_bound(cl.query))
            .order_by()
            .values("pk")[:SEARCH_ELSEWHERE_MAX]
            .count()
        )
        if not found:
            return None
        count = f"{found - 1}+" if found >= SEARCH_ELSEWHERE_MAX else str(found)
        return {
            "queue": queue_title({key: request.GET[key] for key in request.GET if key != SEARCH_VAR}),
            "url": f"{request.path}?{urlencode({SEARCH_VAR: cl.query})}",
            "count": count,
        }

    def has_hold_permission(self, request) -> bool:
        return self._list_powers(request)["hold"]

    def has_assign_to_me_permission(self, request) -> bool:
        return self._list_powers(request)["assign_to_me"]

    def has_assign_others_permission(self, request) -> bool:
        return self._list_powers(request)["assign_others"]

    def has_override_permission(self, request) -> bool:
        return self._list_powers(request)["override"]

    def response_action(self, request, queryset, **kwargs):  # type: ignore[override]
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

    # --- extra URLs (console/views.py): the order page's buttons, claim next, the workload page ----------

    def get_urls(self):
        def wrap(view):
            def call(request, *args, **kwargs):
                return view(request, *args, model_admin=self, **kwargs)

            return self.admin_site.admin_view(update_wrapper(call, view))

        button = wrap(views.order_button)
        custom = [
            path("claim-next/", wrap(views.claim_next), name="orders_order_claim_next"),
            path("workload/", wrap(views.workload), name="orders_order_workload"),
            path("number/<str:number>/", wrap(order_by_number), name="orders_order_by_number"),
            path("queues/", wrap(views.queues), name="orders_order_queues"),
            path("<path:object_id>/assign/", button, {"button": "assign"}, name="orders_order_assign"),
            path("<path:object_id>/release/", button, {"button": "release"}, name="orders_order_release"),
            path(
                "<path:object_id>/take-over/", button, {"button": "take_over"}, name="orders_order_take_over"
            ),
            path("<path:object_id>/transfer/", button, {"button": "transfer"}, name="orders_order_transfer"),
            path("<path:object_id>/update/", button, {"button": "update"}, name="orders_order_update"),
            path("<path:object_id>/comment/", button, {"button": "comment"}, name="orders_order_comment"),
        ]
        # Before the ModelAdmin's own: its catch-all "<path:object_id>/" would swallow these.
        return custom + super().get_urls()

    # --- the order page: what the viewer may do is the rule book's (operators.rules.order_powers) ----------

    def order_page(self, request, order: Order) -> OrderPage:
        """The order's hold and the viewer's powers over it, read once per request and order."""
        cache = request.__dict__.setdefault("_orderops_order_pages", {})
        if order.pk not in cache:
            cache[order.pk] = order_page_read(request.user, order)
        return cache[order.pk]

    def get_inline_instances(self, request, obj=None):
        # An order's items are read at the top of its page (order_glance); editing them is a deliberate
        # step: the inline comes with ?edit_items=1 (the Edit items button), and its form posts there too.
        if obj is not None and not editing_items(request):
            return []
        return super().get_inline_instances(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or self.order_page(request, obj).powers.edit is None

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        # An order's status is shown as the list shows it; it is changed in the page's Update box.
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        fieldsets = [
            (name, {**options, "fields": ["status_badge" if f == "status" else f for f in options["fields"]]})
            for name, options in fieldsets
        ]
        # What a connected store sent beside the order's own fields (payment, shipping, its link) is read at
        # the top of the page (order_glance), not repeated in the form.
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        # The store's own data (number, total, currency) is shown, not edited, unless by a superuser. The
        # status is shown (get_fieldsets) and changed in the page's Update box. What a connected store sent
        # beside them is shown only: its next delivery would overwrite a correction.
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("status_badge")
        if obj is not None and obj.store_id is not None:
            fields += STORE_READONLY
        if obj is not None and not request.user.is_superuser:
            fields += [name for name in ("number", "grand_total", "currency") if name in STORE_OWNED]
        return fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        refused = getattr(request, "_orderops_refused", None)
        if refused is not None:
            form = type(form.__name__, (form,), {"refused": refused})
        return form

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if getattr(request, "_orderops_refused", None) is not None:
            # The refusal is the page's one message, at the top where every message is; the form below it
            # keeps the person's input without repeating the refusal as its own error.
            context["errors"] = []
            context["input_kept"] = True
        return super().render_change_form(request, context, add, change, form_url, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method != "POST" or object_id is None or not is_order_id(object_id):
            return super().changeform_view(request, object_id, form_url, extra_context)
        order = Order.objects.filter(pk=int(object_id)).first()
        if order is not None and super().has_change_permission(request, order):
            refusal = self.order_page(request, order).powers.edit
            if refusal is not None:
                return self._not_saved(request, order.pk, order.number, refusal.detail or refusal.message)
        # The edit service decides again under the order's row lock (a hold taken, a version moved on since
        # the checks above): its refusal rolls the admin's transaction back, so nothing of the POST lands.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except OrderLocked as locked:
            return self._not_saved(request, int(object_id), locked.refusal.number, locked.refusal.detail)
        except RequestRefused as refusal:
            # Stale, or the comment sent with the save refused: nothing landed; the page again with the input.
            if isinstance(refusal, OrderStale):
                text = stale_sentence(refusal, viewer=request.user)
            else:
                text = _("Nothing was saved: %(reason)s") % {"reason": refusal.message}
            self.message_user(request, text, messages.ERROR)
            request._orderops_refused = refusal
            request.__dict__.pop("_orderops_order_pages", None)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def _not_saved(self, request, order_id: int, number, why: str):
        self.message_user(
            request,
            _("Your changes to #%(number)s were not saved: %(why)s.") % {"number": number, "why": why},
            messages.ERROR,
        )
        # Comments are open: what was typed in the Update box waits there, to be added without the changes.
        draft = draft_take(request, order_id)
        if draft.body.strip():
            draft_keep(request, order_id, replace(draft, status=""))
        return HttpResponseRedirect(flow_read(request).order_url(order_id))

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            super().save_model(request, obj, form, change)
        # A change is saved with its lines in one call to the edit service: save_related.

    def save_related(self, request, form, formsets, change) -> None:
        if not change:
            super().save_related(request, form, formsets, change)
            return
        # The order's fields and lines, with what the Update box held: one submit (console/update.py).
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE}
        status = form.cleaned_data.get("update_status")
        if status is not None and status.code != form.instance.status_id:
            changes["status"] = status
        hold = self.order_page(request, form.instance).hold
        updated = order_page_submit(
            self,
            request,
            order=form.instance,
            version=form.cleaned_data.get("loaded_version") or form.instance.version,
            changes=changes,
            lines=lines_change(formsets),
            body=form.cleaned_data.get("update_comment") or "",
            release_after=bool(form.cleaned_data.get("update_release")),
            held_before=hold is not None and hold.operator_id == request.user.pk,
        )
        if updated.saved is not None:
            form.instance.version = updated.saved.version
        request._orderops_updated = updated
        # What the viewer may do now is decided again for the page that follows.
        request.__dict__.pop("_orderops_order_pages", None)

    def response_change(self, request, obj):
        flow = flow_read(request)
        updated = getattr(request, "_orderops_updated", None)
        if "_update" in request.POST:
            # The Update box's submit, sent with the order's edited fields: it goes where an update goes.
            self.message_user(request, _("#%(number)s was saved.") % {"number": obj.number}, messages.SUCCESS)
            if updated is not None and updated.hold_ended:
                next_order_offer(request, flow)
                return HttpResponseRedirect(flow.queue_url())
            return HttpResponseRedirect(flow.order_url(obj.pk, "#timeline-end"))
        if "_continue" in request.POST and not self.has_change_permission(request, obj):
            # Saved, but no longer theirs to change (the save ended their hold): no "edit it again below".
            self.message_user(
                request,
                _("#%(number)s was saved. You can no longer change it.") % {"number": obj.number},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(flow.order_url(obj.pk))
        return super().response_change(request, obj)

    def response_post_save_change(self, request, obj):
        # Saved and done with: back to the queue the person came from, the next order offered after Get next.
        flow = flow_read(request)
        next_order_offer(request, flow)
        return HttpResponseRedirect(flow.queue_url())

    def get_object(self, request, object_id, from_field=None):
        # The order the page has read already (with its status, which the page shows): not read again.
        shown = request.__dict__.get("_orderops_shown_order")
        if shown is not None and from_field is None and str(shown.pk) == str(object_id):
            return shown
        return super().get_object(request, object_id, from_field)

    def history_view(self, request, object_id, extra_context=None):
        """The History button: the order's timeline (console.timeline), its one history, as the order page
        shows it, rather than the admin's log of form saves, which knows nothing of holds and comments."""
        order = (
            Order.objects.select_related("status").filter(pk=int(object_id)).first()
            if is_order_id(object_id)
            else None
        )
        if order is None:
            raise Http404(_("There is no order with id %(id)r.") % {"id": object_id})
        if not self.has_view_permission(request, order):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": _("History of order #%(number)s") % {"number": order.number},
            "subtitle": order.customer_name or None,
            "opts": self.opts,
            "object": order,
            "module_name": str(self.opts.verbose_name_plural).capitalize(),
            "timeline": order_timeline(order.pk),
            "order_url": flow_read(request).order_url(order.pk, "#timeline"),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/orders/order/object_history.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = dict(extra_context or {})
        if object_id and is_order_id(object_id):
            order = Order.objects.select_related("status", "store").filter(pk=int(object_id)).first()
            if order is not None and request.method == "GET":
                request._orderops_shown_order = order
            if order is not None and self.has_view_permission(request, order):
                context.update(
                    order_page_context(
                        request,
                        order,
                        self.order_page(request, order),
                        super().has_change_permission(request, order),
                    )
                )
                # "Order #100427", and the customer below it: a browser tab reads "Anna Müller | Order
                # #100427 | orderops" rather than the admin's "#100427 | Change order".
                context["title"] = _("Order #%(number)s") % {"number": order.number}
                context["subtitle"] = order.customer_name or None
                context["store_link"] = self.store_link(order)
                context["editing_items"] = editing_items(request)
                context["edit_items_url"] = "?" + urlencode({**request.GET.dict(), EDIT_ITEMS: "1"})
                context["items_done_url"] = "?" + urlencode(
                    {key: value for key, value in request.GET.items() if key != EDIT_ITEMS}
                )
        if not form_url:
            # The order form posts to its page with the queue's filters (the admin adds them) and these.
            kept = {VIA: VIA_NEXT} if flow_read(request).via_next else {}
            if editing_items(request):
                kept[EDIT_ITEMS] = "1"
            form_url = "?" + urlencode(kept) if kept else ""
        return super().change_view(request, object_id, form_url, context)


@admin.register(OrderStatus)
class OrderStatusAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "position", "releases_assignment"]
    list_editable = ["label", "position", "releases_assignment"]
    ordering = ["position", "code"]
