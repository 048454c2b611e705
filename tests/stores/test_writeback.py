"""Changes back to the store (issue 23): the outbox rows written with the change, what each platform
receives, failures recovered once, the echo that changes nothing."""

import json
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from live.models import Notification
from operators.services import orders_assign, orders_reassign, orders_release
from orders.models import Order, OrderChange
from orders.services import order_update, orders_status_set
from stores.models import Store, StoreChange
from stores.outbox import changes_claim, changes_send
from stores.platforms import order_mapping
from stores.platforms.shopify_graphql import order_from_graphql
from stores.services import store_order_apply

State = StoreChange.State


@pytest.fixture(autouse=True)
def quick_retries(settings):
    """Retries due at once and short time-outs: the tests run the worker again instead of waiting."""
    settings.ORDEROPS_STORES = {"RETRY_BASE": 0.001, "HTTP_TIMEOUT": 0.5, "MAX_ATTEMPTS": 4}


def mapped(platform: str, payload: dict):
    """The store's copy as a poll reads it (Shopify: its GraphQL node)."""
    if platform == "shopify":
        return order_from_graphql(payload)
    return order_mapping(platform)(payload)


def store_order(fake_store, store, number: int = 1001, **options) -> Order:
    """An order of the fake store, come in as the store's poll brings it."""
    built = fake_store.add_many(store.platform, 1, first=number, **options)[0]
    result = store_order_apply(store=store, incoming=mapped(store.platform, built), via="poll")
    return Order.objects.get(pk=result.order_id)


def send_all(rounds: int = 30) -> None:
    """Run the worker until nothing is due within a second (retries here wait milliseconds)."""
    for _ in range(rounds):
        if changes_send(worker="test", limit=50).claimed:
            continue
        soon = timezone.now() + timedelta(seconds=1)
        if not StoreChange.objects.filter(state=State.PENDING, next_attempt_at__lte=soon).exists():
            return
        time.sleep(0.02)


def notes(fake_store, platform: str, order: Order) -> list:
    return [
        body
        for _p, _id, what, body in fake_store.writes_of(platform, order.external_id)
        if what in ("note", "comment")
    ]


def test_a_status_set_by_an_operator_reaches_woocommerce_as_a_put_and_a_private_note(
    fake_store, polled_store, supervisor
):
    store = polled_store("woocommerce")
    order = store_order(fake_store, store)

    orders_status_set(actor=supervisor, order_ids=[order.pk], status_code="complete")
    assert StoreChange.objects.filter(order=order, state=State.PENDING).count() == 1
    send_all()

    writes = fake_store.writes_of("woocommerce", order.external_id)
    assert [(what, body) for _p, _id, what, body in writes] == [
        ("update", {"status": "completed"}),
        ("note", {"note": "Status set to Complete by Boris in orderops", "customer_note": False}),
    ]
    assert StoreChange.objects.get(order=order).state == State.SENT


def test_a_disconnected_stores_changes_wait_pending_until_it_is_connected_again(
    fake_store, polled_store, supervisor
):
    store = polled_store("woocommerce")
    order = store_order(fake_store, store)
    orders_status_set(actor=supervisor, order_ids=[order.pk], status_code="complete")
    Store.objects.filter(pk=store.pk).update(active=False)  # store_disconnect

    assert changes_send(worker="test", limit=50).claimed == 0
    assert fake_store.writes_of("woocommerce", order.external_id) == []
    change = StoreChange.objects.get(order=order)
    assert (change.state, change.attempts) == (State.PENDING, 0)

    Store.objects.filter(pk=store.pk).update(active=True)  # store_connect again
    send_all()
    assert [what for _p, _id, what, _body in fake_store.writes_of("woocommerce", order.external_id)] == [
        "update",
        "note",
    ]
    assert StoreChange.objects.get(order=order).state == State.SENT


