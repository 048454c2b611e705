"""Where a person came from, carried through the order page, and where a save, a release or an update sends
them next: back to the queue they came from, with the next order offered when they came by "Get next order".

The queue is the admin's own preserved filters (`_changelist_filters`, the order list's query string); the
way in is `via=next`. Both ride in the order page's URL and in the action URL of every form on it, as the
admin's change form already does with the filters. They are parsed and written again, never followed: every
place this module sends anyone to is the order list or an order page, so no value can point elsewhere.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

FILTERS = "_changelist_filters"
VIA = "via"
VIA_NEXT = "next"
# The tag of the message that offers the next order (the list's messages show a button with it).
OFFER_NEXT_TAG = "offer-next"
# A queue's query string is a handful of filters: anything longer is no queue of the console.
FILTERS_MAX_LENGTH = 1000


@dataclass(frozen=True)
class Flow:
    """The queue's query string ("held=mine", "" for the list as it opens) and whether the person came to the
    order by "Get next order"."""

    filters: str = ""
    via_next: bool = False

    def query(self) -> str:
        """The order page's query string that carries this flow ("" when there is nothing to carry)."""
        params = {}
        if self.filters:
            params[FILTERS] = self.filters
        if self.via_next:
            params[VIA] = VIA_NEXT
        return urlencode(params)

    def queue_url(self) -> str:
        base = reverse("admin:orders_order_changelist")
        return f"{base}?{self.filters}" if self.filters else base

    def order_url(self, order_id: int, anchor: str = "") -> str:
        base = reverse("admin:orders_order_change", args=[order_id])
        query = self.query()
        return f"{base}?{query}{anchor}" if query else f"{base}{anchor}"


def filters_clean(value: str) -> str:
    """A queue's query string, parsed and encoded again (the order list's own parameters only)."""
    if not value or len(value) > FILTERS_MAX_LENGTH:
        return ""
    params = QueryDict(value, mutable=True)
    for name in (FILTERS, VIA):
        params.pop(name, None)
    return params.urlencode()


def flow_read(request: HttpRequest) -> Flow:
    """The flow an order page (or a form posted from it) carries in its URL."""
    return Flow(filters_clean(request.GET.get(FILTERS, "")), request.GET.get(VIA) == VIA_NEXT)


def next_order_offer(request: HttpRequest, flow: Flow) -> None:
    """Someone working through "Get next order" finished an order: the message that offers the next one.
    The order list shows it with the button (console/templates/console/messages.html)."""
    if flow.via_next:
        messages.info(request, _("Ready for the next order?"), extra_tags=OFFER_NEXT_TAG)
