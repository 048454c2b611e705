"""The rule book: what every kind of user may do with an order, for every hold and status.

POWERS below is written out from DESIGN.md's roles, not asked of the code. One test per cell compares it with
`order_powers`; another checks that the edit guard the services call says the same as the powers' edit.
"""

import pytest
from django.contrib.auth.models import Permission

from operators.rules import (
    OrderState,
    list_powers,
    order_powers,
    orders_edit_refusals,
)
from operators.selectors import Hold, holders_eligible
from orders.guard import GuardedOrder, edit_guard
from orders.results import Code
from tests.factories import OperatorFactory, SupervisorFactory, UserFactory

# E = edit, A = assign to me, R = release, T = take over, X = transfer, C = comment.
LETTERS = {"edit": "E", "assign": "A", "release": "R", "take_over": "T", "transfer": "X", "comment": "C"}

# (viewer, the order's hold, its status) -> what the viewer may do. Anna is an operator, Ivan another,
# Boris a supervisor, admin a superuser, clerk is staff with view and change permission on orders but in no
# role group, nobody is staff with no permission, gone an inactive operator.
POWERS_TABLE = """
viewer  | free, pending | free, complete | Anna's, pending | Anna's, complete
anna    | A C           | C              | E R C           | E R C
ivan    | A C           | C              | C               | C
boris   | E A X C       | E C            | E R T X C       | E R C
admin   | E A X C       | E C            | E R T X C       | E R C
clerk   | C             | C              | C               | C
nobody  | -             | -              | -               | -
gone    | -             | -              | -               | -
"""


def _table() -> dict[tuple[str, str], set[str]]:
    lines = [line for line in POWERS_TABLE.strip().splitlines()]
    columns = [cell.strip() for cell in lines[0].split("|")[1:]]
    cells = {}
    for line in lines[1:]:
        viewer, *values = (cell.strip() for cell in line.split("|"))
        for column, value in zip(columns, values, strict=True):
            cells[(viewer, column)] = set() if value == "-" else set(value.split())
    return cells


CELLS = _table()


@pytest.fixture
def people(roles):
    clerk = UserFactory(username="clerk", is_staff=True)
    clerk.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="orders", codename__in=["view_order", "change_order"]
        )
    )
    return {
        "anna": OperatorFactory(username="anna", first_name="Anna"),
        "ivan": OperatorFactory(username="ivan", first_name="Ivan"),
        "boris": SupervisorFactory(username="boris", first_name="Boris"),
        "admin": UserFactory(username="admin", is_staff=True, is_superuser=True),
        "clerk": clerk,
        "nobody": UserFactory(username="nobody", is_staff=True),
        "gone": OperatorFactory(username="gone", is_active=False),
    }


def _state(people, column: str) -> OrderState:
    held = column.startswith("Anna's")
    final = column.endswith("complete")
    anna = people["anna"]
    return OrderState(
        number="100042",
        hold=Hold(anna.pk, anna.pk) if held else None,
        holder=anna if held else None,
        status_label="Complete" if final else "Pending",
        final=final,
    )


@pytest.mark.parametrize(("viewer", "column"), sorted(CELLS))
def test_order_powers_match_the_table(people, viewer, column):
    powers = order_powers(people[viewer], _state(people, column))
    allowed = {LETTERS[name] for name, ok in powers.allowed().items() if ok}
    assert allowed == CELLS[(viewer, column)]


@pytest.mark.parametrize(("viewer", "column"), sorted(CELLS))
def test_every_refusal_has_a_code_and_a_sentence(people, viewer, column):
    powers = order_powers(people[viewer], _state(people, column))
    for name, refusal in powers.as_dict().items():
        if refusal is not None:
            assert Code(refusal["code"]) is not Code.DONE, name
            assert refusal["message"].strip(), name


@pytest.mark.parametrize(("viewer", "column"), sorted(CELLS))
def test_the_edit_guard_the_services_call_agrees_with_the_powers(people, viewer, column, orders_pending):
    """The services enforce through the same rule: the guard refuses exactly where powers.edit refuses."""
    user, state = people[viewer], _state(people, column)
    order = orders_pending(final=state.final, held_by=people["anna"] if state.hold else None)
    refusals = orders_edit_refusals(user, [GuardedOrder(order.pk, order.number, order.status_id)])
    expected = order_powers(user, state).edit
    assert (order.pk in refusals) == (expected is not None)
    if expected is not None:
        assert refusals[order.pk].outcome == expected.code


@pytest.fixture
def orders_pending(db):
    from operators.services import orders_assign
    from orders.models import OrderStatus
    from tests.factories import OrderFactory

    def make(*, final: bool, held_by):
        order = OrderFactory()
        if held_by is not None:
            orders_assign(actor=held_by, order_ids=[order.pk])
        if final:
            # A status flagged final after the order was taken: the hold stays until someone acts.
            OrderStatus.objects.filter(code="complete").update(releases_assignment=True)
            type(order).objects.filter(pk=order.pk).update(status_id="complete")
            order.status_id = "complete"
        return order

    return make


def test_refusal_codes_say_why(people):
    anna, ivan = people["anna"], people["ivan"]
    free = OrderState("1", None, None, "Pending", False)
    done = OrderState("2", None, None, "Complete", True)
    annas = OrderState("3", Hold(anna.pk, anna.pk), anna, "Pending", False)
    assert order_powers(ivan, free).edit.code == Code.NOT_HELD
    assert order_powers(ivan, done).edit.code == Code.FINAL_STATUS
    assert "only a supervisor" in order_powers(ivan, done).edit.message
    assert order_powers(ivan, annas).edit.code == Code.HELD_BY
    assert order_powers(ivan, annas).release.code == Code.NOT_ALLOWED
    assert order_powers(anna, annas).assign.code == Code.ALREADY_YOURS
    assert order_powers(ivan, done).assign.code == Code.FINAL_STATUS
    assert order_powers(people["gone"], free).comment.code == Code.INACTIVE
    assert order_powers(people["clerk"], free).assign.code == Code.NOT_ALLOWED
    assert order_powers(ivan, free).transfer.code == Code.NOT_ALLOWED


def test_staff_with_change_permission_in_no_group_is_not_offered_assign_to_me(people):
    """The disagreement that started the rule book: such a user was offered Assign and then refused."""
    assert list_powers(people["clerk"]) == {
        "hold": True,
        "assign_to_me": False,
        "assign_others": False,
        "override": False,
    }
    assert people["clerk"] not in holders_eligible()


def test_who_may_hold_orders_is_one_selector(people):
    assert set(holders_eligible().values_list("username", flat=True)) == {"anna", "ivan", "boris", "admin"}


def test_the_edit_guard_is_found_by_its_setting(settings):
    assert edit_guard() is orders_edit_refusals
