"""store_connect: connect a Shopify, WooCommerce or Magento store (or change a connected one), and print the
webhook address to register in the store's admin."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from stores.models import Platform
from stores.services import store_connect

# What to register in each platform's admin, after the address.
REGISTER_HINT = {
    Platform.SHOPIFY: (
        "Shopify admin > Settings > Notifications > Webhooks (or your app's subscriptions): JSON format, "
        "topics orders/create, orders/updated, orders/cancelled, orders/fulfilled, orders/paid, "
        "orders/edited, orders/delete; the signing secret shown there is --webhook-secret."
    ),
    Platform.WOOCOMMERCE: (
        "WordPress admin > WooCommerce > Settings > Advanced > Webhooks: one webhook per topic "
        "(Order created, Order updated, Order deleted), API version WP REST API v3, the same secret as "
        "--webhook-secret."
    ),
    Platform.MAGENTO: (
        "Magento has no webhooks: run `python manage.py sync_orders --store {slug}` from cron (every few "
        "minutes) to poll it."
    ),
}


class Command(BaseCommand):
    help = (
        "Connect a store (or change the one with this slug; it becomes active again) and print its webhook "
        "address. A secret not given keeps its stored value; secrets are never printed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--platform", required=True, choices=[choice.value for choice in Platform])
        parser.add_argument("--slug", required=True, help="The store's address here: /hooks/SLUG/.")
        parser.add_argument("--name", required=True, help='Shown as who changed an order ("Shopify").')
        parser.add_argument(
            "--url", required=True, help="The store's address: https://, or http:// on this machine only."
        )
        parser.add_argument("--webhook-secret", help="The secret the store signs its webhooks with.")
        parser.add_argument("--api-key", help="WooCommerce: the REST API consumer key (read access).")
        parser.add_argument("--api-secret", help="WooCommerce: the REST API consumer secret.")
        parser.add_argument(
            "--access-token", help="Shopify: the Admin API access token; Magento: the integration's token."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = store_connect(
                platform=options["platform"],
                slug=options["slug"],
                name=options["name"],
                base_url=options["url"],
                webhook_secret=options["webhook_secret"],
                api_key=options["api_key"],
                api_secret=options["api_secret"],
                access_token=options["access_token"],
            )
        except ValidationError as error:
            problems = "; ".join(
                f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()
            )
            raise CommandError(f"The store was not saved: {problems}") from None
        store = result.store
        verb = "Connected" if result.created else "Updated"
        self.stdout.write(
            f"{verb} {store.platform_label} store {store.slug!r} ({store.name}, {store.base_url})."
        )
        if result.secrets_set:
            self.stdout.write(f"Secrets set: {', '.join(result.secrets_set)} (never shown again).")
        if store.platform != Platform.MAGENTO:
            self.stdout.write(f"Webhook address: {store.webhook_url}")
            if not store.webhook_secret:
                self.stderr.write(
                    "No webhook secret yet: every delivery is refused (401) until --webhook-secret is set."
                )
        self.stdout.write(REGISTER_HINT[Platform(store.platform)].format(slug=store.slug))
