"""The order list's actions, listed by reference on OrderAdmin.actions the way Django lists delete_selected.

Each function's name is the `action` the list posts. The permission names map to OrderAdmin's
has_<name>_permission; which orders each actor may change is decided per order by the services. An action that
needs a choice renders an intermediate page on the first POST and acts on the second (with `post`).
"""

from typing import cast

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import model_ngettext
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from console.formatting import display_name
from console.forms import OperatorChoiceForm, ReleaseForm, StatusChoiceForm, TakeOverForm, first_error
from console.messages import run_and_report
from operators import rules
from operators.selectors import holds_of
from operators.services import orders_assign, orders_release, orders_take_over, orders_transfer
from orderops.conf import orderops_setting
from orderops.types import Actor
from orders.models import Order
from orders.results import RequestRefused, unique_ids
from orders.services import orders_status_set


def selected_ids(request: HttpRequest, queryset) -> list[int]:
    """The ids of the orders an action is asked to change.

    Ticked orders: the ids as posted, so that the service reports each one, including orders that no
    longer exist ("order id 7 no longer exists"). "Select all": the filtered list's ids, refused before
    loading them all when there are more than one request may change.
    """
    if request.POST.get(helpers.ACTION_CHECKBOX_NAME) and request.POST.get("select_across") != "1":
        return unique_ids(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME))
    limit = orderops_setting("BULK_MAX_ORDERS")
    ids = list(queryset.order_by().values_list("pk", flat=True)[: limit + 1])
    if len(ids) > limit:
        raise RequestRefused(
            _("More than %(limit)s orders were selected; at most %(limit)s can be changed at once.")
            % {"limit": limit}
        )
    return ids


def _intermediate_page(modeladmin, request, queryset, *, action: str, title: str, template: str, **context):
    """The confirmation page of an action that needs a choice, as Django's delete_selected does it."""
    opts = modeladmin.model._meta
    try:
        ids = selected_ids(request, queryset)
    except RequestRefused as refusal:
        modeladmin.message_user(request, refusal.message, messages.ERROR)
        return None
    orders = list(
        Order.objects.filter(pk__in=ids)
        .select_related("status", "assignment__operator")
        .order_by("-created_at")[:50]
    )
    return TemplateResponse(
        request,
        [f"admin/{opts.app_label}/{opts.model_name}/{template}", f"admin/{template}"],
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": opts,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected_ids": ids,
            "orders": orders,
            "more_count": len(ids) - len(orders),
            "objects_name": model_ngettext(queryset, len(ids)),
            "media": modeladmin.media,
            **context,
        },
    )


def _confirmed(request: HttpRequest) -> dict | None:
    """The intermediate page's answer (its second POST), or None on the first POST from the list."""
    return request.POST if request.POST.get("post") else None


@admin.action(description=gettext_lazy("Assign to me"), permissions=["assign_to_me"])
def assign_to_me(modeladmin, request: HttpRequest, queryset) -> None:
    run_and_report(
        modeladmin,
        request,
        lambda: orders_assign(actor=request.user, order_ids=selected_ids(request, queryset)),
        done=lambda count, orders: (
            ngettext(
                "Assigned %(count)s order to you: %(orders)s.",
                "Assigned %(count)s orders to you: %(orders)s.",
                count,
            )
            % {"count": count, "orders": orders}
        ),
    )


def _colleagues_holds(request: HttpRequest, queryset) -> bool:
    """Whether the selection holds a colleague's hold that the person may end (which needs a reason): one
    query for the selected orders' holds. A selection refused as too large goes on to the service, which
    says so."""
    try:
        ids = selected_ids(request, queryset)
    except RequestRefused:
        return False
    user = cast(Actor, request.user)
    return any(
        rules.release_needs_reason(user, hold)
        and rules.may_release(user, holder_id=hold.operator_id, assigned_by_id=hold.assigned_by_id)
        for hold in holds_of(ids).values()
    )


