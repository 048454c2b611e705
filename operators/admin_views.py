"""The console's assignment actions and views; OrderAdmin (orders/admin.py) wires them into the admin.

Every change goes through the services; these functions only read the request, call a service and tell the
person what happened.
"""

from datetime import datetime, time

from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import model_ngettext
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from operators import rules
from operators.admin_messages import report_result
from operators.selectors import operators_workload, unassigned_backlog
from operators.services import order_claim_next, orders_assign, orders_release, orders_take_over
from orderops.conf import OPERATORS_GROUP, SUPERVISORS_GROUP, orderops_setting
from orders.models import Order, OrderStatus
from orders.results import Outcome, RequestRefused, is_order_id, unique_ids, user_display_name
from orders.services import order_comment_add, orders_status_set

TAKE_OVER_REASON_MAX_LENGTH = 500


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


def holders_choices() -> list:
    """Active users who may be given holds: Operators, Supervisors, superusers."""
    return list(
        get_user_model()
        .objects.filter(
            Q(groups__name__in=[OPERATORS_GROUP, SUPERVISORS_GROUP]) | Q(is_superuser=True), is_active=True
        )
        .distinct()
        .order_by("first_name", "username")
    )


def _run(model_admin, request, service, done) -> None:
    try:
        result = service()
    except RequestRefused as refusal:
        model_admin.message_user(request, refusal.message, messages.ERROR)
        return
    report_result(model_admin, request, result, done=done)


# --- changelist actions --------------------------------------------------------------------------------


def assign_to_me(model_admin, request: HttpRequest, queryset) -> None:
    _run(
        model_admin,
        request,
        lambda: orders_assign(actor=request.user, order_ids=selected_ids(request, queryset)),
        lambda count, orders: (
            ngettext(
                "Assigned %(count)s order to you: %(orders)s.",
                "Assigned %(count)s orders to you: %(orders)s.",
                count,
            )
            % {"count": count, "orders": orders}
        ),
    )


def release(model_admin, request: HttpRequest, queryset) -> None:
    _run(
        model_admin,
        request,
        lambda: orders_release(actor=request.user, order_ids=selected_ids(request, queryset)),
        lambda count, orders: (
            ngettext("Released %(count)s order: %(orders)s.", "Released %(count)s orders: %(orders)s.", count)
            % {"count": count, "orders": orders}
        ),
    )


def _intermediate_page(model_admin, request, queryset, *, action: str, title: str, template: str, **context):
    """The confirmation page of an action that needs a choice, as Django's delete_selected does it."""
    opts = model_admin.model._meta
    try:
        ids = selected_ids(request, queryset)
    except RequestRefused as refusal:
        model_admin.message_user(request, refusal.message, messages.ERROR)
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
            **model_admin.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": opts,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected_ids": ids,
            "orders": orders,
            "more_count": len(ids) - len(orders),
            "objects_name": model_ngettext(queryset, len(ids)),
            "media": model_admin.media,
            **context,
        },
    )


def assign_to_operator(model_admin, request: HttpRequest, queryset):
    operators = holders_choices()
    error = ""
    if request.POST.get("post"):
        chosen = next((user for user in operators if str(user.pk) == request.POST.get("operator")), None)
        if chosen is None:
            error = _("Choose an operator from the list.")
        else:
            _run(
                model_admin,
                request,
                lambda: orders_assign(
                    actor=request.user, order_ids=selected_ids(request, queryset), operator=chosen
                ),
                lambda count, orders: (
                    ngettext(
                        "Assigned %(count)s order to %(operator)s: %(orders)s.",
                        "Assigned %(count)s orders to %(operator)s: %(orders)s.",
                        count,
                    )
                    % {"count": count, "orders": orders, "operator": user_display_name(chosen)}
                ),
            )
            return None
    return _intermediate_page(
        model_admin,
        request,
        queryset,
        action="assign_to_operator",
        title=_("Assign orders to an operator"),
        template="assign_to_operator.html",
        operators=operators,
        error=error,
    )


