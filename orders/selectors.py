"""Reads of the order domain that several services share."""

from orders.models import OrderStatus


def final_status_labels() -> dict[str, str]:
    """{code: label} of the statuses that release an order's hold (complete, canceled, closed...)."""
    return dict(OrderStatus.objects.filter(releases_assignment=True).values_list("code", "label"))
