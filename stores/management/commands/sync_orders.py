"""sync_orders: poll connected stores for the orders they changed and apply them (stores/sync.py)."""

import json
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from orderops.durations import duration_argument
from orderops.progress import Progress
from stores.models import Store
from stores.sync import StoreSyncResult, store_sync


class Command(BaseCommand):
    help = (
        "Fetch the orders a store changed since its sync cursor (or --since, or --full), page by page, and"
        " apply them as webhooks are applied. Resumable and idempotent: run it from cron to catch missed"
        " webhooks; for Magento Open Source it is the way orders come in. One summary line per store."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--store",
            action="append",
            dest="stores",
            metavar="SLUG",
            help="The store to poll (repeat for several). Without it: every active store.",
        )
        window = parser.add_mutually_exclusive_group()
        window.add_argument(
            "--since",
            type=duration_argument,
            metavar="DURATION",
            help="Orders changed in this last while (90m, 8h, 2d) instead of since the store's cursor.",
        )
        window.add_argument("--full", action="store_true", help="Every order the store has, from the first.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Read and map the orders and say what would change; write nothing (the cursor neither).",
        )
        parser.add_argument(
            "--json", action="store_true", help="One JSON object per store instead of a line."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stores = self.stores(options["stores"])
        since = timezone.now() - options["since"] if options["since"] else None
        results = []
        for store in stores:
            bar: Progress | None = None

            def advance(done: int, total: int | None, slug: str = store.slug) -> None:
                nonlocal bar
                if bar is None:  # the total is known once the store answered its first page
                    bar = Progress(
                        total or 0, f"{slug}: syncing", stream=self.stderr, enabled=not options["json"]
                    )
                bar.update(done)

            try:
                result = store_sync(
                    store=store,
                    since=since,
                    full=options["full"],
                    dry_run=options["dry_run"],
                    progress=advance,
                )
            finally:
                if bar is not None:
                    bar.finish()
            results.append(result)
            if options["json"]:
                self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
            else:
                self.stdout.write(summary_line(result))
        troubled = [result for result in results if result.stopped or result.failures]
        if troubled:
            raise CommandError(
                "; ".join(
                    f"{result.store}: "
                    + (f"stopped ({result.stopped})" if result.stopped else f"{result.failed} orders failed")
                    for result in troubled
                )
            )

    def stores(self, slugs: list[str] | None) -> list[Store]:
        if not slugs:
            found = list(Store.objects.filter(active=True).order_by("slug"))
            if not found:
                raise CommandError("No active store to poll: connect one with store_connect.")
            return found
        by_slug = {store.slug: store for store in Store.objects.filter(slug__in=slugs)}
        unknown = [slug for slug in slugs if slug not in by_slug]
        if unknown:
            known = ", ".join(Store.objects.order_by("slug").values_list("slug", flat=True)) or "none"
            raise CommandError(f"No store {', '.join(unknown)} (stores: {known}).")
        inactive = [slug for slug in slugs if not by_slug[slug].active]
        if inactive:
            raise CommandError(
                f"Store {', '.join(inactive)} is disconnected (inactive): connect it again first."
            )
        return [by_slug[slug] for slug in dict.fromkeys(slugs)]


def when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "the first order"


def summary_line(result: StoreSyncResult) -> str:
    """`acme-shop: 250 orders in 3 pages, 1.2 s (208 orders/s): 240 created, 10 updated; synchronised up to
    2026-11-01 08:04:10 UTC.`"""
    counts = ", ".join(f"{count} {name}" for name, count in sorted(result.outcomes.items())) or "nothing new"
    rate = f", {result.read / result.seconds:.0f} orders/s" if result.seconds and result.read else ""
    waited = f", {result.waited:.1f} s waiting for the store" if result.waited else ""
    pages = f"{result.pages} {'page' if result.pages == 1 else 'pages'}, {result.seconds:.1f} s{rate}{waited}"
    orders = "order" if result.read == 1 else "orders"
    line = f"{result.store}: {result.read} {orders} read in {pages}: {counts}"
    if result.dry_run:
        line += f" (dry run: nothing written; the cursor stays at {when(result.cursor)})"
    elif result.cursor_moved:
        line += f"; synchronised up to {when(result.cursor)}"
    else:
        line += f"; the cursor stays at {when(result.cursor)}"
    if result.failures:
        first = result.failures[0]
        line += (
            f". {result.failed} failed, first: {first.number or first.external_id}: {first.reason}"
            " (the cursor waits at the first failure: the next run tries again)"
        )
    if result.stopped:
        line += f". Stopped early: {result.stopped}"
    return line + "."
