"""One edit path with a version: every write bumps it, every field change is history, stale saves never land,
and the domain's events go out only after commit."""

import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction

from operators.models import AssignmentLog
from operators.services import orders_assign, orders_take_over
from orderops.events import CommentAdded, HoldChanged, OrderChanged, domain_event
from orders.history import history_replays
from orders.importing import ORDER_FIELDS
from orders.models import Order, OrderChange, OrderLine
from orders.results import Code, OrderLocked, RequestRefused
from orders.services import LinesChange, OrderStale, order_comment_add, order_update, orders_status_set
from tests.factories import OrderFactory, OrderLineFactory


def version_of(order) -> int:
    return Order.objects.values_list("version", flat=True).get(pk=order.pk)


# --- every write path bumps the version ------------------------------------------------------------------


def _edit(order, people):
    order_update(
        actor=people["anna"],
        order_id=order.pk,
        version=version_of(order),
        changes={"customer_phone": "+359 1"},
    )


def _status_service(order, people):
    orders_status_set(actor=people["anna"], order_ids=[order.pk], status_code="on_hold")


def _plain_save(order, people):
    fresh = Order.objects.get(pk=order.pk)
    fresh.shipping_city = "Plovdiv"
    fresh.save()


def _plain_save_some_fields(order, people):
    fresh = Order.objects.get(pk=order.pk)
    fresh.shipping_city = "Varna"
    fresh.save(update_fields=["shipping_city"])


def _import(order, people, tmp_path=None):
    path = people["tmp_path"] / "orders.jsonl"
    # The import's own format: the fields a store sends beside them (payment status, ...) are not in it.
    fields = [name for name in ORDER_FIELDS if name not in ("number", "status", "created_at")]
    record = {
        **{name: str(getattr(order, name)) for name in fields},
        "number": order.number,
        "status": order.status_id,
        "customer_name": "Imported Name",
        "created_at": order.created_at.isoformat(),
        "lines": [],
    }
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    call_command("import_orders", str(path), stdout=open("/dev/null", "w"))  # noqa: SIM115


WRITE_PATHS = {
    "edit service": (_edit, {"customer_phone"}),
    "bulk status service": (_status_service, {"status"}),
    "plain save()": (_plain_save, {"shipping_city"}),
    "save(update_fields=...)": (_plain_save_some_fields, {"shipping_city"}),
    "import_orders": (_import, {"customer_name"}),
}


@pytest.fixture
def people(operator, tmp_path):
    return {"anna": operator, "tmp_path": tmp_path}


@pytest.mark.parametrize("path", list(WRITE_PATHS))
def test_every_write_path_increments_the_version_and_records_its_fields(people, path):
    order = OrderFactory(customer_name="Old Name")
    orders_assign(actor=people["anna"], order_ids=[order.pk])
    before = version_of(order)
    write, fields = WRITE_PATHS[path]

    write(order, people)

    assert version_of(order) == before + 1
    rows = list(OrderChange.objects.filter(order=order))
    assert {row.field for row in rows} == fields
    assert {row.version for row in rows} == {before + 1}
    assert history_replays(Order.objects.get(pk=order.pk)) == []


def test_the_history_replays_to_the_orders_values_after_many_changes(operator, supervisor, superuser):
    order = OrderFactory(customer_name="Start", grand_total=Decimal("10.00"))
    OrderLineFactory(order=order, sku="A-1", qty=1)
    orders_assign(actor=operator, order_ids=[order.pk])
    for step in range(3):
        order_update(
            actor=superuser if step == 2 else operator,  # the store's total: only a superuser corrects it
            order_id=order.pk,
            version=version_of(order),
            changes={
                "customer_name": f"Name {step}",
                **({"grand_total": Decimal("12.50")} if step == 2 else {}),
            },
        )
    line = OrderLine.objects.get(order=order)
    order_update(
        actor=supervisor,
        order_id=order.pk,
        version=version_of(order),
        changes={"shipping_street": "Vitosha Blvd 1"},
        lines=LinesChange(changed={line.pk: {"qty": 3}}, added=[{"sku": "B-2", "name": "Mug", "qty": 1}]),
    )
    orders_status_set(actor=supervisor, order_ids=[order.pk], status_code="processing")

    order = Order.objects.get(pk=order.pk)
    assert order.version == 6
    assert order.updated_by == supervisor
    assert history_replays(order) == []
    lines_row = OrderChange.objects.get(order=order, field="lines")
    assert lines_row.old_value.startswith("1 x A-1")
    assert "3 x A-1" in lines_row.new_value and "1 x B-2 Mug @ 0.00" in lines_row.new_value