@admin.action(description=gettext_lazy("Release"), permissions=["hold"])
def release(modeladmin, request: HttpRequest, queryset):
    # One's own holds are released in one click; a colleague's among them asks for the reason they are told.
    confirmed = _confirmed(request)
    form = ReleaseForm(confirmed)
    if confirmed is None and not _colleagues_holds(request, queryset):
        reason = ""
    elif form.is_valid():
        reason = form.cleaned_data["reason"]
    else:
        return _intermediate_page(
            modeladmin,
            request,
            queryset,
            action="release",
            title=_("Release colleagues' orders"),
            template="release.html",
            form=form,
            reason=(form["reason"].value() or "").strip(),
            error=first_error(form),
        )
    run_and_report(
        modeladmin,
        request,
        lambda: orders_release(actor=request.user, order_ids=selected_ids(request, queryset), reason=reason),
        done=lambda count, orders: (
            ngettext("Released %(count)s order: %(orders)s.", "Released %(count)s orders: %(orders)s.", count)
            % {"count": count, "orders": orders}
        ),
    )
    return None


@admin.action(description=gettext_lazy("Assign to an operator…"), permissions=["assign_others"])
def assign_to_operator(modeladmin, request: HttpRequest, queryset):
    form = OperatorChoiceForm(_confirmed(request))
    if form.is_valid():
        chosen = form.cleaned_data["operator"]
        run_and_report(
            modeladmin,
            request,
            # One step: free orders are assigned, held ones move (logged reassigned), each refused only
            # where the rules refuse it.
            lambda: orders_transfer(
                actor=request.user, order_ids=selected_ids(request, queryset), operator=chosen
            ),
            done=lambda count, orders: (
                ngettext(
                    "Assigned %(count)s order to %(operator)s: %(orders)s.",
                    "Assigned %(count)s orders to %(operator)s: %(orders)s.",
                    count,
                )
                % {"count": count, "orders": orders, "operator": display_name(chosen)}
            ),
        )
        return None
    return _intermediate_page(
        modeladmin,
        request,
        queryset,
        action="assign_to_operator",
        title=_("Assign orders to an operator"),
        template="assign_to_operator.html",
        form=form,
        error=first_error(form),
    )


@admin.action(description=gettext_lazy("Take over…"), permissions=["override"])
def take_over(modeladmin, request: HttpRequest, queryset):
    form = TakeOverForm(_confirmed(request))
    if form.is_valid():
        reason = form.cleaned_data["reason"]
        run_and_report(
            modeladmin,
            request,
            lambda: orders_take_over(
                actor=request.user, order_ids=selected_ids(request, queryset), reason=reason
            ),
            done=lambda count, orders: (
                ngettext(
                    "Took over %(count)s order: %(orders)s.",
                    "Took over %(count)s orders: %(orders)s.",
                    count,
                )
                % {"count": count, "orders": orders}
            ),
        )
        return None
    return _intermediate_page(
        modeladmin,
        request,
        queryset,
        action="take_over",
        title=_("Take orders over"),
        template="take_over.html",
        form=form,
        reason=(form["reason"].value() or "").strip(),
        error=first_error(form),
    )


@admin.action(description=gettext_lazy("Set status…"), permissions=["hold"])
def set_status(modeladmin, request: HttpRequest, queryset):
    form = StatusChoiceForm(_confirmed(request))
    if form.is_valid():
        chosen = form.cleaned_data["status"]
        run_and_report(
            modeladmin,
            request,
            lambda: orders_status_set(
                actor=request.user, order_ids=selected_ids(request, queryset), status_code=chosen.code
            ),
            done=lambda count, orders: (
                ngettext(
                    "Set %(count)s order to %(status)s: %(orders)s.",
                    "Set %(count)s orders to %(status)s: %(orders)s.",
                    count,
                )
                % {"count": count, "orders": orders, "status": chosen.label}
            ),
            editing=True,
        )
        return None
    return _intermediate_page(
        modeladmin,
        request,
        queryset,
        action="set_status",
        title=_("Set the status of orders"),
        template="set_status.html",
        form=form,
        error=first_error(form),
    )