def take_over(model_admin, request: HttpRequest, queryset):
    error = ""
    reason = request.POST.get("reason", "").strip()
    if request.POST.get("post"):
        if not reason:
            error = _("Say why you take these orders over: the holders will see it in the timeline.")
        elif len(reason) > TAKE_OVER_REASON_MAX_LENGTH:
            error = _("The reason can have at most %(limit)s characters.") % {
                "limit": TAKE_OVER_REASON_MAX_LENGTH
            }
        else:
            _run(
                model_admin,
                request,
                lambda: orders_take_over(
                    actor=request.user, order_ids=selected_ids(request, queryset), reason=reason
                ),
                lambda count, orders: (
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
        model_admin,
        request,
        queryset,
        action="take_over",
        title=_("Take orders over"),
        template="take_over.html",
        reason=reason,
        error=error,
    )


def set_status(model_admin, request: HttpRequest, queryset):
    statuses = list(OrderStatus.objects.all())
    error = ""
    if request.POST.get("post"):
        chosen = next((status for status in statuses if status.code == request.POST.get("status")), None)
        if chosen is None:
            error = _("Choose a status from the list.")
        else:
            _run(
                model_admin,
                request,
                lambda: orders_status_set(
                    actor=request.user, order_ids=selected_ids(request, queryset), status_code=chosen.code
                ),
                lambda count, orders: (
                    ngettext(
                        "Set %(count)s order to %(status)s: %(orders)s.",
                        "Set %(count)s orders to %(status)s: %(orders)s.",
                        count,
                    )
                    % {"count": count, "orders": orders, "status": chosen.label}
                ),
            )
            return None
    return _intermediate_page(
        model_admin,
        request,
        queryset,
        action="set_status",
        title=_("Set the status of orders"),
        template="set_status.html",
        statuses=statuses,
        error=error,
    )


# --- views on one order, and the list's "Get next order" -----------------------------------------------


def _order_or_404(model_admin, request, object_id) -> Order:
    if not is_order_id(object_id):
        raise Http404(_("There is no order with id %(id)r.") % {"id": object_id})
    order = get_object_or_404(Order.objects.only("pk", "number"), pk=int(object_id))
    if not model_admin.has_view_permission(request, order):
        raise PermissionDenied
    return order


def _back_to(order: Order, anchor: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]) + anchor)


def order_assign_view(model_admin, request: HttpRequest, object_id: str) -> HttpResponse:
    order = _order_or_404(model_admin, request, object_id)
    _run(
        model_admin,
        request,
        lambda: orders_assign(actor=request.user, order_ids=[order.pk]),
        lambda count, orders: _("%(orders)s is now yours.") % {"orders": orders},
    )
    return _back_to(order)


def order_release_view(model_admin, request: HttpRequest, object_id: str) -> HttpResponse:
    order = _order_or_404(model_admin, request, object_id)
    _run(
        model_admin,
        request,
        lambda: orders_release(actor=request.user, order_ids=[order.pk]),
        lambda count, orders: _("Released %(orders)s.") % {"orders": orders},
    )
    return _back_to(order)


def order_take_over_view(model_admin, request: HttpRequest, object_id: str) -> HttpResponse:
    order = _order_or_404(model_admin, request, object_id)
    reason = request.POST.get("reason", "").strip()
    if len(reason) > TAKE_OVER_REASON_MAX_LENGTH:
        model_admin.message_user(
            request,
            _("#%(number)s was not taken over: the reason can have at most %(limit)s characters.")
            % {"number": order.number, "limit": TAKE_OVER_REASON_MAX_LENGTH},
            messages.ERROR,
        )
        return _back_to(order)
    _run(
        model_admin,
        request,
        lambda: orders_take_over(actor=request.user, order_ids=[order.pk], reason=reason),
        lambda count, orders: _("You took over %(orders)s.") % {"orders": orders},
    )
    return _back_to(order)


def order_comment_view(model_admin, request: HttpRequest, object_id: str) -> HttpResponse:
    order = _order_or_404(model_admin, request, object_id)
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


def comment_draft_key(order_id: int) -> str:
    return f"orderops:comment-draft:{order_id}"


def claim_next_view(model_admin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    result = order_claim_next(actor=request.user)
    if result.outcome == Outcome.DONE:
        model_admin.message_user(request, result.message, messages.SUCCESS)
        return _back_to(result.order)
    level = messages.INFO if result.outcome == Outcome.NOT_FOUND else messages.WARNING
    model_admin.message_user(request, result.message, level)
    return HttpResponseRedirect(reverse("admin:orders_order_changelist"))


def workload_view(model_admin, request: HttpRequest) -> HttpResponse:
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
            "may_manage": rules.may_assign_others(request.user) or rules.may_override(request.user),
            "changelist_url": reverse("admin:orders_order_changelist"),
        },
    )
