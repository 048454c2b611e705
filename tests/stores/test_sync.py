"""Polling (stores/sync.py, sync_orders) against the local fake store: every order applied once through the
apply path, the cursor per page (resumable), idempotent runs, failures kept in the inbox, dry runs."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from orders.models import Order, OrderSearch
from stores.models import Delivery, Store
from stores.sync import store_sync

START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def store_orders(store: Store):
    return Order.objects.filter(store=store)


def test_a_sync_creates_every_order_the_store_changed_and_moves_the_cursor_to_the_newest(
    fake_store, polled_store
):
    store = polled_store("woocommerce")
    fake_store.add_many("woocommerce", 250, start=START)
    result = store_sync(store=store)
    assert result.complete and result.outcomes == {"created": 250}
    assert store_orders(store).count() == 250
    assert set(store_orders(store).values_list("number", flat=True)) == {str(n) for n in range(1001, 1251)}
    store.refresh_from_db()
    assert store.sync_cursor == START + timedelta(seconds=249)
    assert store.last_sync_at is not None


def test_a_second_sync_changes_nothing(fake_store, polled_store):
    store = polled_store("magento")
    fake_store.add_many("magento", 30, start=START)
    store_sync(store=store)
    versions = dict(store_orders(store).values_list("pk", "version"))
    again = store_sync(store=Store.objects.get(pk=store.pk))
    # Only the order at the cursor is read again (the query is inclusive), and it is unchanged.
    assert again.read == 1 and again.outcomes == {"unchanged": 1}
    assert dict(store_orders(store).values_list("pk", "version")) == versions


def test_an_interrupted_sync_resumes_from_its_cursor_and_applies_nothing_twice(
    fake_store, polled_store, settings
):
    settings.ORDEROPS_STORES = {"MAX_RETRIES": 1, "PAGE_SIZE": 100}
    store = polled_store("woocommerce")
    fake_store.add_many("woocommerce", 250, start=START)
    # The third page's call fails twice (the try and its one retry): the poll stops after two pages.
    fake_store.fail("/wp-json/", status=503, retry_after="0", times=2, after=2)
    first = store_sync(store=store)
    assert not first.complete and "503" in first.stopped
    # Two pages: the second starts again from the newest change of the first, which it gives only once.
    assert first.read == 199 and store_orders(store).count() == 199
    store.refresh_from_db()
    assert store.sync_cursor == START + timedelta(seconds=198)

    second = store_sync(store=store)
    assert second.complete
    assert second.outcomes == {"created": 51, "unchanged": 1}
    assert store_orders(store).count() == 250
    assert set(store_orders(store).values_list("version", flat=True)) == {1}


def test_a_poll_applies_the_stores_change_forward_with_its_status_mapped(fake_store, polled_store):
    store = polled_store("woocommerce")
    fake_store.add_many("woocommerce", 3, start=START)
    store_sync(store=store)
    fake_store.touch("woocommerce", "1002", START + timedelta(hours=2), status="completed")
    result = store_sync(store=Store.objects.get(pk=store.pk))
    assert result.outcomes["updated"] == 1
    order = store_orders(store).get(external_id="1002")
    assert order.status_id == "complete" and order.version == 2
    assert order.store_updated_at == START + timedelta(hours=2)


def test_a_shopify_poll_reads_the_graphql_orders_with_their_money_and_lines(fake_store, polled_store):
    store = polled_store("shopify")
    fake_store.add_many("shopify", 3, start=START)
    result = store_sync(store=store)
    assert result.outcomes == {"created": 3}
    order = store_orders(store).get(external_id="1001")
    assert order.grand_total == Decimal("409.94") and order.currency == "USD"
    assert order.payment_status == "paid" and order.status_id == "processing"
    assert sorted(order.lines.values_list("sku", flat=True)) == [
        "IPOD2008BLACK",
        "IPOD2008GREEN",
        "IPOD2008RED",
    ]


def test_a_shopify_order_with_more_lines_than_come_with_it_is_read_whole_page_by_page(
    fake_store, polled_store
):
    from stores.simulation import money, shopify_order

    store = polled_store("shopify")
    big = shopify_order(2001, START)
    big["lineItems"]["nodes"] = [
        {
            "sku": f"SKU-{n:03}",
            "name": f"Part {n}",
            "quantity": 1,
            "originalUnitPriceSet": money("1.50", "USD"),
            "discountedTotalSet": money("1.50", "USD"),
        }
        for n in range(400)
    ]
    fake_store.add("shopify", big)
    fake_store.add_many("shopify", 2, start=START + timedelta(seconds=1))
    result = store_sync(store=store)
    assert result.outcomes == {"created": 3}, result.failures
    order = store_orders(store).get(external_id=big["legacyResourceId"])
    assert list(order.lines.order_by("id").values_list("sku", flat=True)) == [
        f"SKU-{n:03}" for n in range(400)
    ]
    queries = [json.loads(seen.body)["variables"] for seen in fake_store.requests_to("/admin/api/")]
    # The page of orders (with 100 lines each), then the big order's other 300 lines in pages of 250.
    assert [("id" in variables, variables["lines"]) for variables in queries] == [
        (False, 100),
        (True, 250),
        (True, 250),
    ]
    assert all(variables["id"] == big["id"] for variables in queries[1:])


def test_a_magento_poll_counts_parent_and_child_items_once(fake_store, polled_store):
    store = polled_store("magento")
    fake_store.add_many("magento", 1, start=START)
    store_sync(store=store)
    order = store_orders(store).get()
    assert order.grand_total == Decimal("165.00")
    assert sum(line.unit_price * line.qty for line in order.lines.all()) == Decimal("160.00")


def test_an_order_that_cannot_be_applied_is_kept_failed_in_the_inbox_and_the_poll_goes_on_past_it(
    fake_store, polled_store
):
    store = polled_store("woocommerce")
    fake_store.add_many("woocommerce", 10, start=START)
    fake_store.touch("woocommerce", "1004", START + timedelta(seconds=3), status="awaiting-pickup")
    result = store_sync(store=store)
    assert result.outcomes == {"created": 9, "failed": 1}
    failure = result.failures[0]
    assert failure.number == "1004" and "awaiting-pickup" in failure.reason
    store.refresh_from_db()
    assert store.sync_cursor == START + timedelta(seconds=9)  # past the order that failed
    delivery = Delivery.objects.get()
    assert delivery.pk == failure.delivery_id
    assert (delivery.state, delivery.topic, delivery.order_number) == ("failed", "poll", "1004")
    assert "awaiting-pickup" in delivery.error and json.loads(delivery.body)["id"] == 1004
    assert not store_orders(store).filter(external_id="1004").exists()

    # The next poll does not ask for it again, and a second failure of the same copy is the same row.
    assert store_sync(store=store).outcomes == {"unchanged": 1}
    store_sync(store=store, full=True)
    assert Delivery.objects.get().attempts == 2

    store.status_map["awaiting-pickup"] = "on_hold"
    store.save()
    out = StringIO()
    call_command("replay_deliveries", "--store", store.slug, "--failed", stdout=out)
    assert "1 applied" in out.getvalue()
    order = store_orders(store).get(external_id="1004")
    assert order.status_id == "on_hold"
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.order_id) == ("applied", order.pk)


def test_a_shopify_order_the_poll_could_not_apply_is_replayed_from_its_graphql_node(fake_store, polled_store):
    store = polled_store("shopify")
    fake_store.add_many("shopify", 3, start=START)
    del store.status_map["paid"]
    store.save()
    result = store_sync(store=store)
    assert result.outcomes == {"failed": 3}
    assert Delivery.objects.filter(state="failed", topic="poll").count() == 3
    store.status_map["paid"] = "processing"
    store.save()
    call_command("replay_deliveries", "--failed", stdout=StringIO())
    assert set(Delivery.objects.values_list("state", flat=True)) == {"applied"}
    assert store_orders(store).count() == 3


def test_a_bug_applying_one_order_of_a_page_fails_that_order_alone(fake_store, polled_store, monkeypatch):
    from orders import services as order_services

    store = polled_store("magento")
    fake_store.add_many("magento", 6, start=START)
    real = order_services.order_store_write
    create = order_services.orders_store_create

    def broken_for_1003(**kwargs):
        if kwargs["order"] is None and kwargs["values"]["number"].endswith("1003"):
            raise RuntimeError("a bug")
        return real(**kwargs)

    def batch_broken(**kwargs):
        if any(new.values["number"].endswith("1003") for new in kwargs["orders"]):
            raise RuntimeError("a bug")
        return create(**kwargs)

    monkeypatch.setattr("stores.services.order_store_write", broken_for_1003)
    monkeypatch.setattr("stores.services.orders_store_create", batch_broken)
    result = store_sync(store=store)
    assert result.outcomes == {"created": 5, "failed": 1}
    assert result.failures[0].reason == "RuntimeError: a bug"
    assert Delivery.objects.get().state == "failed"
    assert store_orders(store).count() == 5
    store.refresh_from_db()
    assert store.sync_cursor == START + timedelta(seconds=5)


def test_a_dry_run_says_what_it_would_do_and_writes_nothing(fake_store, polled_store):
    store = polled_store("woocommerce")
    fake_store.add_many("woocommerce", 5, start=START)
    store_sync(store=store, full=True)
    fake_store.touch("woocommerce", "1001", START + timedelta(hours=1), status="completed")
    fake_store.add_many("woocommerce", 2, first=2001, start=START + timedelta(hours=2))
    store.refresh_from_db()
    cursor, versions = store.sync_cursor, dict(store_orders(store).values_list("pk", "version"))
    result = store_sync(store=store, dry_run=True)
    assert result.outcomes == {"would create": 2, "would update": 1, "unchanged or older": 1}
    store.refresh_from_db()
    assert store.sync_cursor == cursor
    assert dict(store_orders(store).values_list("pk", "version")) == versions


def test_since_starting_after_the_cursor_leaves_the_cursor_where_it_was(fake_store, polled_store):
    store = polled_store("magento", sync_cursor=START)
    fake_store.add_many("magento", 5, start=START + timedelta(days=2))
    result = store_sync(store=store, since=START + timedelta(days=1))
    assert result.outcomes == {"created": 5} and not result.cursor_moved
    store.refresh_from_db()
    assert store.sync_cursor == START


def test_sync_orders_prints_one_summary_line_per_store(fake_store, polled_store):
    polled_store("woocommerce")
    polled_store("magento")
    fake_store.add_many("woocommerce", 3, start=START)
    fake_store.add_many("magento", 2, start=START)
    out = StringIO()
    call_command("sync_orders", stdout=out, stderr=StringIO())
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("fake-magento: 2 orders read in 1 page,") and "2 created" in lines[0]
    assert (
        lines[1].startswith("fake-woocommerce: 3 orders read")
        and "synchronised up to 2026-11-01 08:00:02 UTC" in lines[1]
    )


def test_sync_orders_json_gives_one_object_per_store(fake_store, polled_store):
    polled_store("shopify")
    fake_store.add_many("shopify", 4, start=START)
    out = StringIO()
    call_command("sync_orders", "--store", "fake-shopify", "--full", "--json", stdout=out, stderr=StringIO())
    report = json.loads(out.getvalue())
    assert report["store"] == "fake-shopify" and report["outcomes"] == {"created": 4}
    assert report["complete"] is True and report["cursor"] == "2026-11-01T08:00:03+00:00"


def test_sync_orders_fails_naming_the_store_when_the_store_stops_it(fake_store, polled_store, settings):
    settings.ORDEROPS_STORES = {"MAX_RETRIES": 0}
    polled_store("woocommerce", api_secret="revoked")
    out = StringIO()
    with pytest.raises(CommandError, match=r"fake-woocommerce: stopped \(fake-woocommerce: GET .* 401"):
        call_command("sync_orders", "--store", "fake-woocommerce", stdout=out, stderr=StringIO())
    assert "Stopped early" in out.getvalue()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--store", "nowhere"], "No store nowhere"),
        (["--store", "fake-magento", "--since", "soon"], "is not a duration"),
    ],
)
def test_sync_orders_refuses_bad_arguments_and_changes_nothing(polled_store, arguments, message):
    polled_store("magento")
    with pytest.raises((CommandError, SystemExit)) as refused:
        call_command("sync_orders", *arguments, stdout=StringIO(), stderr=StringIO())
    if isinstance(refused.value, CommandError):
        assert message in str(refused.value)
    assert not Order.objects.exists()


def test_sync_orders_refuses_since_with_full(polled_store):
    polled_store("magento")
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command("sync_orders", "--since", "2h", "--full", stdout=StringIO(), stderr=StringIO())


def test_a_page_of_new_orders_costs_a_pinned_number_of_statements_however_many_it_holds(
    fake_store, polled_store
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    statements = {}
    for count in (5, 20):
        store = polled_store("woocommerce", slug=f"fake-woocommerce-{count}")
        fake_store.add_many("woocommerce", count, first=10_000 * count, start=START)
        with CaptureQueriesContext(connection) as captured:
            result = store_sync(store=store)
        assert result.outcomes == {"created": count} and result.pages == 1
        statements[count] = [query["sql"] for query in captured.captured_queries]
        with fake_store.lock:
            fake_store.orders["woocommerce"].clear()
    # The page's transaction (BEGIN, COMMIT), store_orders_apply's savepoint and the creations' (4), the
    # page's known orders (1), the statuses (1), the orders' INSERT (1), their search rows' INSERT (1), the
    # lines' INSERT (1), the cursor (1); after the pages, the last sync time (1); PostgreSQL: the sync's
    # advisory lock and its release (2).
    pinned = 13 + (2 if connection.vendor == "postgresql" else 0)
    assert len(statements[5]) == len(statements[20]) == pinned, statements[20]
    inserts = [sql for sql in statements[20] if sql.startswith("INSERT")]
    assert len(inserts) == 3, inserts


def test_a_page_of_new_and_known_orders_has_the_one_order_paths_outcomes(fake_store, polled_store):
    store = polled_store("woocommerce")
    fake_store.add_many("woocommerce", 4, start=START)
    store_sync(store=store)
    first = {order.external_id: order for order in store_orders(store)}
    # 1001 changed (an update: a new version, its history), 1002-1004 as old as ours (unchanged), 1005-1006
    # new.
    fake_store.touch("woocommerce", "1001", START + timedelta(minutes=1), status="completed")
    fake_store.add_many("woocommerce", 2, first=1005, start=START + timedelta(minutes=2))
    result = store_sync(store=store, since=START)
    assert result.outcomes == {"created": 2, "updated": 1, "unchanged": 3}
    changed = store_orders(store).get(external_id="1001")
    assert (changed.status_id, changed.version) == ("complete", first["1001"].version + 1)
    assert changed.changes.filter(field="status", store=store).count() == 1
    assert store_orders(store).get(external_id="1002").version == first["1002"].version
    new = store_orders(store).get(external_id="1006")
    assert new.version == 1 and new.lines.count() > 0 and not new.changes.exists()


def test_a_page_of_known_orders_keeps_the_search_rows_of_the_renamed_ones_alone(fake_store, polled_store):
    from orders.search_text import search_text_of
    from orders.selectors import orders_search

    store = polled_store("woocommerce")
    fake_store.add_many("woocommerce", 3, start=START)
    store_sync(store=store)
    billing = {
        **fake_store.orders["woocommerce"]["1001"]["billing"],
        "first_name": "Стоян",
        "phone": "0888 555 444",
    }
    fake_store.touch("woocommerce", "1001", START + timedelta(minutes=1), billing=billing)
    fake_store.touch("woocommerce", "1002", START + timedelta(minutes=1), status="completed")
    before = dict(OrderSearch.objects.values_list("order__external_id", "text"))
    result = store_sync(store=store, since=START)
    assert result.outcomes == {"updated": 2, "unchanged": 1}
    renamed = store_orders(store).get(external_id="1001")
    assert renamed.search.text == search_text_of(renamed) != before["1001"]
    assert "stoyan" in renamed.search.text and "359888555444" in renamed.search.text
    assert list(orders_search(Order.objects.all(), "0888 555 444")) == [renamed]
    assert renamed in orders_search(Order.objects.all(), "Стоян")
    after = dict(OrderSearch.objects.values_list("order__external_id", "text"))
    assert {key: after[key] for key in ("1002", "1003")} == {key: before[key] for key in ("1002", "1003")}


def test_sync_orders_draws_a_progress_bar_on_a_terminal(fake_store, polled_store, monkeypatch):
    polled_store("magento")
    fake_store.add_many("magento", 150, start=START)
    monkeypatch.setattr("orderops.progress.is_terminal", lambda stream: True)
    monkeypatch.setattr("orderops.progress.REDRAW_SECONDS", 0)
    err = StringIO()
    call_command("sync_orders", "--store", "fake-magento", stdout=StringIO(), stderr=err)
    assert "fake-magento: syncing [" in err.getvalue() and "100.0%" in err.getvalue()


def test_a_dry_run_reports_an_order_it_could_not_apply_and_keeps_nothing(fake_store, polled_store):
    store = polled_store("woocommerce")
    fake_store.add_many("woocommerce", 3, start=START)
    fake_store.touch("woocommerce", "1002", START + timedelta(seconds=1), status="awaiting-pickup")
    result = store_sync(store=store, dry_run=True)
    assert result.outcomes == {"would create": 2, "failed": 1}
    assert result.failures[0].delivery_id is None
    assert not Delivery.objects.exists() and not store_orders(store).exists()
    store.refresh_from_db()
    assert store.sync_cursor is None


def _order_state(order: Order) -> dict:
    """What a person or the store sees of an order: its fields, version, lines, history, hold and notes."""
    from live.models import Notification
    from operators.models import Assignment, AssignmentLog
    from orders.services import STORE_FIELDS

    return {
        **{name: getattr(order, name) for name in STORE_FIELDS},
        "status": order.status_id,
        "version": order.version,
        "search_text": OrderSearch.objects.filter(order=order).values_list("text", flat=True).first(),
        "lines": list(
            order.lines.order_by("pk").values_list("sku", "name", "qty", "unit_price", "line_total")
        ),
        "history": list(
            order.changes.order_by("pk").values_list(
                "version", "field", "old_value", "new_value", "store__slug"
            )
        ),
        "held": Assignment.objects.filter(order=order).exists(),
        "log": list(AssignmentLog.objects.filter(order=order).order_by("pk").values_list("action", "reason")),
        "notified": list(
            Notification.objects.filter(order=order).order_by("pk").values_list("detail", flat=True)
        ),
    }


def test_a_repoll_of_known_orders_applied_together_ends_as_each_applied_alone(
    fake_store, polled_store, operator
):
    """The same store changes, polled by two stores of one shop: one applies its page together
    (store_orders_apply), the other order by order (store_order_apply). Outcomes, fields, versions, lines,
    history, holds and the holders' notifications are the same."""
    from operators.services import orders_assign
    from stores.clients import client_for
    from stores.services import store_order_apply
    from stores.sync import MAPPINGS

    together, alone = polled_store("magento", slug="together"), polled_store("magento", slug="alone")
    fake_store.add_many("magento", 10, start=START)
    store_sync(store=together)
    store_sync(store=alone)
    for store in (together, alone):
        held = store_orders(store).filter(external_id__in=["1001", "1009"]).values_list("pk", flat=True)
        orders_assign(actor=operator, order_ids=list(held))
    later = START + timedelta(hours=1)
    fake_store.touch("magento", "1001", later, status="complete")  # a final status: the hold ends
    fake_store.touch("magento", "1002", later, customer_firstname="Zoë")  # the search column follows
    whole = fake_store.orders["magento"]["1003"]
    items = [dict(item) for item in whole["items"]]
    items[0].update(price=23, row_total=23)
    fake_store.touch("magento", "1003", later, items=items)  # the lines replaced
    fake_store.touch("magento", "1004", later)  # only the store's time moved
    fake_store.touch("magento", "1006", START - timedelta(hours=1), status="canceled")  # older: stale
    fake_store.touch("magento", "1007", later, status="awaiting-pickup")  # unmapped
    fake_store.touch("magento", "1008", later, customer_email="not an email")  # refused
    fake_store.touch("magento", "1009", later, status="holded", customer_lastname="Ng")  # holder notified

    result = store_sync(store=together, full=True)
    alone_outcomes = []
    with client_for(alone) as client:
        for page in client.pages(None):
            for payload in page.payloads:
                try:
                    applied = store_order_apply(
                        store=alone, incoming=MAPPINGS["magento"](payload), via="poll"
                    )
                except Exception as error:  # the one-order path's refusal is that order's outcome
                    alone_outcomes.append(f"failed: {type(error).__name__}")
                else:
                    alone_outcomes.append(str(applied.outcome))

    assert result.outcomes == {"updated": 4, "unchanged": 3, "stale": 1, "failed": 2}
    assert sorted(alone_outcomes) == sorted(
        ["updated"] * 4 + ["unchanged"] * 3 + ["stale", "failed: UnmappedStatus", "failed: RequestRefused"]
    )
    for n in range(1001, 1011):
        mine = _order_state(store_orders(together).get(external_id=str(n)))
        theirs = _order_state(store_orders(alone).get(external_id=str(n)))
        theirs["history"] = [(*row[:4], "together") for row in theirs["history"]]
        assert mine == theirs, n
    first = store_orders(together).get(external_id="1001")
    assert first.status_id == "complete" and not _order_state(first)["held"]
    assert _order_state(store_orders(together).get(external_id="1009"))["notified"]
    assert store_orders(together).get(external_id="1004").store_updated_at == later