def test_magento_gets_one_comment_that_notifies_nobody(fake_store, polled_store, operator, supervisor):
    store = polled_store("magento")
    order = store_order(fake_store, store)

    orders_status_set(actor=supervisor, order_ids=[order.pk], status_code="complete")
    send_all()

    assert notes(fake_store, "magento", order) == [
        {
            "statusHistory": {
                "comment": "Status set to Complete by Boris in orderops",
                "status": "complete",
                "is_customer_notified": 0,
                "is_visible_on_front": 0,
            }
        }
    ]


def test_shopify_gets_tags_only_by_default_and_never_order_update(
    fake_store, polled_store, operator, supervisor
):
    store = polled_store("shopify")
    order = store_order(fake_store, store)

    orders_status_set(actor=supervisor, order_ids=[order.pk], status_code="canceled")
    send_all()

    writes = fake_store.writes_of("shopify", order.external_id)
    assert [what for _p, _id, what, _body in writes] == ["tagsRemove", "tagsAdd"]
    assert writes[1][3]["tags"] == ["orderops-status:canceled"]
    assert "orderops-status:canceled" not in writes[0][3]["tags"]
    assert fake_store.orders["shopify"][order.external_id]["tags"][-1] == "orderops-status:canceled"


def test_shopify_cancels_only_where_the_map_names_it_and_never_notifies_the_customer(
    fake_store, polled_store, operator, supervisor
):
    store = polled_store(
        "shopify", reverse_status_map={"canceled": "orderCancel", "complete": "fulfillmentCreate"}
    )
    order = store_order(fake_store, store)
    other = store_order(fake_store, store, number=1002)

    orders_status_set(actor=supervisor, order_ids=[order.pk], status_code="canceled")
    orders_status_set(actor=supervisor, order_ids=[other.pk], status_code="complete")
    send_all()

    cancel = [
        body
        for _p, _id, what, body in fake_store.writes_of("shopify", order.external_id)
        if what == "orderCancel"
    ]
    assert cancel and cancel[0]["notifyCustomer"] is False
    fulfil = [body for _p, _id, what, body in fake_store.writes_of("shopify") if what == "fulfillmentCreate"]
    assert fulfil and fulfil[0]["fulfillment"]["notifyCustomer"] is False
    assert fulfil[0]["fulfillment"]["lineItemsByFulfillmentOrder"] == [
        {"fulfillmentOrderId": f"gid://shopify/FulfillmentOrder/{other.external_id}"}
    ]
    assert not [write for write in fake_store.writes_of("shopify") if write[2] == "orderUpdate"]


def test_the_hold_is_a_private_note_in_woocommerce_and_a_tag_in_shopify(
    fake_store, polled_store, operator, other_operator, supervisor
):
    woo = polled_store("woocommerce")
    shop = polled_store("shopify")
    woo_order, shop_order = store_order(fake_store, woo), store_order(fake_store, shop)
    ids = [woo_order.pk, shop_order.pk]

    orders_assign(actor=operator, order_ids=ids)
    orders_reassign(actor=supervisor, order_ids=ids, operator=other_operator)
    orders_release(actor=other_operator, order_ids=ids)
    send_all()

    assert [body["note"] for body in notes(fake_store, "woocommerce", woo_order)] == [
        "Taken by Anna in orderops",
        "Transferred from Anna to Ivan by Boris in orderops",
        "Released by Ivan in orderops",
    ]
    assert all(body["customer_note"] is False for body in notes(fake_store, "woocommerce", woo_order))
    tags = [
        (what, body["tags"])
        for _p, _id, what, body in fake_store.writes_of("shopify", shop_order.external_id)
    ]
    assert tags == [
        ("tagsAdd", ["orderops:anna"]),
        ("tagsRemove", ["orderops:anna"]),
        ("tagsAdd", ["orderops:ivan"]),
        ("tagsRemove", ["orderops:ivan"]),
    ]
    assert not [
        tag
        for tag in fake_store.orders["shopify"][shop_order.external_id].get("tags", [])
        if tag.startswith("orderops:")
    ]


