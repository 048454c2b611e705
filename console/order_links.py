"""Links to orders: an order's page by its number (`/admin/orders/order/number/100042/`), and the "#100042"
link that lists of holds and log entries show for an order."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from console.changelist import html_format
from orders.models import Order


def order_link(order_id: int, number: str) -> str:
    """ "#100042", linking to the order's page."""
    return html_format('<a href="{}">#{}</a>', reverse("admin:orders_order_change", args=[order_id]), number)


def order_by_number(request: HttpRequest, number: str, *, model_admin) -> HttpResponse:
    """The order's page, for a URL a person can write from the number alone; the console's 404 page when
    there is no such order."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    number = number.strip().lstrip("#").strip()
    order_id = Order.objects.filter(number=number).values_list("pk", flat=True).first()
    if order_id is not None:
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order_id]))
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
