"""On PostgreSQL: four workers send 200 changes of 50 orders at once, each on its own connection: every change
reaches the store once, and each order's changes in the order they were made."""

import pytest

from orderops.outbox import worker_name
from orders.models import Order
from orders.services import orders_status_set
from stores.models import StoreChange
from stores.outbox import changes_send
from stores.platforms import order_mapping
from stores.services import store_order_apply
from tests.operators.test_races import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ORDERS = 50
# Four changes per order, each to another status: 200 changes.
STATUSES = ["on_hold", "processing", "pending", "canceled"]


def test_four_workers_send_each_change_once_in_order_per_order(
    fake_store, polled_store, supervisor, settings
):
    settings.ORDEROPS_STORES = {"RETRY_BASE": 0.001, "HTTP_TIMEOUT": 5}
    store = polled_store("magento")
    built = fake_store.add_many("magento", ORDERS)
    ids = [
        store_order_apply(store=store, incoming=order_mapping("magento")(payload), via="poll").order_id
        for payload in built
    ]
    for status in STATUSES:
        orders_status_set(actor=supervisor, order_ids=ids, status_code=status)
    assert StoreChange.objects.count() == ORDERS * len(STATUSES)

    def worker(barrier):
        name, sent = worker_name(), 0
        for _ in range(400):
            pass_ = changes_send(worker=name, limit=5)
            sent += pass_.sent
            if not pass_.claimed and not StoreChange.objects.filter(state=StoreChange.State.PENDING).exists():
                break
        return sent

    sent = run_together([worker] * 4)

    assert sum(sent) == ORDERS * len(STATUSES)
    assert all(count > 0 for count in sent)  # the workers shared the work
    assert set(StoreChange.objects.values_list("state", flat=True)) == {StoreChange.State.SENT}
    mapped = {"on_hold": "holded", "processing": "processing", "pending": "pending", "canceled": "canceled"}
    for order in Order.objects.filter(pk__in=ids):
        comments = [body for _p, _id, what, body in fake_store.writes_of("magento", order.external_id)]
        assert [c["statusHistory"]["status"] for c in comments] == [mapped[s] for s in STATUSES], order.number
