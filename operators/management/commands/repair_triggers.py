"""Install the assignment domain's database triggers again at their current version, and refill what they
keep (the free orders, the counters) from the holds and the log."""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection

from operators.triggers import triggers_install
from operators.verification import free_order_differences, hold_count_differences


class Command(BaseCommand):
    help = (
        "Drop and create every trigger (the holds' and the search rows' created_at copies, the free"
        " orders, the counters) at its current version, in one transaction, and refill the copies, the free"
        " orders and the counters from the orders, the holds and the log. Safe while operators work; run it"
        " when verify_assignment_log reports a free order or a counter that disagrees, or after a restore or"
        " a tool that rebuilt a table without them."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        installed = triggers_install()
        markers = free_order_differences(max_listed=10)
        counts = hold_count_differences()
        self.stdout.write(
            f"Triggers installed again on {connection.vendor} ({installed.statements} statements): the free"
            " orders and the counters were refilled from the holds and the log."
        )
        self.stdout.write(
            "The free orders and the hold counts now agree with the holds."
            if not markers and not counts
            else f"Still differing: {len(markers)} free order(s), {len(counts)} count(s)."
        )
