"""Reads of the connected stores that the surfaces share."""

from django.core.cache import cache

from stores.models import Store

SEVERAL_STORES_KEY = "orderops:stores:several"  # also forgotten by Store.save() for a new store
# How long the console trusts its answer; connecting or changing a store forgets it at once.
SEVERAL_STORES_TTL = 60


def orders_from_several_stores() -> bool:
    """Whether orders come from more than one connected store, so that the order list and page show each
    order's store (two stores may both have #1001). Cached: the list asks on every page view."""
    several = cache.get(SEVERAL_STORES_KEY)
    if several is None:
        several = Store.objects.count() > 1
        cache.set(SEVERAL_STORES_KEY, several, SEVERAL_STORES_TTL)
    return bool(several)


def several_stores_forget() -> None:
    cache.delete(SEVERAL_STORES_KEY)