def test_an_edit_that_changes_nothing_writes_nothing(operator):
    order = OrderFactory(customer_name="Same")
    orders_assign(actor=operator, order_ids=[order.pk])
    order_update(actor=operator, order_id=order.pk, version=1, changes={"customer_name": "Same"})
    assert version_of(order) == 1
    assert not OrderChange.objects.exists()


def test_history_rows_are_append_only(operator):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    order_update(actor=operator, order_id=order.pk, version=1, changes={"customer_name": "New"})
    row = OrderChange.objects.get()
    with pytest.raises(TypeError):
        row.save()
    with pytest.raises(TypeError):
        row.delete()


# --- a stale save is refused, whoever the two editors are ---------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("supervisor", "operator"),
        ("operator", "supervisor"),
        ("supervisor", "superuser"),
        ("operator", "operator"),
    ],
)
def test_a_save_from_an_older_version_is_refused_and_the_first_save_survives(
    request, operator, first, second
):
    """Anna holds the order; both editors opened it at version 1. The first save lands; the second, from
    version 1, is refused, names who changed what, and saves nothing (the same user twice: two tabs)."""
    people = {name: request.getfixturevalue(name) for name in {"operator", "supervisor", "superuser"}}
    order = OrderFactory(shipping_street="Hauptstraße 36", customer_phone="+49 1")
    orders_assign(actor=operator, order_ids=[order.pk])

    order_update(
        actor=people[first], order_id=order.pk, version=1, changes={"shipping_street": "Vitosha Blvd 1"}
    )
    with pytest.raises(OrderStale) as stale:
        order_update(actor=people[second], order_id=order.pk, version=1, changes={"customer_phone": "+359 2"})

    saved = Order.objects.get(pk=order.pk)
    assert (saved.shipping_street, saved.customer_phone, saved.version) == ("Vitosha Blvd 1", "+49 1", 2)
    refusal = stale.value
    assert refusal.code == Code.STALE
    assert refusal.changed_by == people[first]
    assert [(change.field, change.loaded_value, change.current_value) for change in refusal.changes] == [
        ("shipping_street", "Hauptstraße 36", "Vitosha Blvd 1")
    ]
    assert f"#{order.number}" in refusal.message and "street" in refusal.message
    assert "Your changes were not saved" in refusal.message


def test_a_change_that_was_undone_since_is_not_reported_as_different(operator):
    order = OrderFactory(customer_name="A")
    orders_assign(actor=operator, order_ids=[order.pk])
    order_update(actor=operator, order_id=order.pk, version=1, changes={"customer_name": "B"})
    order_update(actor=operator, order_id=order.pk, version=2, changes={"customer_name": "A"})
    with pytest.raises(OrderStale) as stale:
        order_update(actor=operator, order_id=order.pk, version=1, changes={"customer_phone": "1"})
    assert stale.value.changes == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"grand_total": Decimal("-5")}, "grand total"),
        ({"customer_email": "not an email"}, "customer email"),
        ({"status": "shipped"}, "shipped"),
        ({"version": 7}, "version"),
        ({"id": 9}, "id"),
        ({"customer_name": "x" * 201}, "customer name"),
    ],
)
def test_invalid_edits_are_refused_naming_the_order_and_field_and_change_nothing(superuser, changes, field):
    order = OrderFactory()
    with pytest.raises(RequestRefused) as refused:
        order_update(actor=superuser, order_id=order.pk, version=1, changes=changes)
    assert refused.value.code == Code.INVALID_INPUT
    assert f"#{order.number}" in refused.value.message and field in refused.value.message
    assert version_of(order) == 1 and not OrderChange.objects.exists()


