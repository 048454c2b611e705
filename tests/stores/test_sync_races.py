"""On PostgreSQL: a webhook and a poll of the same order at once, each on its own connection. Whichever lands
first, the order ends at the newest copy the store sent, exists once, and the older copy changes nothing."""

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from orders.models import Order
from stores.models import Delivery, Store
from stores.signatures import signature_for
from stores.simulation import woocommerce_order
from stores.sync import store_sync
from tests.operators.test_races import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 8
START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


class ClientAtBarrier:
    """The store's real client, but each page waits at the barrier before the sync applies it, so that the
    poll's apply and the webhook's start together."""

    def __init__(self, client, barrier: threading.Barrier) -> None:
        self.client, self.barrier = client, barrier
        self.waited = 0.0

    def pages(self, since):
        for page in self.client.pages(since):
            if page.payloads:  # a page that only repeats an order already given applies nothing
                self.barrier.wait(timeout=30)
            yield page

    def updated_at(self, payload):
        return self.client.updated_at(payload)

    def close(self):
        self.client.close()


def deliver_woocommerce(store: Store, payload: dict) -> int:
    body = json.dumps(payload).encode()
    response = Client(raise_request_exception=False).post(
        f"/hooks/{store.slug}/",
        body,
        content_type="application/json",
        HTTP_X_WC_WEBHOOK_TOPIC="order.updated",
        HTTP_X_WC_WEBHOOK_RESOURCE="order",
        HTTP_X_WC_WEBHOOK_EVENT="updated",
        HTTP_X_WC_WEBHOOK_ID="1",
        HTTP_X_WC_WEBHOOK_DELIVERY_ID="1",
        HTTP_X_WC_WEBHOOK_SIGNATURE=signature_for(store.webhook_secret, body),
    )
    return response.status_code


@pytest.mark.parametrize("newer", ["webhook", "poll", "same"])
def test_a_webhook_and_a_poll_of_one_order_at_once_leave_it_once_at_the_newest_copy(
    fake_store, polled_store, newer
):
    from stores.clients import client_for

    store = polled_store("woocommerce")
    # Each round: one new order, polled at T and delivered by webhook at T+1 s (or the other way round,
    # or both the same copy).
    poll_at = {"webhook": 0, "poll": 1, "same": 0}[newer]
    hook_at = {"webhook": 1, "poll": 0, "same": 0}[newer]
    rounds = [(2001 + n, START + timedelta(minutes=n)) for n in range(ROUNDS)]
    hook_copies = [
        woocommerce_order(
            n, at + timedelta(seconds=hook_at), status="completed" if newer == "webhook" else "processing"
        )
        for n, at in rounds
    ]
    for n, at in rounds:
        fake_store.add_many(
            "woocommerce",
            1,
            first=n,
            start=at + timedelta(seconds=poll_at),
            status="on-hold" if newer == "poll" else "processing",
        )

    def webhook(barrier):
        me = Store.objects.get(pk=store.pk)
        return [(barrier.wait(timeout=30), deliver_woocommerce(me, payload))[1] for payload in hook_copies]

    def poll(barrier):
        me = Store.objects.get(pk=store.pk)
        # One order a page, so that every page (one order) meets its webhook at the barrier.
        client = client_for(me, page_size=1)
        return store_sync(store=me, full=True, client=ClientAtBarrier(client, barrier))

    statuses, result = run_together([webhook, poll])

    assert statuses == [200] * ROUNDS
    assert result.complete and not result.failures
    orders = Order.objects.filter(store=store)
    assert orders.count() == ROUNDS  # each order once, though both ways created it at once
    expected_status = {"webhook": "complete", "poll": "on_hold", "same": "processing"}[newer]
    for n, at in rounds:
        order = orders.get(external_id=str(n))
        assert order.store_updated_at == at + timedelta(seconds=max(poll_at, hook_at))
        assert order.status_id == expected_status
        # Created once, changed at most once more (by the newer copy): never by the older one after it.
        assert order.version <= (1 if newer == "same" else 2)
    assert Delivery.objects.filter(store=store).count() == ROUNDS


def test_a_second_sync_of_a_store_while_one_runs_reads_nothing_and_says_why(fake_store, polled_store):
    from django.db import connection, connections

    from stores.sync import SYNC_LOCK_NAMESPACE

    store = polled_store("magento")
    fake_store.add_many("magento", 3, start=START)
    running, done = threading.Event(), threading.Event()

    def the_first_sync() -> None:  # holds what a running sync holds, on its own connection
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s, %s)", [SYNC_LOCK_NAMESPACE, store.pk])
                running.set()
                done.wait(30)
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [SYNC_LOCK_NAMESPACE, store.pk])
        finally:
            connections.close_all()

    first = threading.Thread(target=the_first_sync)
    first.start()
    assert running.wait(30)
    try:
        second = store_sync(store=store)
    finally:
        done.set()
        first.join(30)
    assert "another sync of this store is running" in second.stopped and second.read == 0
    assert not Order.objects.filter(store=store).exists() and fake_store.requests == []
    assert store_sync(store=Store.objects.get(pk=store.pk)).outcomes == {"created": 3}
