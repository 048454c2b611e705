"""Reads of the connected stores that the surfaces share."""

from django.core.cache import cache

from stores.models import Store

SEVERAL_STORES_KEY = "orderops:stores:several"  # also forgotten by Store.save() for a new store
# How long the console trusts its answer; connecting or changing a store forgets it at once.
SEVERAL_STORES_TTL = 60


def stores_connected() -> int:
    """How many stores are connected (active or not: their orders stay). Cached: the list asks on every page
    view; the one cached number answers both questions below."""
    count = cache.get(SEVERAL_STORES_KEY)
    if not isinstance(count, int) or isinstance(count, bool):
        count = Store.objects.count()
        cache.set(SEVERAL_STORES_KEY, count, SEVERAL_STORES_TTL)
    return count


def orders_from_several_stores() -> bool:
    """Whether orders come from more than one connected store, so that the order list and page show each
    order's store (two stores may both have #1001)."""
    return stores_connected() > 1


def orders_from_stores() -> bool:
    """Whether any store is connected, so that the order list shows what the store says of each order's
    payment and fulfilment."""
    return stores_connected() > 0


def several_stores_forget() -> None:
    cache.delete(SEVERAL_STORES_KEY)
