"""On PostgreSQL: a webhook and a poll of the same order at once, each on its own connection. Whichever lands
first, the order ends at the newest copy the store sent, exists once, and the older copy changes nothing."""

import json
import threading
import time
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


@pytest.mark.parametrize("interleaving", ["webhooks between the read and the lock", "webhooks at the locks"])
@pytest.mark.parametrize("newer", ["webhook", "poll"])
def test_a_webhook_beside_a_repoll_of_known_orders_applies_each_change_once_forward_only(
    fake_store, polled_store, monkeypatch, newer, interleaving
):
    """Orders we hold, changed in the store: a poll applies its page of them together (one read of what we
    hold, one lock of them all, one UPDATE) while a webhook delivers another copy of each, either after the
    poll read what we hold and before it locks (the copies it read are then old news: the check under the
    lock must see it), or while the poll holds the locks (the webhooks wait, then meet the poll's copies).
    Each order ends at the newest copy, each copy is applied at most once (one version, one history row a
    field), and the older copy never moves the order back."""
    from orders.models import OrderChange
    from stores import services
    from stores.clients import client_for

    store = polled_store("woocommerce")
    numbers = [3001 + n for n in range(ROUNDS)]
    for n in numbers:
        fake_store.add_many("woocommerce", 1, first=n, start=START)
    assert store_sync(store=store).outcomes == {"created": ROUNDS}
    first_version = {order.external_id: order.version for order in Order.objects.filter(store=store)}
    poll_at = START + timedelta(hours=1, seconds=0 if newer == "webhook" else 1)
    hook_at = START + timedelta(hours=1, seconds=1 if newer == "webhook" else 0)
    for n in numbers:
        fake_store.touch("woocommerce", str(n), poll_at, status="on-hold")
    hook_copies = [woocommerce_order(n, hook_at, status="completed", created_at=START) for n in numbers]

    read, locked, delivered = threading.Event(), threading.Event(), threading.Event()
    lock_them = services._store_orders_locked

    def locking(store_, external_ids):
        if interleaving == "webhooks between the read and the lock":
            read.set()
            assert delivered.wait(30)
            return lock_them(store_, external_ids)
        held = lock_them(store_, external_ids)
        locked.set()
        time.sleep(0.5)  # the webhooks arrive and wait for the orders' locks
        return held

    monkeypatch.setattr(services, "_store_orders_locked", locking)

    def webhook(barrier):
        me = Store.objects.get(pk=store.pk)
        assert (read if interleaving == "webhooks between the read and the lock" else locked).wait(30)
        answers = [deliver_woocommerce(me, payload) for payload in hook_copies]
        delivered.set()
        return answers

    def poll(barrier):
        me = Store.objects.get(pk=store.pk)
        client = client_for(me, page_size=ROUNDS)  # one page: all the known orders applied together
        return store_sync(store=me, since=START + timedelta(minutes=30), client=client)

    statuses, result = run_together([webhook, poll])

    assert statuses == [200] * ROUNDS
    assert result.complete and not result.failures and result.pages == 1
    # The poll's copies: older than what the webhooks left (stale, under the lock), or newer (updated).
    assert result.outcomes == (
        {"stale": ROUNDS} if newer == "webhook" and read.is_set() else {"updated": ROUNDS}
    )
    newest_status = {"webhook": "complete", "poll": "on_hold"}[newer]
    for n in numbers:
        order = Order.objects.get(store=store, external_id=str(n))
        assert order.store_updated_at == max(poll_at, hook_at)
        assert order.status_id == newest_status
        changes = list(OrderChange.objects.filter(order=order).values_list("version", "field"))
        assert len(changes) == len(set(changes))  # no change recorded twice
        versions = sorted({version for version, _field in changes})
        # One version for each copy applied: the newer one always, the older one only if it came first.
        assert versions == list(range(first_version[str(n)] + 1, order.version + 1))
        webhooks_first = interleaving == "webhooks between the read and the lock"
        expected = 1 if (newer == "webhook") == webhooks_first else 2
        assert order.version - first_version[str(n)] == expected
        statuses_seen = list(
            OrderChange.objects.filter(order=order, field="status")
            .order_by("version")
            .values_list("new_value", flat=True)
        )
        assert statuses_seen[-1] == newest_status and len(statuses_seen) == expected
