"""One module per platform: each turns the platform's own order JSON into one IncomingOrder.

`order_from_payload(platform)` names the mapping of a platform by its code (stores.models.Platform's values).
"""

from collections.abc import Callable, Mapping
from typing import Any

from stores.incoming import IncomingOrder
from stores.platforms import magento, shopify, shopify_graphql, woocommerce

OrderMapping = Callable[[Mapping[str, Any]], IncomingOrder]

MAPPINGS: dict[str, OrderMapping] = {
    "shopify": shopify.order_from_payload,
    "woocommerce": woocommerce.order_from_payload,
    "magento": magento.order_from_payload,
}
# What polling reads (stores.sync): Shopify's GraphQL Admin API `Order` node; the others' REST orders.
POLL_MAPPINGS: dict[str, OrderMapping] = {
    **MAPPINGS,
    "shopify": shopify_graphql.order_from_graphql,
}
# The store statuses each mapping can give: the keys a store's status map needs for its platform.
STORE_STATUSES: dict[str, tuple[str, ...]] = {
    "shopify": shopify.STORE_STATUSES,
    "woocommerce": woocommerce.STORE_STATUSES,
    "magento": magento.STORE_STATUSES,
}


def order_mapping(platform: str) -> OrderMapping:
    """The mapping of a platform ("shopify", "woocommerce", "magento")."""
    return MAPPINGS[platform]


def poll_mapping(platform: str) -> OrderMapping:
    """The mapping of the orders a poll of the platform reads."""
    return POLL_MAPPINGS[platform]
