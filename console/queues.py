"""The saved queues of the console's navigation (My orders, Unassigned open, Held by others, On hold, All),
their counts, and where a person lands after logging in.

The counts are fetched by the page after it has loaded (live:sync from console/static/console/live.js,
every ORDEROPS["QUEUE_COUNTS_INTERVAL"] seconds while the tab is visible), so that the order list keeps its
own query budget; each count is the same filter the list applies. What every person's counts share is counted
once per ORDEROPS["QUEUE_COUNTS_SHARED_FOR"] seconds for all of them (Django's cache).
"""

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from console.paginator import ESTIMATE_ABOVE, planner_estimate
from operators.models import Assignment
from operators.selectors import held_counts, open_unassigned_count
from orderops.conf import orderops_setting
from orderops.types import Actor
from orders.models import Order

StrOrPromise = str | Promise


@dataclass(frozen=True)
class Queue:
    key: str
    label: StrOrPromise
    params: dict[str, str]

    @property
    def url(self) -> str:
        base = reverse("admin:orders_order_changelist")
        return f"{base}?{urlencode(self.params)}" if self.params else base


QUEUES = (
    Queue("mine", _("My orders"), {"held": "mine"}),
    Queue("open", _("Unassigned open"), {"held": "open"}),
    Queue("others", _("Held by others"), {"held": "others"}),
    Queue("on_hold", _("On hold"), {"status__code__exact": "on_hold"}),
    Queue("all", _("All orders"), {}),
)


def queue_of(params) -> Queue | None:
    """The navigation's queue whose filters `params` (a list's query) are (All orders with none), or None; a
    sort order or a page number leaves it that queue."""
    filters = {key: params.get(key) for key in params if key not in NOT_FILTERS}
    return next((queue for queue in QUEUES if filters == queue.params), None)


def queue_title(params) -> StrOrPromise:
    """The name of the navigation's queue whose filters `params` are, or "Orders"."""
    queue = queue_of(params)
    return queue.label if queue is not None else _("Orders")


# A list's query parameters that choose how it is shown, not which orders (the admin's sort and page).
NOT_FILTERS = frozenset({"o", "p", "_changelist_filters"})


# Where the counts everybody's navigation shows alike are kept between processes (Django's cache).
SHARED_COUNTS_KEY = "orderops:queue-counts"


def _shared_counts(*, fresh: bool) -> dict:
    """What every person's counts are made of: the holds per operator, the unassigned open orders, the
    orders on hold, all orders. Counted once per ORDEROPS["QUEUE_COUNTS_SHARED_FOR"] seconds and kept in
    Django's cache for every tab of every person (and every process, when the cache is shared: Redis), so
    that a hundred open tabs count them once, not a hundred times; `fresh` counts them now (and shares
    that)."""
    shared_for = orderops_setting("QUEUE_COUNTS_SHARED_FOR")
    if shared_for and not fresh:
        shared = cache.get(SHARED_COUNTS_KEY)
        if shared is not None:
            return shared
    everything = Order.objects.all()
    estimate = planner_estimate(everything)
    shared = {
        # The holds per operator from their counters (kept by the database with the holds): no count of them.
        "held": held_counts(),
        # The list's own filter (orders_in_queue, HoldQueue.OPEN), counted over the free orders' table.
        "open": open_unassigned_count(),
        "on_hold": everything.filter(status_id="on_hold").count(),
        "all": {"count": estimate, "estimated": True}
        if estimate is not None and estimate > ESTIMATE_ABOVE
        else {"count": everything.count(), "estimated": False},
    }
    if shared_for:
        cache.set(SHARED_COUNTS_KEY, shared, shared_for)
    return shared


def queue_counts(user: Actor | AnonymousUser, *, fresh: bool = False) -> dict[str, dict]:
    """{queue key: {"count": n, "estimated": bool}}: four counts, and the planner's estimate of all orders
    when there are many (as the list's own paginator says "about"). Up to ORDEROPS["QUEUE_COUNTS_SHARED_FOR"]
    seconds old unless `fresh` (_shared_counts)."""
    shared = _shared_counts(fresh=fresh)
    held = shared["held"]
    mine = held.get(user.pk, 0) if user.pk is not None else 0
    counts = {
        "mine": mine,
        "open": shared["open"],
        "others": sum(held.values()) - mine,
        "on_hold": shared["on_hold"],
    }
    result = {key: {"count": count, "estimated": False} for key, count in counts.items()}
    result["all"] = dict(shared["all"])
    return result


def landing_url(user: Actor | AnonymousUser) -> str:
    """An operator's working view: their own orders when they hold any, otherwise what is left to take."""
    if user.is_authenticated and Assignment.objects.filter(operator_id=user.pk).exists():
        return QUEUES[0].url
    return QUEUES[1].url
