"""Claim next reads the front of the free orders only: its cost does not grow with the orders held."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from operators.models import Assignment, AssignmentLog
from operators.services import claim_candidate_sql, order_claim_next
from orderops.conf import orderops_setting
from orderops.events import HoldChanged, HoldEntry, domain_event
from orders.models import Order, OrderStatus
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

# Statements of one claim, all included: the savepoint, the claim, the savepoint's release. On PostgreSQL the
# claim is one statement: the candidate locked, its hold and its log row inserted, the order returned with its
# status (the raw claim's shape). SQLite takes four: the candidate, the hold, the log row, the order.
# The write-back to the stores (stores.writeback) adds none for an order from no store: the claim read the
# order's store with it.
CLAIM_STATEMENTS = {"postgresql": 3, "sqlite": 6}


def make_orders(count: int) -> list[int]:
    status = OrderStatus.objects.get(code="pending")
    return [order.pk for order in Order.objects.bulk_create(OrderFactory.build_batch(count, status=status))]


def hold(order_ids: list[int], user) -> None:
    Assignment.objects.bulk_create(
        [Assignment(order_id=pk, operator=user, assigned_by=user) for pk in order_ids]
    )


def candidate_buffers(*, vacuum: bool = False) -> int:
    """Shared buffers (pages) that claim next's candidate statement touches, as PostgreSQL counts them.
    With `vacuum` (autocommit only), after VACUUM ANALYZE: the steady state, where the index entries of
    row versions no transaction can see any more are gone."""
    sql, params = claim_candidate_sql(list(orderops_setting("CLAIMABLE_STATUSES")), 16)
    with connection.cursor() as cursor:
        tables = "orders_order, operators_free_order"
        cursor.execute(f"VACUUM ANALYZE {tables}" if vacuum else f"ANALYZE {tables}")
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = plan if isinstance(plan, list) else json.loads(plan)
    top = plan[0]["Plan"]
    return top["Shared Hit Blocks"] + top["Shared Read Blocks"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_claim_next_reads_as_much_with_thousands_of_older_held_orders_as_with_none(other_operator):
    # Committed and vacuumed, as a live table is between claims: inside one test transaction the free rows
    # the holds deleted keep their entries in the free orders' index (no one may remove them yet), and so
    # would rows rolled back by earlier tests, which made this figure depend on the tests that ran before
    # it. The query before the hold marker (0007) stepped over every held order even after a vacuum.
    ids = make_orders(3000)
    empty = candidate_buffers(vacuum=True)
    hold(ids[:2500], other_operator)  # the oldest 2,500: the old query stepped over every one of them

    crowded = candidate_buffers(vacuum=True)

    assert crowded <= empty + 10, (empty, crowded)


def test_one_claim_costs_the_same_statements_whatever_the_orders_held(operator, other_operator):
    for held in (10, 500):
        ids = make_orders(held + 5)
        hold(ids[:held], other_operator)
        order_claim_next(actor=operator)  # the first claim loads the permissions
        with CaptureQueriesContext(connection) as queries:
            result = order_claim_next(actor=operator)
        assert result.order is not None and result.order.pk in ids[held:]
        assert len(queries) == CLAIM_STATEMENTS[connection.vendor], [query["sql"][:80] for query in queries]
        Assignment.objects.all().delete()
        Order.objects.update(status="complete")  # out of the next round's way


def test_the_order_a_claim_returns_is_the_row_as_stored_after_the_claim(
    operator, django_capture_on_commit_callbacks
):
    """On PostgreSQL the claim reads the order in the statement that takes it: what it returns must be the
    stored row (the latest version: its hold wrote no word of it), its status loaded, and its HoldChanged
    event must carry the log row that statement wrote."""
    ids = make_orders(3)
    Order.objects.filter(pk=ids[0]).update(customer_name="Changed Before The Claim", version=7)
    received = []

    def receive(sender, event, **kwargs):
        received.append(event)

    domain_event.connect(receive, dispatch_uid="tests.claim_event")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = order_claim_next(actor=operator)
    finally:
        domain_event.disconnect(dispatch_uid="tests.claim_event")

    stored = Order.objects.select_related("status").get(pk=ids[0])
    assert result.order is not None and result.order.pk == ids[0]
    for field in Order._meta.concrete_fields:
        assert getattr(result.order, field.attname) == getattr(stored, field.attname), field.name
    assert result.order.customer_name == "Changed Before The Claim" and result.order.version == 7
    with CaptureQueriesContext(connection) as queries:
        assert result.order.status.label == stored.status.label  # cached: no query
        assert result.order.status.releases_assignment is False
    assert not queries
    entry = AssignmentLog.objects.get(order_id=ids[0])
    [event] = received
    assert isinstance(event, HoldChanged) and event.action == AssignmentLog.Action.ASSIGNED
    assert event.entries == (HoldEntry(entry.pk, ids[0], operator.pk, None),)
    assert (entry.operator_id, entry.actor_id, entry.reason) == (operator.pk, operator.pk, "")
