"""The console's views beside the admin's own: the order page's buttons, "Get next order", the workload.

The buttons are one view: each button's URL names it (the path's kwargs), and BUTTONS is the whitelist that
dispatches it, as Oscar's OrderDetailView does with its order_actions. Every change goes through a service;
these views read the request, call it and tell the person what happened. State changes only on POST
(a GET gets console/post_only.py's page).
OrderAdmin.get_urls routes to them through the admin site's admin_view, passing itself as `model_admin`.
"""

from datetime import datetime, time

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from console.formatting import display_name
from console.forms import OperatorChoiceForm, TakeOverForm, first_error
from console.messages import run_and_report
from console.post_only import post_only
from console.queues import landing_url, queue_counts
from operators.selectors import operators_workload, unassigned_backlog
from operators.services import (
    order_claim_next,
    orders_assign,
    orders_release,
    orders_take_over,
    orders_transfer,
)
from orders.models import Order
from orders.results import Outcome, RequestRefused, is_order_id
from orders.services import order_comment_add


def comment_draft_key(order_id: int) -> str:
    """Where a refused comment waits in the session for the order page to show it again."""
    return f"orderops:comment-draft:{order_id}"


def _back_to(order: Order, anchor: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]) + anchor)


# --- the order page's buttons ----------------------------------------------------------------------------


def _assign(model_admin, request: HttpRequest, order: Order) -> HttpResponse:
    run_and_report(
        model_admin,
        request,
        lambda: orders_assign(actor=request.user, order_ids=[order.pk]),
        done=lambda count, orders: _("%(orders)s is now yours.") % {"orders": orders},
    )
    return _back_to(order)


def _release(model_admin, request: HttpRequest, order: Order) -> HttpResponse:
    run_and_report(
        model_admin,
        request,
        lambda: orders_release(actor=request.user, order_ids=[order.pk]),
        done=lambda count, orders: _("Released %(orders)s.") % {"orders": orders},
    )
    return _back_to(order)


def _take_over(model_admin, request: HttpRequest, order: Order) -> HttpResponse:
    form = TakeOverForm(request.POST, order=order)
    if not form.is_valid():
        model_admin.message_user(request, first_error(form), messages.ERROR)
        return _back_to(order)
    run_and_report(
        model_admin,
        request,
        lambda: orders_take_over(
            actor=request.user, order_ids=[order.pk], reason=form.cleaned_data["reason"]
        ),
        done=lambda count, orders: _("You took over %(orders)s.") % {"orders": orders},
    )
    return _back_to(order)


def _transfer(model_admin, request: HttpRequest, order: Order) -> HttpResponse:
    form = OperatorChoiceForm(request.POST)
    if not form.is_valid():
        model_admin.message_user(request, first_error(form), messages.ERROR)
        return _back_to(order)
    chosen = form.cleaned_data["operator"]
    run_and_report(
        model_admin,
        request,
        lambda: orders_transfer(actor=request.user, order_ids=[order.pk], operator=chosen),
        done=lambda count, orders: (
            _("%(orders)s is now %(operator)s's.") % {"orders": orders, "operator": display_name(chosen)}
        ),
    )
    return _back_to(order)


def _comment(model_admin, request: HttpRequest, order: Order) -> HttpResponse:
    body = request.POST.get("body", "")
    try:
        order_comment_add(actor=request.user, order_id=order.pk, body=body)
    except RequestRefused as refusal:
        # The order page shows the reason next to the comment box, where the page comes back scrolled to,
        # with what was typed still in it.
        request.session[comment_draft_key(order.pk)] = {"body": body, "error": refusal.message}
        return _back_to(order, "#comment-form")
    model_admin.message_user(
        request, _("Your comment on #%(number)s was added.") % {"number": order.number}, messages.SUCCESS
    )
    return _back_to(order, "#timeline-end")


# The buttons an order page may post, by the name its URL gives: nothing outside this list is dispatched.
BUTTONS = {
    "assign": _assign,
    "release": _release,
    "take_over": _take_over,
    "transfer": _transfer,
    "comment": _comment,
}


@post_only
def order_button(request: HttpRequest, object_id: str, *, model_admin, button: str) -> HttpResponse:
    """One of the order page's buttons, pressed on order `object_id`: `button` is its URL's name for it."""
    handler = BUTTONS.get(button)
    if handler is None:
        raise Http404(_("There is no button %(button)r.") % {"button": button})
    if not is_order_id(object_id):
        raise Http404(_("There is no order with id %(id)r.") % {"id": object_id})
    order = get_object_or_404(Order.objects.only("pk", "number"), pk=int(object_id))
    if not model_admin.has_view_permission(request, order):
        raise PermissionDenied
    return handler(model_admin, request, order)


# --- the list's "Get next order", and the workload page ------------------------------------------------


@post_only
def claim_next(request: HttpRequest, *, model_admin) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    result = order_claim_next(actor=request.user)
    if result.outcome == Outcome.DONE:
        model_admin.message_user(request, result.message, messages.SUCCESS)
        return _back_to(result.order)
    level = messages.INFO if result.outcome == Outcome.NOT_FOUND else messages.WARNING
    model_admin.message_user(request, result.message, level)
    return HttpResponseRedirect(reverse("admin:orders_order_changelist"))


def queues(request: HttpRequest, *, model_admin) -> HttpResponse:
    """The navigation's queue counts, as JSON, for the page to fill in after it has loaded."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    return JsonResponse({"queues": queue_counts(request.user)})


def landing(request: HttpRequest) -> HttpResponse:
    """The console's home: an operator's working view (their orders, or what is left to take); people who
    cannot see orders get the admin's index."""
    if request.user.is_authenticated and request.user.has_perm("orders.view_order"):
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