def test_every_hold_change_of_a_store_order_is_written_back_beside_orders_from_no_store(
    fake_store, polled_store, operator, other_operator, supervisor
):
    """The hold services read an order's store with the hold's log row (claim next: with the order it takes)
    instead of looking it up; a store order among plain ones must still get each of its hold changes."""
    from datetime import timedelta

    from operators.services import holds_expire, order_claim_next, orders_take_over
    from tests.factories import OrderFactory

    store = polled_store("woocommerce")
    order = store_order(fake_store, store)
    Order.objects.exclude(pk=order.pk).update(status="complete")
    Order.objects.filter(pk=order.pk).update(status="pending")

    def hold_rows() -> list[tuple[int, str, str]]:
        rows = StoreChange.objects.filter(kind=StoreChange.Kind.HOLD).order_by("pk")
        return [(row.order_id, row.payload["action"], row.payload["operator"]["username"]) for row in rows]

    claimed = order_claim_next(actor=operator)
    assert claimed.order is not None and claimed.order.pk == order.pk
    assert hold_rows() == [(order.pk, "assigned", "anna")]

    plain = [OrderFactory().pk for _ in range(3)]
    ids = [plain[0], order.pk, *plain[1:]]
    orders_take_over(actor=supervisor, order_ids=ids, reason="rush")
    orders_release(actor=supervisor, order_ids=ids)
    orders_assign(actor=supervisor, order_ids=ids, operator=other_operator)
    orders_status_set(actor=supervisor, order_ids=ids, status_code="processing")
    orders_reassign(actor=supervisor, order_ids=ids, operator=operator)
    holds_expire(idle=timedelta(0), now=timezone.now() + timedelta(minutes=1))
    orders_assign(actor=operator, order_ids=ids)
    orders_status_set(actor=supervisor, order_ids=ids, status_code="complete")

    assert hold_rows() == [
        (order.pk, "assigned", "anna"),
        (order.pk, "taken_over", "boss"),
        (order.pk, "released", "boss"),
        (order.pk, "assigned", "ivan"),
        (order.pk, "reassigned", "anna"),
        (order.pk, "expired", "anna"),
        (order.pk, "assigned", "anna"),
        (order.pk, "auto_released", "anna"),
    ]
    assert not StoreChange.objects.filter(order_id__in=plain).exists()
    statuses = StoreChange.objects.filter(kind=StoreChange.Kind.STATUS).values_list("order_id", "payload")
    assert [(pk, payload["status"]) for pk, payload in statuses.order_by("pk")] == [
        (order.pk, "processing"),
        (order.pk, "complete"),
    ]


def test_hold_notes_switched_off_write_nothing(fake_store, polled_store, operator, supervisor):
    store = polled_store("woocommerce", hold_notes=False)
    order = store_order(fake_store, store)

    orders_assign(actor=operator, order_ids=[order.pk])

    assert not StoreChange.objects.exists()


def test_a_rolled_back_change_sends_nothing(fake_store, polled_store, operator, supervisor):
    store = polled_store("woocommerce")
    order = store_order(fake_store, store)

    with pytest.raises(RuntimeError), transaction.atomic():
        orders_status_set(actor=supervisor, order_ids=[order.pk], status_code="complete")
        orders_assign(actor=operator, order_ids=[order.pk])
        raise RuntimeError("the change fails after its writes")
    send_all()

    assert not StoreChange.objects.exists()
    assert fake_store.writes_of("woocommerce") == []


def test_a_change_the_store_made_goes_back_nowhere(fake_store, polled_store):
    store = polled_store("woocommerce")
    order = store_order(fake_store, store)
    changed = fake_store.touch(
        "woocommerce", order.external_id, order.store_updated_at.replace(year=2027), status="completed"
    )

    store_order_apply(store=store, incoming=order_mapping("woocommerce")(changed), via="poll")

    assert Order.objects.get(pk=order.pk).status_id == "complete"
    assert not StoreChange.objects.exists()