def test_a_repoll_of_known_orders_costs_a_pinned_number_of_statements_however_many_it_holds(
    fake_store, polled_store
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    statements = {}
    for count in (5, 20):
        store = polled_store("magento", slug=f"fake-magento-{count}")
        created = fake_store.add_many("magento", count, first=10_000 * count, start=START)
        assert store_sync(store=store).outcomes == {"created": count}
        for order in created:  # every order changed: a field, the lines, the status (not a final one)
            items = [dict(item) for item in order["items"]]
            items[0].update(price=30, row_total=30)
            fake_store.touch(
                "magento",
                str(order["entity_id"]),
                START + timedelta(hours=1),
                items=items,
                status="processing",
                customer_lastname="Ng",
            )
        with CaptureQueriesContext(connection) as captured:
            result = store_sync(store=store)
        assert result.outcomes == {"updated": count} and result.pages == 1
        statements[count] = [query["sql"] for query in captured.captured_queries]
        with fake_store.lock:
            fake_store.orders["magento"].clear()
    # As a page of new orders (BEGIN, COMMIT, 4 savepoint statements, known orders, cursor, last sync
    # time), and: the known orders locked (1), the statuses (1), their lines (1), the lines' DELETE and
    # INSERT (2), the orders' UPDATE (1), the history's INSERT (1), the holders' notifications (1), the
    # auto-release's look at the holds (1)... whatever it is, the same for 5 orders as for 20.
    assert len(statements[5]) == len(statements[20]), statements[20]
    assert len(statements[20]) <= 20 + (2 if connection.vendor == "postgresql" else 0), statements[20]
    updates = [sql for sql in statements[20] if 'UPDATE "orders_order"' in sql]
    assert len(updates) == 1, updates
