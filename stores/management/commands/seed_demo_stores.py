"""seed_demo_stores: the demo's three connected stores, one per platform, each with a few orders that came
from it (a step of `make demo`, after seed_demo; safe to run again)."""

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from stores.incoming import IncomingOrder
from stores.models import Platform, Store
from stores.platforms import magento, shopify, woocommerce
from stores.services import store_order_apply
from stores.simulation import magento_order, shopify_rest_order, woocommerce_order

# slug, platform, name, address, credentials. The addresses are examples: the demo's stores send their
# orders with store_simulate (README, "Connected stores"); sync_orders would need a real store there.
DEMO_STORES: list[tuple[str, str, str, str, dict[str, str]]] = [
    (
        "demo-shopify",
        Platform.SHOPIFY,
        "Demo Shopify",
        "https://orderops-demo.myshopify.com",
        {"webhook_secret": "demo-shopify-webhook-secret", "access_token": "shpat_demo_not_a_real_token"},
    ),
    (
        "demo-woocommerce",
        Platform.WOOCOMMERCE,
        "Demo WooCommerce",
        "https://woocommerce-demo.example.com",
        {
            "webhook_secret": "demo-woocommerce-webhook-secret",
            "api_key": "ck_demo_not_a_real_key",
            "api_secret": "cs_demo_not_a_real_secret",
        },
    ),
    (
        "demo-magento",
        Platform.MAGENTO,
        "Demo Magento",
        "https://magento-demo.example.com",
        {"access_token": "demo_magento_not_a_real_token"},
    ),
]
ORDERS_PER_STORE = 3
BUILDERS: dict[str, tuple[Callable[..., dict], Callable[[Mapping[str, Any]], IncomingOrder], int]] = {
    Platform.SHOPIFY: (shopify_rest_order, shopify.order_from_payload, 1001),
    Platform.WOOCOMMERCE: (woocommerce_order, woocommerce.order_from_payload, 6001),
    Platform.MAGENTO: (magento_order, magento.order_from_payload, 2001),
}


class Command(BaseCommand):
    help = "Connect the demo's three stores (Shopify, WooCommerce, Magento), each with a few orders from it."

    def handle(self, *args: Any, **options: Any) -> None:
        # The apply service logs each order it applies; seeding nine says nothing an operator needs, and
        # `make demo` shows this command's output (its stderr) before the server's lines.
        service_log = logging.getLogger("orderops")
        level = service_log.level
        service_log.setLevel(max(level, logging.WARNING))
        try:
            self.seed()
        finally:
            service_log.setLevel(level)

    def seed(self) -> None:
        now = timezone.now().replace(microsecond=0)
        with transaction.atomic():
            for slug, platform, name, base_url, credentials in DEMO_STORES:
                store, created = Store.objects.get_or_create(
                    slug=slug,
                    defaults={"platform": platform, "name": name, "base_url": base_url, **credentials},
                )
                if not created:
                    # Put the demo's secrets back (store_simulate signs with them), keep the rest.
                    Store.objects.filter(pk=store.pk).update(active=True, **credentials)
                    store.refresh_from_db()
                applied = 0
                if not store.orders.exists():
                    build, mapping, first = BUILDERS[Platform(platform)]
                    for n in range(first, first + ORDERS_PER_STORE):
                        changed = now - timedelta(hours=ORDERS_PER_STORE + first - n)
                        incoming = mapping(build(n, changed, created_at=changed - timedelta(minutes=5)))
                        store_order_apply(store=store, incoming=incoming, via="poll")
                        applied += 1
                total = store.orders.count()
                self.stdout.write(
                    f"{store.name}: /hooks/{store.slug}/ ({applied} orders added, {total} in all)"
                )