FAULTS = {
    "500": {"status": 500, "retry_after": None},
    "time-out": {"delay": 1.0},
    "dropped connection": {"drop": True},
    "429 with Retry-After": {"status": 429, "retry_after": "0"},
    "500 after the note was kept": {"status": 500, "retry_after": None, "apply": True},
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
@pytest.mark.parametrize("failing", ["update", "note"])
def test_each_change_arrives_after_the_store_recovers_and_a_note_exactly_once(
    fake_store, polled_store, operator, supervisor, fault, failing
):
    store = polled_store("woocommerce")
    order = store_order(fake_store, store)
    path = f"/wp-json/wc/v3/orders/{order.external_id}"
    if failing == "note":
        path += "/notes"
    fake_store.fail(path, times=2, **fault)

    orders_status_set(actor=supervisor, order_ids=[order.pk], status_code="complete")
    first = changes_send(worker="test", limit=10)
    assert (first.sent, first.retrying) == (0, 1)
    change = StoreChange.objects.get(order=order)
    assert change.last_error and change.failed_at
    send_all()

    change.refresh_from_db()
    assert (change.state, change.attempts) == (State.SENT, 3)
    kept = notes(fake_store, "woocommerce", order)
    # A note the store kept although its answer was lost ("apply") is the one case of a repeat (documented).
    expected = 3 if fault.get("apply") and failing == "note" else 1
    assert len(kept) == expected
    assert fake_store.orders["woocommerce"][order.external_id]["status"] == "completed"


def test_a_retry_waits_what_retry_after_says(fake_store, polled_store, operator, supervisor):
    store = polled_store("woocommerce")
    order = store_order(fake_store, store)
    fake_store.fail(f"/wp-json/wc/v3/orders/{order.external_id}", status=429, retry_after="120")

    orders_status_set(actor=supervisor, order_ids=[order.pk], status_code="complete")
    changes_send(worker="test", limit=10)

    change = StoreChange.objects.get(order=order)
    assert change.state == State.PENDING
    assert 115 <= (change.next_attempt_at - change.failed_at).total_seconds() <= 121


def test_a_change_is_dead_after_the_last_attempt_and_a_refusal_at_once(
    fake_store, polled_store, operator, supervisor
):
    store = polled_store("woocommerce")
    order, gone = store_order(fake_store, store), store_order(fake_store, store, number=1002)
    fake_store.fail(f"/wp-json/wc/v3/orders/{order.external_id}", status=503, retry_after=None, times=99)
    del fake_store.orders["woocommerce"][gone.external_id]

    orders_status_set(actor=supervisor, order_ids=[order.pk, gone.pk], status_code="complete")
    send_all()

    dead = {change.order_id: change for change in StoreChange.objects.all()}
    assert dead[order.pk].state == State.DEAD and dead[order.pk].attempts == 4
    assert "503" in dead[order.pk].last_error
    assert dead[gone.pk].state == State.DEAD and dead[gone.pk].attempts == 1
    assert "404" in dead[gone.pk].last_error


def test_a_later_change_of_an_order_waits_for_the_earlier_one(fake_store, polled_store, operator, supervisor):
    store = polled_store("magento")
    order = store_order(fake_store, store)
    fake_store.fail(f"/rest/V1/orders/{order.external_id}", status=500, retry_after=None)

    orders_status_set(actor=supervisor, order_ids=[order.pk], status_code="complete")
    orders_status_set(actor=supervisor, order_ids=[order.pk], status_code="canceled")
    first, _second = StoreChange.objects.order_by("id")
    assert changes_claim(worker="a", limit=10) == [first.pk]
    assert changes_claim(worker="b", limit=10) == []  # the first is leased: the second waits
    StoreChange.objects.filter(pk=first.pk).update(claim="test")
    changes_send_result = changes_send(worker="c", limit=10)
    assert changes_send_result.claimed == 0
    # The lease ends (the worker died): the first is claimed again before the second.
    StoreChange.objects.filter(pk=first.pk).update(next_attempt_at=first.created_at)
    send_all()

    sent = [body["statusHistory"]["status"] for body in notes(fake_store, "magento", order)]
    assert sent == ["complete", "canceled"]


def test_address_edits_go_back_to_woocommerce_and_shopify_but_not_magento(
    fake_store, polled_store, supervisor
):
    orders = {
        platform: store_order(fake_store, polled_store(platform))
        for platform in ("woocommerce", "shopify", "magento")
    }
    for order in orders.values():
        order_update(
            actor=supervisor,
            order_id=order.pk,
            version=Order.objects.get(pk=order.pk).version,
            changes={"shipping_street": "1 Vitosha Blvd", "customer_phone": "+359 88 123 4567"},
        )
    send_all()

    woo = fake_store.writes_of("woocommerce", orders["woocommerce"].external_id)
    assert woo[-1][2] == "update"
    assert woo[-1][3]["shipping"]["address_1"] == "1 Vitosha Blvd"
    assert woo[-1][3]["billing"] == {"phone": "+359 88 123 4567"}
    shop = fake_store.writes_of("shopify", orders["shopify"].external_id)
    assert [write[2] for write in shop] == ["orderUpdate"]
    assert shop[0][3]["input"]["shippingAddress"]["address1"] == "1 Vitosha Blvd"
    assert set(shop[0][3]["input"]) == {"id", "shippingAddress"}  # never the tags, never the note
    assert fake_store.writes_of("magento") == []


def test_the_stores_echo_of_our_own_write_changes_nothing(fake_store, polled_store, operator, supervisor):
    woo, shop = polled_store("woocommerce"), polled_store("shopify")
    woo_order, shop_order = store_order(fake_store, woo), store_order(fake_store, shop)
    orders_assign(actor=operator, order_ids=[woo_order.pk, shop_order.pk])
    orders_status_set(actor=supervisor, order_ids=[woo_order.pk, shop_order.pk], status_code="on_hold")
    send_all()
    before = {
        order.pk: (order.version, order.status_id, OrderChange.objects.filter(order=order).count())
        for order in Order.objects.filter(pk__in=[woo_order.pk, shop_order.pk])
    }
    notified = Notification.objects.count()

    # The store's webhook (or poll) after our write: WooCommerce says on-hold, Shopify still its old status.
    for store, order in ((woo, woo_order), (shop, shop_order)):
        copy = fake_store.orders[store.platform][order.external_id]
        store_order_apply(store=store, incoming=mapped(store.platform, copy), via="webhook")

    after = {
        order.pk: (order.version, order.status_id, OrderChange.objects.filter(order=order).count())
        for order in Order.objects.filter(pk__in=[woo_order.pk, shop_order.pk])
    }
    assert after == before
    assert Notification.objects.count() == notified
    assert not OrderChange.objects.filter(store__isnull=False, field="status", new_value="on_hold").exists()


def test_a_real_change_in_the_store_after_our_write_still_applies(
    fake_store, polled_store, operator, supervisor
):
    store = polled_store("woocommerce")
    order = store_order(fake_store, store)
    orders_status_set(actor=supervisor, order_ids=[order.pk], status_code="on_hold")
    send_all()

    copy = fake_store.touch(
        "woocommerce", order.external_id, order.store_updated_at.replace(year=2027), status="cancelled"
    )
    store_order_apply(store=store, incoming=order_mapping("woocommerce")(copy), via="webhook")

    assert Order.objects.get(pk=order.pk).status_id == "canceled"


def test_the_outbox_adds_a_bounded_number_of_statements_to_a_status_change(
    fake_store, polled_store, operator, supervisor, django_assert_num_queries
):
    from tests.factories import OrderFactory

    store = polled_store("woocommerce")
    store_orders = [store_order(fake_store, store, number=1001 + i) for i in range(5)]
    plain = OrderFactory()
    orders_status_set(actor=supervisor, order_ids=[OrderFactory().pk], status_code="on_hold")  # warm caches
    # Without a store: none (the order lock read the orders' stores).
    with django_assert_num_queries(STATUS_SET_QUERIES):
        orders_status_set(actor=supervisor, order_ids=[plain.pk], status_code="on_hold")
    # One store order or five: the same three (their stores, the actor's name, one INSERT).
    with django_assert_num_queries(STATUS_SET_QUERIES + 3):
        orders_status_set(actor=supervisor, order_ids=[store_orders[0].pk], status_code="on_hold")
    with django_assert_num_queries(STATUS_SET_QUERIES + 3):
        orders_status_set(actor=supervisor, order_ids=[o.pk for o in store_orders[1:]], status_code="on_hold")
    assert StoreChange.objects.count() == 5


# What orders_status_set of one order to on_hold costs without the outbox (measured on main): the savepoint
# and its release, the status, the lock, the history, the update, the notification, the holds' activity.
STATUS_SET_QUERIES = 8


def test_store_status_reports_each_stores_health(fake_store, polled_store, operator, supervisor, capsys):
    store = polled_store("woocommerce")
    order = store_order(fake_store, store)
    fake_store.fail(f"/wp-json/wc/v3/orders/{order.external_id}", status=401, retry_after=None)
    orders_status_set(actor=supervisor, order_ids=[order.pk], status_code="on_hold")
    orders_assign(actor=operator, order_ids=[order.pk])
    send_all()

    call_command("store_status", "--json")
    report = json.loads(capsys.readouterr().out)["stores"]
    assert report == [
        {
            "store": store.slug,
            "name": store.name,
            "last_success_at": report[0]["last_success_at"],
            "last_failure_at": report[0]["last_failure_at"],
            "last_error": report[0]["last_error"],
            "pending": 0,
            "dead": 1,
        }
    ]
    assert report[0]["last_success_at"] and report[0]["last_failure_at"]
    assert "401" in report[0]["last_error"]


def test_the_stores_admin_page_shows_dead_changes_and_retries_them(
    fake_store, polled_store, supervisor, superuser, client
):
    store = polled_store("woocommerce")
    order = store_order(fake_store, store)
    fake_store.fail(f"/wp-json/wc/v3/orders/{order.external_id}", status=401, retry_after=None)
    orders_status_set(actor=supervisor, order_ids=[order.pk], status_code="complete")
    send_all()
    client.force_login(supervisor)
    refused = client.post(f"/admin/stores/store/{store.pk}/retry-changes/")
    assert refused.status_code == 302 and StoreChange.objects.get(order=order).state == State.DEAD
    client.force_login(superuser)

    page = client.get(f"/admin/stores/store/{store.pk}/change/")
    text = page.content.decode()
    assert "given up: 1" in text and "answered 401" in text and f"#{order.number}" in text
    client.post(f"/admin/stores/store/{store.pk}/retry-changes/")
    send_all()

    assert StoreChange.objects.get(order=order).state == State.SENT
    assert fake_store.orders["woocommerce"][order.external_id]["status"] == "completed"


def test_a_magento_orders_page_says_an_address_edit_stays_in_orderops(
    fake_store, polled_store, superuser, client
):
    magento, woo = polled_store("magento"), polled_store("woocommerce")
    client.force_login(superuser)
    note = "stays in orderops: Magento does not take it back"

    magento_page = client.get(f"/admin/orders/order/{store_order(fake_store, magento).pk}/change/")
    woo_page = client.get(f"/admin/orders/order/{store_order(fake_store, woo).pk}/change/")

    assert note in magento_page.content.decode()
    assert note not in woo_page.content.decode()
