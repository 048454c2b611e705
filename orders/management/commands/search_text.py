"""Find the orders whose search row (OrderSearch, orders/search_text.py) is missing or disagrees with their
name, email, phone and city or with its created_at, and with --fix write it: after ORDEROPS["PHONE_REGION"]
changed, or after rows were written by hand-made SQL."""

from django.core.management.base import BaseCommand, CommandError

from orders.models import Order, order_search_write, orders_search_stale
from orders.search_text import SEARCH_SOURCE_FIELDS

BATCH = 2000
SHOWN = 10  # numbers of disagreeing orders named in the output


class Command(BaseCommand):
    help = (
        "Check every order's search row (exit status 1 when some are missing or disagree); --fix writes them."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--fix", action="store_true", help="Write the search rows that are missing or disagree."
        )

    def handle(self, *args, fix: bool = False, **options) -> None:
        checked, fixed, missing, last = 0, 0, 0, 0
        stale: list[str] = []
        while True:
            batch = list(
                Order.objects.filter(pk__gt=last)
                .order_by("pk")
                .only("pk", "number", "created_at", *SEARCH_SOURCE_FIELDS)[:BATCH]
            )
            if not batch:
                break
            last = batch[-1].pk
            checked += len(batch)
            disagreeing, absent = orders_search_stale(batch)
            missing += len(absent)
            stale.extend(order.number for order in batch if order.pk in disagreeing)
            if fix and disagreeing:
                fixed += order_search_write(disagreeing)
        shown = ", ".join(f"#{number}" for number in stale[:SHOWN]) + (" ..." if len(stale) > SHOWN else "")
        if not stale:
            self.stdout.write(f"{checked} orders checked: every search row agrees.")
        elif fix:
            self.stdout.write(
                f"{checked} orders checked: {fixed} search rows written, {missing} of them missing ({shown})."
            )
        else:
            raise CommandError(
                f"{checked} orders checked: {len(stale)} search rows disagree, {missing} of them missing"
                f" ({shown}). Run `manage.py search_text --fix`."
            )
