"""Find the orders whose search column disagrees with their name, email, phone and city
(orders/search_text.py), and with --fix rewrite it: after ORDEROPS["PHONE_REGION"] changed, or after rows
were written by hand-made SQL."""

from django.core.management.base import BaseCommand, CommandError

from orders.models import Order, orders_search_text_refresh
from orders.search_text import SEARCH_SOURCE_FIELDS, search_text_of

BATCH = 2000
SHOWN = 10  # numbers of disagreeing orders named in the output


class Command(BaseCommand):
    help = "Check every order's search column (exit status 1 when some disagree); --fix rewrites them."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--fix", action="store_true", help="Rewrite the search column where it disagrees."
        )

    def handle(self, *args, fix: bool = False, **options) -> None:
        checked, fixed, last = 0, 0, 0
        stale: list[str] = []
        while True:
            batch = list(
                Order.objects.filter(pk__gt=last)
                .order_by("pk")
                .only("pk", "number", "search_text", *SEARCH_SOURCE_FIELDS)[:BATCH]
            )
            if not batch:
                break
            last = batch[-1].pk
            checked += len(batch)
            disagreeing = [order for order in batch if order.search_text != search_text_of(order)]
            stale.extend(order.number for order in disagreeing)
            if fix and disagreeing:
                fixed += orders_search_text_refresh(Order.objects.filter(pk__in=[o.pk for o in disagreeing]))
        shown = ", ".join(f"#{number}" for number in stale[:SHOWN]) + (" ..." if len(stale) > SHOWN else "")
        if not stale:
            self.stdout.write(f"{checked} orders checked: every search column agrees.")
        elif fix:
            self.stdout.write(f"{checked} orders checked: {fixed} search columns rewritten ({shown}).")
        else:
            raise CommandError(
                f"{checked} orders checked: {len(stale)} search columns disagree ({shown}). "
                "Run `manage.py search_text --fix`."
            )
