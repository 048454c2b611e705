"""store_simulate: act as a connected store for a demo: send signed webhook deliveries, built from the real
fixture payloads (stores/simulation.py), to the running console, so that orders arrive in the open console
live. Magento Open Source sends no webhooks: for a Magento store the orders are applied as a poll applies
them (stores.services.store_order_apply, via "poll"), in this process, into the database the console uses."""

import json
import time
import uuid
from datetime import UTC
from typing import Any

import httpx
from django.core.management.base import BaseCommand, CommandError
from django.db.models import IntegerField, Max
from django.db.models.functions import Cast
from django.utils import timezone

from orders.models import Order
from stores.incoming import PayloadError
from stores.models import Platform, Store
from stores.platforms import magento
from stores.services import store_order_apply
from stores.signatures import signature_for
from stores.simulation import magento_order, shopify_rest_order, woocommerce_order

DEFAULT_URL = "http://127.0.0.1:8000"
# The first order number a simulated store uses when it has none yet (then one after its highest).
FIRST_NUMBERS = {Platform.SHOPIFY: 5001, Platform.WOOCOMMERCE: 7001, Platform.MAGENTO: 3001}


class Command(BaseCommand):
    help = (
        "Send signed webhook deliveries of new orders, built from the platforms' real payloads, to the"
        " running console (POST <url>/hooks/<slug>/), as the store would. For a Magento store (no webhooks),"
        " apply them as a poll would."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--store", required=True, metavar="SLUG", help="The connected store to act as.")
        parser.add_argument("--orders", type=int, default=5, metavar="N", help="How many orders (default 5).")
        parser.add_argument(
            "--url",
            default=DEFAULT_URL,
            help=f"The running console's address (default {DEFAULT_URL}, where make demo serves).",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            metavar="SECONDS",
            help="Seconds between two orders (default 1): they arrive one by one in the open console.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count, interval = options["orders"], options["interval"]
        if count < 1:
            raise CommandError(f"--orders must be at least 1, got {count}.")
        if interval < 0:
            raise CommandError(f"--interval must be zero or more seconds, got {interval}.")
        store = self.store(options["store"])
        first = self.first_number(store)
        failed = 0
        with httpx.Client(base_url=options["url"].rstrip("/"), timeout=10) as http:
            for n in range(first, first + count):
                if n != first and interval:
                    time.sleep(interval)
                if store.platform == Platform.MAGENTO:
                    failed += not self.apply_as_poll(store, n)
                else:
                    failed += not self.deliver(http, store, n)
        if failed:
            raise CommandError(f"{failed} of {count} orders were not taken by {store.slug}: see above.")
        self.stdout.write(
            self.style.SUCCESS(
                f"{count} order{'' if count == 1 else 's'} sent as {store.name} ({store.slug}):"
                " open the order list to see them."
            )
        )

    def store(self, slug: str) -> Store:
        store = Store.objects.filter(slug=slug).first()
        if store is None:
            known = ", ".join(Store.objects.order_by("slug").values_list("slug", flat=True)) or "none"
            raise CommandError(f"No store {slug} (stores: {known}). Connect one with store_connect.")
        if not store.active:
            raise CommandError(
                f"Store {slug} is disconnected (inactive): its webhooks would be answered 404."
            )
        if store.platform != Platform.MAGENTO and not store.webhook_secret:
            raise CommandError(
                f"Store {slug} has no webhook secret to sign deliveries with: set one with store_connect"
                " --webhook-secret."
            )
        return store

    def first_number(self, store: Store) -> int:
        """One after the store's highest numeric id, so that every simulated order is a new one."""
        highest = (
            Order.objects.filter(store=store, external_id__regex=r"^[0-9]{1,9}$")
            .annotate(numeric_id=Cast("external_id", IntegerField()))
            .aggregate(highest=Max("numeric_id"))["highest"]
        )
        return max(FIRST_NUMBERS[Platform(store.platform)], (highest or 0) + 1)

    def deliver(self, http: httpx.Client, store: Store, n: int) -> bool:
        now = timezone.now().replace(microsecond=0)
        if store.platform == Platform.SHOPIFY:
            payload = shopify_rest_order(n, now, financial_status="paid")
            topic = "orders/create"
            headers = {
                "X-Shopify-Topic": topic,
                "X-Shopify-Event-Id": str(uuid.uuid4()),
                "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                "X-Shopify-Triggered-At": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "X-Shopify-Shop-Domain": store.base_url.split("//", 1)[-1].rstrip("/"),
                "X-Shopify-API-Version": "2025-07",
                "X-Shopify-Order-Id": str(n),
            }
            signature_header = "X-Shopify-Hmac-Sha256"
            number = payload["name"]
        else:
            payload = woocommerce_order(n, now, status="processing")
            topic = "order.created"
            headers = {
                "X-WC-Webhook-Source": store.base_url.rstrip("/") + "/",
                "X-WC-Webhook-Topic": topic,
                "X-WC-Webhook-Resource": "order",
                "X-WC-Webhook-Event": "created",
                "X-WC-Webhook-ID": "1",
                "X-WC-Webhook-Delivery-ID": str(int(time.time() * 1000) % 1_000_000_000),
            }
            signature_header = "X-WC-Webhook-Signature"
            number = f"#{payload['number']}"
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers[signature_header] = signature_for(store.webhook_secret, body)
        headers["Content-Type"] = "application/json"
        path = f"/hooks/{store.slug}/"
        started = time.perf_counter()
        try:
            response = http.post(path, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise CommandError(
                f"{http.base_url}{path} did not answer ({type(error).__name__}: {error}). Is the console"
                " running (make demo)? Give its address with --url."
            ) from error
        took = (time.perf_counter() - started) * 1000
        ok = response.is_success
        line = f"{store.slug}: {topic} {number} -> {response.status_code} ({took:.0f} ms)"
        if not ok:
            line += f": {response.text[:200]}"
        self.stdout.write(line if ok else self.style.ERROR(line))
        return ok

    def apply_as_poll(self, store: Store, n: int) -> bool:
        now = timezone.now().replace(microsecond=0)
        try:
            incoming = magento.order_from_payload(magento_order(n, now, status="pending", created_at=now))
            result = store_order_apply(store=store, incoming=incoming, via="poll")
        except PayloadError as error:
            self.stdout.write(self.style.ERROR(f"{store.slug}: order {n} could not be applied: {error}"))
            return False
        self.stdout.write(
            f"{store.slug}: order #{incoming.number} {result.outcome} as a poll would apply it (Magento sends"
            " no webhooks)"
        )
        return True
