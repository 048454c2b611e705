"""The order domain's data: default statuses, orders, lines, comments."""

import pytest

from orders.models import OrderStatus
from tests.factories import OrderCommentFactory, OrderFactory, OrderLineFactory


@pytest.mark.django_db
def test_default_statuses_exist_and_final_ones_release_the_hold():
    statuses = {status.code: status.releases_assignment for status in OrderStatus.objects.all()}
    assert statuses == {
        "pending": False,
        "processing": False,
        "on_hold": False,
        "complete": True,
        "closed": True,
        "canceled": True,
    }
    assert list(OrderStatus.objects.values_list("code", flat=True)) == [
        "pending",
        "processing",
        "on_hold",
        "complete",
        "closed",
        "canceled",
    ]


@pytest.mark.django_db
def test_order_numbers_are_unique():
    from django.db import IntegrityError, transaction

    OrderFactory(number="100042")
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderFactory(number="100042")


@pytest.mark.django_db
def test_order_lines_and_comments_belong_to_their_order():
    line = OrderLineFactory(qty=3, name="Green tea")
    comment = OrderCommentFactory(order=line.order, body="Customer called.")
    assert str(line.order) == f"#{line.order.number}"
    assert str(line) == "3 x Green tea"
    assert list(line.order.lines.all()) == [line]
    assert list(line.order.comments.all()) == [comment]
