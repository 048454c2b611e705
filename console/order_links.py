"""Links to orders: an order's page by its number (`/admin/orders/order/number/100042/`, with `?store=SLUG`
when connected stores share the number), and the "#100042" link that lists of holds and log entries show
for an order."""

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from console.changelist import html_format
from orders.models import Order
from orders.selectors import orders_by_number


def order_link(order_id: int, number: str) -> str:
    """ "#100042", linking to the order's page."""
    return html_format('<a href="{}">#{}</a>', reverse("admin:orders_order_change", args=[order_id]), number)


def order_by_number(request: HttpRequest, number: str, *, model_admin) -> HttpResponse:
    """The order's page, for a URL a person can write from the number alone; the console's 404 page when
    there is no such order."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    number = number.strip().lstrip("#").strip()
    store = request.GET.get("store")
    found = list(orders_by_number(Order.objects.all(), number, store).values_list("pk", flat=True)[:2])
    if len(found) == 1:
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=found))
    if found:
        # Connected stores number their own orders: several have this number. The list, searched for it,
        # shows them with their stores.
        return HttpResponseRedirect(reverse("admin:orders_order_changelist") + "?" + urlencode({"q": number}))
    return TemplateResponse(
        request,
        "404.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": _("Order not found"),
            "subtitle": None,
            "message": _("There is no order #%(number)s.") % {"number": number},
        },
        status=404,
    )
