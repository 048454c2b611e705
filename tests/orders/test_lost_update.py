"""Invariant 9 on PostgreSQL: two editors who loaded the same version save at the same moment, each on its
own connection; exactly one save lands, the other is refused with what changed, and nothing is lost."""

import pytest

from operators.services import orders_assign
from orders.history import history_replays
from orders.models import Order, OrderChange
from orders.services import OrderStale, order_update
from tests.factories import OrderFactory
from tests.operators.test_races import fresh, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.pgbouncer, pytest.mark.django_db(transaction=True)]

ROUNDS = 12


@pytest.mark.parametrize(
    ("first", "second"),
    [("operator", "supervisor"), ("supervisor", "superuser"), ("operator", "operator")],
    ids=["holder vs supervisor", "supervisor vs supervisor", "one user in two tabs"],
)
def test_two_saves_from_one_version_at_once_land_once(request, operator, first, second):
    editors = [request.getfixturevalue(first), request.getfixturevalue(second)]
    orders = OrderFactory.create_batch(ROUNDS)
    orders_assign(actor=operator, order_ids=[order.pk for order in orders])
    fields = ["shipping_street", "customer_phone"]

    def editor(index):
        def work(barrier):
            me, outcomes = fresh(editors[index]), []
            for round_no, order in enumerate(orders):
                loaded = Order.objects.get(pk=order.pk).version
                barrier.wait()
                try:
                    order_update(
                        actor=me,
                        order_id=order.pk,
                        version=loaded,
                        changes={fields[index]: f"editor {index} round {round_no}"},
                    )
                    outcomes.append("saved")
                except OrderStale as stale:
                    outcomes.append(("stale", [change.field for change in stale.changes]))
            return outcomes

        return work

    results = run_together([editor(0), editor(1)])

    for round_no, order in enumerate(orders):
        outcomes = [results[0][round_no], results[1][round_no]]
        assert outcomes.count("saved") == 1, (round_no, outcomes)
        winner = outcomes.index("saved")
        loser = 1 - winner
        # The refusal names the winner's field; the winner's value survives, the loser's never landed.
        assert outcomes[loser] == ("stale", [fields[winner]])
        saved = Order.objects.get(pk=order.pk)
        assert getattr(saved, fields[winner]) == f"editor {winner} round {round_no}"
        assert getattr(saved, fields[loser]) == getattr(order, fields[loser])
        assert saved.version == 2
        assert OrderChange.objects.filter(order=order).count() == 1
        assert history_replays(saved) == []
