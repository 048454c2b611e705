"""The order's search row (OrderSearch): a narrow table beside the order, written only by writes that change a
searched column (issue 24: a status change no longer rewrites the search text nor its trigrams)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from operators.services import orders_assign
from orders import triggers
from orders.models import Order, OrderSearch
from orders.search_text import search_text_of
from orders.selectors import orders_search
from orders.services import order_update, orders_status_set
from tests.factories import OrderFactory

SEARCH_TABLE = OrderSearch._meta.db_table


def search_statements(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries if SEARCH_TABLE in query["sql"]]


def row_versions(order_ids: list[int]) -> dict[int, str]:
    """Each search row's physical version (PostgreSQL: ctid and xmin), which any write of the row changes."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT order_id, ctid::text || '/' || xmin::text FROM {SEARCH_TABLE} WHERE order_id = ANY(%s)",
            [order_ids],
        )
        return dict(cursor.fetchall())


def test_a_status_change_and_a_hold_write_no_search_row(operator, superuser):
    orders = OrderFactory.create_batch(3, status_id="pending")
    ids = [order.pk for order in orders]
    with CaptureQueriesContext(connection) as queries:
        orders_status_set(actor=None, order_ids=ids, status_code="on_hold", reason="")
        orders_assign(actor=operator, order_ids=ids[:1])
        single = Order.objects.get(pk=ids[2])
        single.status_id = "processing"
        single.save()
        order_update(
            actor=superuser,
            order_id=ids[1],
            version=Order.objects.get(pk=ids[1]).version,
            changes={"status": "processing", "grand_total": "12.50"},
        )
    assert dict(Order.objects.filter(pk__in=ids).values_list("pk", "status_id")) == {
        ids[0]: "on_hold",
        ids[1]: "processing",
        ids[2]: "processing",
    }
    assert search_statements(queries) == []
    assert {row.order_id: row.text for row in OrderSearch.objects.filter(order_id__in=ids)} == {
        order.pk: search_text_of(order) for order in orders
    }


@pytest.mark.postgres
def test_a_bulk_status_change_leaves_every_search_row_where_it_was(db):
    orders = OrderFactory.create_batch(20, status_id="pending")
    ids = [order.pk for order in orders]
    before = row_versions(ids)
    orders_status_set(actor=None, order_ids=ids, status_code="on_hold", reason="")
    assert Order.objects.filter(pk__in=ids, status_id="on_hold").count() == 20
    assert row_versions(ids) == before


def test_a_searched_edit_writes_one_search_row_statement(superuser):
    order = OrderFactory(customer_name="Old Name")
    with CaptureQueriesContext(connection) as queries:
        order_update(
            actor=superuser, order_id=order.pk, version=order.version, changes={"customer_name": "Нов Човек"}
        )
    assert len(search_statements(queries)) == 1
    assert OrderSearch.objects.get(order=order).text.startswith("nov chovek ")


def test_an_order_without_a_search_row_is_not_found_by_text_and_its_row_goes_with_it(db):
    kept = OrderFactory(number="ROW-1", customer_name="Zlatka Raykova")
    lost = OrderFactory(number="ROW-2", customer_name="Zlatka Raykova")
    OrderSearch.objects.filter(order=lost).delete()
    assert list(orders_search(Order.objects.all(), "raykova")) == [kept]
    assert list(orders_search(Order.objects.all(), "ROW-2")) == [lost]  # by number: no search row needed
    kept.delete()
    assert not OrderSearch.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_every_search_column_into_its_search_row():
    """orders 0010 back to 0009 (the column, filled from the rows), orders written there with their column,
    then forward: each order's row holds its column's text, whatever it was."""
    executor = MigrationExecutor(connection)
    before, after = [("orders", "0009_order_held_drop")], [("orders", "0010_order_search_row")]
    try:
        kept = OrderFactory(customer_name="Мария Иванова")
        executor.migrate(before)
        with connection.cursor() as cursor:
            cursor.execute("SELECT search_text FROM orders_order WHERE id = %s", [kept.pk])
            assert cursor.fetchone() == (search_text_of(kept),)  # reversed: the column from the row
        old_apps = executor.loader.project_state(before).apps
        OldOrder = old_apps.get_model("orders", "Order")
        stale = OldOrder.objects.create(number="MIG-2", status_id="pending", search_text="as it was")
        executor.loader.build_graph()
        executor.migrate(after)
        assert dict(OrderSearch.objects.values_list("order_id", "text")) == {
            kept.pk: search_text_of(kept),
            stale.pk: "as it was",  # moved as it was: `manage.py search_text` judges it
        }
        with connection.cursor() as cursor:
            columns = connection.introspection.get_table_description(cursor, Order._meta.db_table)
        assert "search_text" not in {column.name for column in columns}
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_nine_digits_find_the_order_of_that_number_and_the_customer_of_that_phone(db):
    numbered = OrderFactory(number="888123456", customer_phone="", status_id="pending")
    phoned = OrderFactory(number="BG-1", customer_phone="0888 123 456", status_id="pending")
    OrderFactory(number="BG-2", customer_phone="0888 123 456", status_id="complete")
    pending = Order.objects.filter(status_id="pending")
    assert set(orders_search(pending, "888123456")) == {numbered, phoned}
    assert set(orders_search(pending, "#888123456")) == {numbered, phoned}


