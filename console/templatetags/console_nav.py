"""The console's navigation: the saved queues, with their counts filled in by console.js."""

from django import template
from django.urls import reverse

from console.queues import QUEUES

register = template.Library()


@register.inclusion_tag("console/queues.html", takes_context=True)
def console_queues(context) -> dict:
    request = context.get("request")
    current = ""
    if request is not None and request.path == reverse("admin:orders_order_changelist"):
        asked = {
            key: value
            for key, value in request.GET.items()
            if key not in ("o", "p", "q", "_changelist_filters")
        }
        current = next((queue.key for queue in QUEUES if queue.params == asked), "")
    return {"queues": QUEUES, "current": current, "counts_url": reverse("admin:orders_order_queues")}
