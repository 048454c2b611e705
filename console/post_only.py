"""What a person sees who opens a button's URL (a bookmark, a pasted link, the browser's history): the button
changes state, so it answers only a POST; a GET gets a page that says so and offers the button itself, or the
order page where it lives. Nothing changes on GET."""

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.models import Order
from orders.results import is_order_id

# The label of each button, as the order page and the list write it. Buttons that need something typed or
# chosen first (a reason, an operator, a comment) are offered as a link to the order page instead.
BUTTON_LABELS = {
    "assign": gettext_lazy("Assign to me"),
    "release": gettext_lazy("Release"),
    "take_over": gettext_lazy("Take over…"),
    "transfer": gettext_lazy("Transfer"),
    "comment": gettext_lazy("Add comment"),
    "update": gettext_lazy("Update"),
    "claim_next": gettext_lazy("Get next order"),
}
NEEDS_INPUT = {"take_over", "transfer", "comment", "update"}


def post_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Like require_POST, with a page for a person instead of an empty 405 on GET."""

    @wraps(view)
    def inner(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "POST":
            return view(request, *args, **kwargs)
        if request.method in ("GET", "HEAD"):
            return post_only_page(request, *args, **kwargs)
        return HttpResponseNotAllowed(["POST"])

    return inner


def post_only_page(
    request: HttpRequest, object_id: str | None = None, *, model_admin, button: str = "claim_next"
) -> HttpResponse:
    if button not in BUTTON_LABELS:
        raise Http404(_("There is no button %(button)r.") % {"button": button})
    order = None
    if object_id is not None:
        if not is_order_id(object_id):
            raise Http404(_("There is no order with id %(id)r.") % {"id": object_id})
        order = get_object_or_404(Order.objects.only("pk", "number"), pk=int(object_id))
    if not model_admin.has_view_permission(request, order):
        raise PermissionDenied
    changelist_url = reverse("admin:orders_order_changelist")
    if order is None:
        explanation = _("This button takes an order for you, so it only works from the order list.")
        title = str(BUTTON_LABELS[button])
    else:
        explanation = _("This button changes the order, so it only works from the order page.")
        title = _("#%(number)s: %(button)s") % {"number": order.number, "button": BUTTON_LABELS[button]}
    response = TemplateResponse(
        request,
        "admin/orders/order/post_only.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": model_admin.model._meta,
            "order": order,
            "explanation": explanation,
            "button_label": BUTTON_LABELS[button],
            # Offered here only when pressing it needs nothing more: the others live on the order page.
            "offer_button": button not in NEEDS_INPUT,
            "order_url": reverse("admin:orders_order_change", args=[order.pk]) if order else None,
            "changelist_url": changelist_url,
        },
        # The method is still not allowed: the page is for the person, the status for every other client.
        status=405,
    )
    response["Allow"] = "POST"
    return response