def test_a_duplicate_number_is_refused(operator):
    order, other = OrderFactory.create_batch(2)
    orders_assign(actor=operator, order_ids=[order.pk])
    with pytest.raises(RequestRefused, match="number"):
        order_update(actor=operator, order_id=order.pk, version=1, changes={"number": other.number})


def test_an_invalid_line_is_refused_and_no_line_changes(operator):
    order = OrderFactory()
    line = OrderLineFactory(order=order, qty=2)
    orders_assign(actor=operator, order_ids=[order.pk])
    with pytest.raises(RequestRefused, match="line"):
        order_update(
            actor=operator,
            order_id=order.pk,
            version=1,
            changes={},
            lines=LinesChange(changed={line.pk: {"qty": 3}}, added=[{"sku": "", "name": "", "qty": 1}]),
        )
    assert OrderLine.objects.get(pk=line.pk).qty == 2 and OrderLine.objects.count() == 1


def test_lines_are_guarded_like_the_order(operator, other_operator):
    order = OrderFactory()
    line = OrderLineFactory(order=order, qty=2)
    orders_assign(actor=operator, order_ids=[order.pk])
    with pytest.raises(OrderLocked):
        order_update(
            actor=other_operator,
            order_id=order.pk,
            version=1,
            changes={},
            lines=LinesChange(deleted=[line.pk]),
        )
    assert OrderLine.objects.filter(pk=line.pk).exists()


def test_the_bulk_status_change_records_each_orders_old_status_in_one_statement(
    supervisor, django_assert_num_queries
):
    orders = OrderFactory.create_batch(3)
    Order.objects.filter(pk=orders[0].pk).update(status_id="processing")
    orders_status_set(actor=supervisor, order_ids=[order.pk for order in orders], status_code="on_hold")
    rows = {row.order_id: (row.old_value, row.new_value, row.version) for row in OrderChange.objects.all()}
    assert rows == {
        orders[0].pk: ("processing", "on_hold", 2),
        orders[1].pk: ("pending", "on_hold", 2),
        orders[2].pk: ("pending", "on_hold", 2),
    }


# --- events after commit -------------------------------------------------------------------------------


@pytest.fixture
def events():
    received = []

    def receive(sender, event, **kwargs):
        received.append(event)

    domain_event.connect(receive, dispatch_uid="tests.events")
    yield received
    domain_event.disconnect(dispatch_uid="tests.events")


def test_events_are_sent_after_commit(operator, events, django_capture_on_commit_callbacks):
    order = OrderFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        orders_assign(actor=operator, order_ids=[order.pk])
        order_update(actor=operator, order_id=order.pk, version=1, changes={"customer_name": "New"})
        order_comment_add(actor=operator, order_id=order.pk, body="Called")
    assert events == []  # nothing before the commit
    for callback in callbacks:
        callback()
    kinds = [type(event) for event in events]
    assert kinds == [HoldChanged, OrderChanged, CommentAdded]
    hold, change, comment = events
    assert (hold.order_ids, hold.action, hold.actor_id) == ((order.pk,), "assigned", operator.pk)
    assert (change.order_ids, change.fields, change.actor_id) == (
        (order.pk,),
        ("customer_name",),
        operator.pk,
    )
    assert (comment.order_id, comment.actor_id) == (order.pk, operator.pk)


def test_a_rolled_back_change_sends_no_event(
    operator, supervisor, events, django_capture_on_commit_callbacks
):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                orders_take_over(actor=supervisor, order_ids=[order.pk], reason="rush")
                orders_status_set(actor=supervisor, order_ids=[order.pk], status_code="complete")
                raise RuntimeError("the request failed after the changes")
        except RuntimeError:
            pass
    assert callbacks == [] and events == []
    assert AssignmentLog.objects.filter(order=order).count() == 1  # only the assign


def test_a_failing_receiver_does_not_undo_the_change(operator, django_capture_on_commit_callbacks):
    def broken(sender, event, **kwargs):
        raise ValueError("receiver bug")

    domain_event.connect(broken, dispatch_uid="tests.broken")
    try:
        order = OrderFactory()
        with django_capture_on_commit_callbacks(execute=True):
            result = orders_assign(actor=operator, order_ids=[order.pk])
        assert result.done_ids == [order.pk]
    finally:
        domain_event.disconnect(dispatch_uid="tests.broken")
