"""The console's views beside the admin's own: the order page's buttons, "Get next order", the workload.

The buttons are one view: each button's URL names it (the path's kwargs), and BUTTONS is the whitelist that
dispatches it, as Oscar's OrderDetailView does with its order_actions. Every change goes through a service;
these views read the request, call it and tell the person what happened. State changes only on POST
(a GET gets console/post_only.py's page).
OrderAdmin.get_urls routes to them through the admin site's admin_view, passing itself as `model_admin`.
"""

from dataclasses import replace
from datetime import datetime, time
from typing import cast

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from console.flow import flow_read, next_order_offer
from console.formatting import display_name
from console.forms import OperatorChoiceForm, TakeOverForm, UpdateForm, first_error
from console.messages import run_and_report
from console.order_page import settable_statuses, stale_sentence
from console.post_only import post_only
from console.queues import landing_url, queue_counts
from console.update import Draft, draft_keep, order_page_submit
from live.presence import orders_in_view
from operators import rules
from operators.selectors import operators_workload, unassigned_backlog
from operators.services import (
    order_claim_next,
    orders_assign,
    orders_release,
    orders_take_over,
    orders_transfer,
)
from orderops.types import Actor
from orders.models import Order
from orders.results import Outcome, RequestRefused, is_order_id
from orders.services import OrderStale


def _back_to(request: HttpRequest, order: Order, anchor: str = "") -> HttpResponseRedirect:
    """The order page again, carrying the queue the person came from (console/flow.py)."""
    return HttpResponseRedirect(flow_read(request).order_url(order.pk, anchor))


def _done_with(request: HttpRequest) -> HttpResponseRedirect:
    """Back to the queue the person came from; the next order offered when they came by "Get next order"."""
    flow = flow_read(request)
    next_order_offer(request, flow)
    return HttpResponseRedirect(flow.queue_url())


# --- the order page's buttons ----------------------------------------------------------------------------


def _assign(model_admin, request: HttpRequest, order: Order) -> HttpResponse:
    run_and_report(
        model_admin,
        request,
        lambda: orders_assign(actor=request.user, order_ids=[order.pk]),
        done=lambda count, orders: _("%(orders)s is now yours.") % {"orders": orders},
    )
    return _back_to(request, order)


def _release(model_admin, request: HttpRequest, order: Order) -> HttpResponse:
    result = None

    def release():
        nonlocal result
        # A colleague's hold comes with the reason box's text (the holder is told); one's own without.
        result = orders_release(
            actor=request.user, order_ids=[order.pk], reason=request.POST.get("reason", "")
        )
        return result

    run_and_report(
        model_admin,
        request,
        release,
        done=lambda count, orders: _("Released %(orders)s.") % {"orders": orders},
    )
    # Released: done with it, back to the queue. Refused: the order page says why.
    if result is not None and result.done:
        return _done_with(request)
    return _back_to(request, order)


def _take_over(model_admin, request: HttpRequest, order: Order) -> HttpResponse:
    form = TakeOverForm(request.POST, order=order)
    if not form.is_valid():
        model_admin.message_user(request, first_error(form), messages.ERROR)
        return _back_to(request, order)
    run_and_report(
        model_admin,
        request,
        lambda: orders_take_over(
            actor=request.user, order_ids=[order.pk], reason=form.cleaned_data["reason"]
        ),
        done=lambda count, orders: _("You took over %(orders)s.") % {"orders": orders},
    )
    return _back_to(request, order)


def _transfer(model_admin, request: HttpRequest, order: Order) -> HttpResponse:
    form = OperatorChoiceForm(request.POST)
    if not form.is_valid():
        model_admin.message_user(request, first_error(form), messages.ERROR)
        return _back_to(request, order)
    chosen = form.cleaned_data["operator"]
    run_and_report(
        model_admin,
        request,
        lambda: orders_transfer(actor=request.user, order_ids=[order.pk], operator=chosen),
        done=lambda count, orders: (
            _("%(orders)s is now %(operator)s's.") % {"orders": orders, "operator": display_name(chosen)}
        ),
    )
    return _back_to(request, order)


