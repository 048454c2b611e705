"""Claim next passes over the orders it is asked to avoid (the ones a colleague has open) while any other
order is free, takes one of them when nothing else is left, and costs the same statements however many
orders it avoids."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from operators.models import Assignment
from operators.services import order_claim_next
from orders.models import Order, OrderStatus
from orders.results import Code
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db(transaction=False)

# As tests/operators/test_claim_cost.py: the savepoint, the claim, the savepoint's release. On PostgreSQL the
# claim is one statement (the candidate, its hold, its log row and the order with its status); SQLite takes
# four (the candidate, the hold, the log row, the order).
# The write-back to the stores (stores.writeback) adds none for an order from no store.
CLAIM_STATEMENTS = {"postgresql": 3, "sqlite": 6}


def oldest_first(count: int) -> list[Order]:
    """`count` pending orders, the first the oldest."""
    status = OrderStatus.objects.get(code="pending")
    start = timezone.now() - timedelta(days=1)
    return [OrderFactory(status=status, created_at=start + timedelta(minutes=n)) for n in range(count)]


def test_claim_next_passes_over_the_orders_it_is_asked_to_avoid(operator):
    first, second, third = oldest_first(3)
    result = order_claim_next(actor=operator, avoid_order_ids=[first.pk, second.pk])
    assert result.outcome == Code.DONE and result.order.pk == third.pk


def test_claim_next_takes_an_avoided_order_when_nothing_else_is_left(operator, other_operator):
    first, second, third = oldest_first(3)
    Assignment.objects.create(order=third, operator=other_operator, assigned_by=other_operator)
    result = order_claim_next(actor=operator, avoid_order_ids=[second.pk, first.pk])
    assert result.outcome == Code.DONE and result.order.pk == first.pk  # the oldest of the avoided ones
    assert Assignment.objects.get(order=first).operator == operator


def test_claim_next_without_anything_free_still_says_so(operator, other_operator):
    (only,) = oldest_first(1)
    Assignment.objects.create(order=only, operator=other_operator, assigned_by=other_operator)
    result = order_claim_next(actor=operator, avoid_order_ids=[only.pk])
    assert result.outcome == Code.NOT_FOUND


@pytest.mark.parametrize("avoided", [1, 400])
def test_a_claim_costs_the_same_statements_however_many_orders_it_avoids(operator, avoided):
    orders = oldest_first(3)
    order_claim_next(actor=operator)  # takes orders[0], and loads the permissions
    avoid = [orders[1].pk, *range(10_000_000, 10_000_000 + avoided - 1)]
    with CaptureQueriesContext(connection) as queries:
        result = order_claim_next(actor=operator, avoid_order_ids=avoid)
    assert result.order.pk == orders[2].pk
    assert len(queries) == CLAIM_STATEMENTS[connection.vendor], [query["sql"][:80] for query in queries]