def created_at_copies(ids: list[int]) -> dict[int, tuple]:
    """{order id: (its created_at, its search row's copy)}."""
    rows = dict(OrderSearch.objects.filter(order_id__in=ids).values_list("order_id", "order_created_at"))
    return {
        pk: (created_at, rows.get(pk))
        for pk, created_at in Order.objects.filter(pk__in=ids).values_list("pk", "created_at")
    }


def test_every_write_keeps_the_search_rows_copy_of_created_at(db):
    now = timezone.now()
    saved = OrderFactory(created_at=now - timedelta(days=3))
    bulk = Order.objects.bulk_create(
        [Order(number=f"BULK-{n}", status_id="pending", created_at=now - timedelta(days=n)) for n in range(3)]
    )
    ids = [saved.pk, *(order.pk for order in bulk)]
    Order.objects.filter(pk=bulk[0].pk).update(created_at=now - timedelta(days=9))  # by the trigger
    saved.created_at = now - timedelta(days=7)
    saved.save()
    bulk[1].created_at = now - timedelta(days=8)
    Order.objects.bulk_update([bulk[1]], ["created_at"])
    Order.objects.filter(pk=bulk[2].pk).update(
        customer_name="Нова Клиентка", created_at=now - timedelta(days=6)
    )
    copies = created_at_copies(ids)
    assert all(created == copy for created, copy in copies.values()), copies
    assert copies[saved.pk][0] == now - timedelta(days=7)
    assert copies[bulk[0].pk][0] == now - timedelta(days=9)


def test_search_text_finds_a_disagreeing_created_at_and_mends_it(db):
    order = OrderFactory(number="SEEN-1")
    with connection.cursor() as cursor:
        cursor.execute(triggers.statements(connection.vendor)[0])  # a restore without the trigger
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(days=30))
    with pytest.raises(CommandError, match=r"1 search rows disagree, 0 of them missing \(#SEEN-1\)"):
        call_command("search_text", stdout=StringIO())
    out = StringIO()
    call_command("search_text", "--fix", stdout=out)
    assert "1 search rows written" in out.getvalue()
    assert all(created == copy for created, copy in created_at_copies([order.pk]).values())
    # repair_triggers puts the trigger back: a later change reaches the row again.
    call_command("repair_triggers", stdout=StringIO())
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now())
    assert all(created == copy for created, copy in created_at_copies([order.pk]).values())


@pytest.mark.django_db(transaction=True)
def test_the_migration_copies_every_orders_created_at_into_its_search_row():
    """orders 0011 back to 0010 (no copy, no trigger), an order's created_at changed there, then forward: the
    copy is filled from the orders, and the trigger keeps it from then on."""
    executor = MigrationExecutor(connection)
    before, after = [("orders", "0010_order_search_row")], [("orders", "0011_ordersearch_order_created_at")]
    try:
        orders = OrderFactory.create_batch(2)
        executor.migrate(before)
        with connection.cursor() as cursor:
            columns = connection.introspection.get_table_description(cursor, OrderSearch._meta.db_table)
            assert "order_created_at" not in {column.name for column in columns}
        moved = timezone.now() - timedelta(days=40)
        Order.objects.filter(pk=orders[0].pk).update(created_at=moved)
        executor.loader.build_graph()
        executor.migrate(after)
        copies = created_at_copies([order.pk for order in orders])
        assert copies[orders[0].pk] == (moved, moved)
        assert all(created == copy for created, copy in copies.values())
        Order.objects.filter(pk=orders[1].pk).update(created_at=moved)
        assert created_at_copies([orders[1].pk])[orders[1].pk] == (moved, moved)
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