def _update(model_admin, request: HttpRequest, order: Order) -> HttpResponse:
    """The Update box: a comment and/or a status and, for the holder, release after update, in one submit
    (console/update.py). A refusal lands nothing and leaves what was typed and chosen in the box, with the
    reason beside it; an update that ends the person's hold sends them back to their queue."""
    page = model_admin.order_page(request, order)
    form = UpdateForm(request.POST, order=order, statuses=settable_statuses(page))
    posted = Draft(
        request.POST.get("body", ""), request.POST.get("status", ""), bool(request.POST.get("release_after"))
    )
    if not form.is_valid():
        draft_keep(request, order.pk, replace(posted, error=first_error(form)))
        return _back_to(request, order, "#update-form")
    status = form.cleaned_data["status"]
    hold = page.hold
    try:
        updated = order_page_submit(
            model_admin,
            request,
            order=order,
            version=form.cleaned_data["loaded_version"] or order.version,
            changes={"status": status} if status is not None else {},
            body=form.cleaned_data["body"],
            release_after=form.cleaned_data["release_after"],
            held_before=hold is not None and hold.operator_id == request.user.pk,
            from_update_box=True,
        )
    except OrderStale as stale:
        refused = stale_sentence(stale, update=True, viewer=cast(Actor, request.user))
        draft_keep(request, order.pk, replace(posted, error=refused))
        return _back_to(request, order, "#update-form")
    except RequestRefused as refusal:
        draft_keep(request, order.pk, replace(posted, error=refusal.message))
        return _back_to(request, order, "#update-form")
    if updated.hold_ended:
        return _done_with(request)
    return _back_to(request, order, "#timeline-end")


# The buttons an order page may post, by the name its URL gives: nothing outside this list is dispatched.
BUTTONS = {
    "assign": _assign,
    "release": _release,
    "take_over": _take_over,
    "transfer": _transfer,
    "update": _update,
    # The comment box of pages opened before the Update box: a comment is an update with only a comment.
    "comment": _update,
}


@post_only
def order_button(request: HttpRequest, object_id: str, *, model_admin, button: str) -> HttpResponse:
    """One of the order page's buttons, pressed on order `object_id`: `button` is its URL's name for it."""
    handler = BUTTONS.get(button)
    if handler is None:
        raise Http404(_("There is no button %(button)r.") % {"button": button})
    if not is_order_id(object_id):
        raise Http404(_("There is no order with id %(id)r.") % {"id": object_id})
    order = get_object_or_404(Order.objects.select_related("status"), pk=int(object_id))
    if not model_admin.has_view_permission(request, order):
        raise PermissionDenied
    return handler(model_admin, request, order)


# --- the list's "Get next order", and the workload page ------------------------------------------------


@post_only
def claim_next(request: HttpRequest, *, model_admin) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    # The queue the button was pressed on (or the order page that offered the next order) comes along.
    flow = replace(flow_read(request), via_next=True)
    # Passed over while others are free: orders a colleague has open right now (live presence); the service
    # passes over the orders this operator just let go of itself.
    result = order_claim_next(actor=request.user, avoid_order_ids=orders_in_view(excluding=request.user))
    if result.outcome == Outcome.DONE:
        model_admin.message_user(request, result.message, messages.SUCCESS)
        return HttpResponseRedirect(flow.order_url(result.order.pk))
    level = messages.INFO if result.outcome == Outcome.NOT_FOUND else messages.WARNING
    model_admin.message_user(request, result.message, level)
    return HttpResponseRedirect(flow.queue_url())


def queues(request: HttpRequest, *, model_admin) -> HttpResponse:
    """The navigation's queue counts, as JSON, for the page to fill in after it has loaded."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    return JsonResponse({"queues": queue_counts(request.user)})


def landing(request: HttpRequest) -> HttpResponse:
    """The console's home: an operator's working view (their orders, or what is left to take); people who
    cannot see orders get the admin's index."""
    if rules.may_view_orders(request.user):
        return HttpResponseRedirect(landing_url(request.user))
    return admin.site.index(request)


def workload(request: HttpRequest, *, model_admin) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    now = timezone.localtime()
    since = timezone.make_aware(datetime.combine(now.date(), time.min), now.tzinfo)
    return TemplateResponse(
        request,
        "admin/orders/order/workload.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": _("Workload"),
            "subtitle": None,
            "opts": model_admin.model._meta,
            "loads": operators_workload(since=since),
            "backlog": unassigned_backlog(),
            "since": since,
            "now": now,
            "may_manage": model_admin.has_assign_others_permission(request)
            or model_admin.has_override_permission(request),
            "changelist_url": reverse("admin:orders_order_changelist"),
        },
    )
