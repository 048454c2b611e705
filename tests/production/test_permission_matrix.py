# ruff: noqa: E501 (MATRIX_TABLE is a table: one line per request)
"""Test 2: the permission matrix. Every console URL and admin action, for every kind of user, through HTTP.

MATRIX below is the one table of what each user gets. One test per cell makes the request and checks the
outcome, each cell on the same fresh world (a savepoint of it), checking that a refused request changed no
product table and that a "done" made exactly its change. docs/permissions.md is generated from the same table
(`UPDATE_DOCS=1 pytest tests/production/test_permission_matrix.py` rewrites it; a test keeps it in step).

The world: order #900001 held by Hanna (an operator, who took it herself), order #900002 free, both pending;
a comment on #900001. The roles:

- anonymous: no session (for the login row: Hanna's username with a wrong password).
- non-staff: an active user in the Operators group, without is_staff.
- staff, no role: is_staff, in no group.
- staff, change perm: is_staff, in no group, given an operator's permissions directly except
  operators.hold_orders (may view, change and comment on orders, but may not hold them).
- holder: Hanna, an operator who holds #900001.
- other operator: Otto, an operator who holds nothing.
- supervisor: Boris, in the Supervisors group.
- superuser: is_staff and is_superuser, in no group.
- inactive: an operator whose account was deactivated after she logged in (her session cookie stays); for the
  login row, deactivated before she tries.
"""

import importlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, resolve

from operators.models import Assignment, AssignmentLog
from operators.roles import OPERATOR_PERMISSIONS
from operators.rules import HOLD_ORDERS
from operators.services import orders_assign, roles_setup
from orders.models import Order, OrderComment, OrderStatus
from tests.factories import (
    TEST_PASSWORD,
    OperatorFactory,
    OrderCommentFactory,
    OrderFactory,
    SupervisorFactory,
    UserFactory,
)
from tests.http_server import BASE_DIR
from tests.snapshots import snapshot_diff, tables_snapshot

User = get_user_model()
DEFAULT_STATUSES = importlib.import_module("orders.migrations.0002_default_statuses").DEFAULT_STATUSES

HELD, FREE = "900001", "900002"
EDITED_NAME = "Edited through the matrix"
EDITED_LABEL = "Pending (edited)"
COMMENT = "Called the customer"
TAKE_OVER_REASON = "Hanna is ill"
RELEASE_REASON = "Hanna went home"
LOGIN_PATH = "/admin/login/"
LIST_PATH = "/admin/orders/order/"
DOCS = BASE_DIR / "docs" / "permissions.md"

# What each kind of user gets from each request.
#   login        redirected to the login page; nothing changed
#   403          refused with "403 Forbidden"; nothing changed
#   200          the page is shown; nothing changed
#   edit, read-only   the order page, with its form editable or not, and the hold buttons it shows:
#                A = Assign to me, R = Release, T = Take over
#   200: …       the order list, with the actions it offers: A = Assign to me, R = Release, S = Set status,
#                O = Assign to an operator, T = Take over, D = Delete
#   done         the change was made: exactly the row's change, nothing else
#   refused [x]  the page shows message [x] (MESSAGES); nothing changed
#   → list       redirected to the order list
#   → queue      redirected to the person's working queue (their orders, or the unassigned open ones)
#   logged in    the login form accepted the user's password and opened a session
MATRIX_TABLE = """
request                               | anonymous       | non-staff       | staff, no role | staff, change perm        | holder                  | other operator          | supervisor          | superuser        | inactive
log in (login form POST)              | refused [login] | refused [login] | logged in      | logged in                 | logged in               | logged in               | logged in           | logged in        | refused [login]
site root GET /                       | → list          | → list          | → list         | → list                    | → list                  | → list                  | → list              | → list           | → list
admin index GET                       | login           | login           | 200            | → queue                   | → queue                 | → queue                 | → queue             | → queue          | login
order list GET                        | login           | login           | 403            | 200: R S                  | 200: A R S              | 200: A R S              | 200: A R S O T      | 200: A R S O T D | login
order page GET (held by Hanna)        | login           | login           | 403            | read-only                 | edit R                  | read-only               | edit R T            | edit R T         | login
order page GET (free order)           | login           | login           | 403            | read-only                 | read-only A             | read-only A             | edit A              | edit A           | login
order page POST (edit #900001)        | login           | login           | 403            | refused [edit held]       | done                    | refused [edit held]     | done                | done             | login
order page POST (edit #900002, free)  | login           | login           | 403            | refused [edit free, no role] | refused [edit free]     | refused [edit free]     | done                | done             | login
order history GET                     | login           | login           | 403            | 200                       | 200                     | 200                     | 200                 | 200              | login
order add GET                         | login           | login           | 403            | 403                       | 403                     | 403                     | 403                 | 200              | login
order delete page GET (free order)    | login           | login           | 403            | 403                       | 403                     | 403                     | 403                 | 200              | login
order delete POST (free order)        | login           | login           | 403            | 403                       | 403                     | 403                     | 403                 | done             | login
assign button POST (free order)       | login           | login           | 403            | refused [assign, no role] | done                    | done                    | done                | done             | login
release button POST (a reason)        | login           | login           | 403            | refused [release]         | done                    | refused [release]       | done                | done             | login
take-over button POST (a reason)      | login           | login           | 403            | refused [no override C]   | refused [no override H] | refused [no override O] | done                | done             | login
transfer button POST (to Otto)        | login           | login           | 403            | refused [no transfer C]   | refused [no transfer H] | refused [no transfer O] | done                | done             | login
comment POST                          | login           | login           | 403            | done                      | done                    | done                    | done                | done             | login
update POST (a comment)               | login           | login           | 403            | done                      | done                    | done                    | done                | done             | login
get next order POST                   | login           | login           | 403            | refused [next, no role]   | done                    | done                    | done                | done             | login
workload GET                          | login           | login           | 403            | 200                       | 200                     | 200                     | 200                 | 200              | login
queue counts GET                      | login           | login           | 403            | 200                       | 200                     | 200                     | 200                 | 200              | login
action: assign to me (free order)     | login           | login           | 403            | refused [no action]       | done                    | done                    | done                | done             | login
action: release (a reason)            | login           | login           | 403            | refused [release]         | done                    | refused [release]       | done                | done             | login
action: assign to Otto (free order)   | login           | login           | 403            | refused [no action]       | refused [no action]     | refused [no action]     | done                | done             | login
action: take over (a reason)          | login           | login           | 403            | refused [no action]       | refused [no action]     | refused [no action]     | done                | done             | login
action: set status to processing      | login           | login           | 403            | refused [held]            | done                    | refused [held]          | done                | done             | login
action: delete (free order)           | login           | login           | 403            | refused [no action]       | refused [no action]     | refused [no action]     | refused [no action] | done             | login
order statuses list GET               | login           | login           | 403            | 200                       | 200                     | 200                     | 200                 | 200              | login
order status page GET                 | login           | login           | 403            | 200                       | 200                     | 200                     | 200                 | 200              | login
order status POST (relabel pending)   | login           | login           | 403            | 403                       | 403                     | 403                     | 403                 | done             | login
order status add GET                  | login           | login           | 403            | 403                       | 403                     | 403                     | 403                 | 200              | login
order status delete POST (closed)     | login           | login           | 403            | 403                       | 403                     | 403                     | 403                 | done             | login
assignments list GET                  | login           | login           | 403            | 200                       | 200                     | 200                     | 200                 | 200              | login
assignment page GET                   | login           | login           | 403            | 200                       | 200                     | 200                     | 200                 | 200              | login
assignment add GET                    | login           | login           | 403            | 403                       | 403                     | 403                     | 403                 | 403              | login
assignment delete POST (Hanna's hold) | login           | login           | 403            | 403                       | 403                     | 403                     | 403                 | 403              | login
assignment log list GET               | login           | login           | 403            | 200                       | 200                     | 200                     | 200                 | 200              | login
assignment log entry GET              | login           | login           | 403            | 200                       | 200                     | 200                     | 200                 | 200              | login
assignment log add GET                | login           | login           | 403            | 403                       | 403                     | 403                     | 403                 | 403              | login
assignment log entry delete POST      | login           | login           | 403            | 403                       | 403                     | 403                     | 403                 | 403              | login
internal comments list GET            | login           | login           | 403            | 200                       | 200                     | 200                     | 200                 | 200              | login
internal comment page GET             | login           | login           | 403            | 200                       | 200                     | 200                     | 200                 | 200              | login
internal comment add GET              | login           | login           | 403            | 403                       | 403                     | 403                     | 403                 | 403              | login
internal comment delete POST          | login           | login           | 403            | 403                       | 403                     | 403                     | 403                 | done             | login
users list GET                        | login           | login           | 403            | 403                       | 403                     | 403                     | 403                 | 200              | login
groups list GET                       | login           | login           | 403            | 403                       | 403                     | 403                     | 403                 | 200              | login
"""

# The refusals people read, by key.
MESSAGES: dict[str, str] = {
    "login": (
        "Please enter the correct username and password for a staff account. "
        "Note that both fields may be case-sensitive."
    ),
    "held": "#900001 is held by Hanna.",
    "edit held": "Your changes to #900001 were not saved: held by Hanna.",
    "edit free": "Your changes to #900002 were not saved: nobody holds it; assign it to yourself first.",
    "release": (
        "#900001: held by Hanna; only the holder, whoever assigned it, or a supervisor may release it."
    ),
    "no override H": "Nothing was taken over: Hanna is not a supervisor.",
    "no override O": "Nothing was taken over: Otto is not a supervisor.",
    "no override C": "Nothing was taken over: Carl is not a supervisor.",
    "no transfer H": "Nothing was reassigned: Hanna may not assign orders to other operators.",
    "no transfer O": "Nothing was reassigned: Otto may not assign orders to other operators.",
    "no transfer C": "Nothing was reassigned: Carl may not assign orders to other operators.",
    "assign, no role": "Nothing was assigned: Carl is neither an Operator nor a Supervisor.",
    "next, no role": "No order was taken: Carl is neither an Operator nor a Supervisor.",
    "edit free, no role": (
        "Your changes to #900002 were not saved: nobody holds it, and only operators and supervisors can take"
        " orders."
    ),
    "no action": "No action selected.",
}


def parse_table(text: str) -> tuple[tuple[str, ...], dict[str, dict[str, str]]]:
    header, *rows = [[cell.strip() for cell in line.split("|")] for line in text.strip().splitlines()]
    roles = tuple(header[1:])
    table = {}
    for cells in rows:
        assert len(cells) == len(header), (
            f"row {cells[0]!r} has {len(cells) - 1} cells for {len(roles)} roles"
        )
        assert cells[0] not in table, f"row {cells[0]!r} appears twice"
        table[cells[0]] = dict(zip(roles, cells[1:], strict=True))
    return roles, table


ROLES, MATRIX = parse_table(MATRIX_TABLE)


# --- the world of one cell ----------------------------------------------------------------------------------


@dataclass
class World:
    users: dict[str, User | None]
    held: Order
    free: Order
    comment: OrderComment

    @property
    def hold(self) -> Assignment:
        return Assignment.objects.get(order=self.held)

    @property
    def log_entry(self) -> AssignmentLog:
        return AssignmentLog.objects.get(order=self.held)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    """Built once for the module, inside a transaction rolled back at its end; each cell runs in a savepoint
    of it (pytest-django's db fixture), so every cell starts from this same world."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


def build_world() -> World:
    # The statuses a data migration made: a transactional test that ran before may have flushed them.
    for code, label, position, releases in DEFAULT_STATUSES:
        OrderStatus.objects.get_or_create(
            code=code, defaults={"label": label, "position": position, "releases_assignment": releases}
        )
    roles_setup()
    pending = OrderStatus.objects.get(code="pending")
    holder = OperatorFactory(username="hanna", first_name="Hanna")
    users = {
        "anonymous": None,
        "non-staff": OperatorFactory(username="pat", first_name="Pat", is_staff=False),
        "staff, no role": UserFactory(username="sam", first_name="Sam", is_staff=True),
        "staff, change perm": staff_with_permissions(
            [name for name in OPERATOR_PERMISSIONS if name != HOLD_ORDERS],
            username="carl",
            first_name="Carl",
        ),
        "holder": holder,
        "other operator": OperatorFactory(username="otto", first_name="Otto"),
        "supervisor": SupervisorFactory(username="boris", first_name="Boris"),
        "superuser": UserFactory(username="root", first_name="Root", is_staff=True, is_superuser=True),
        "inactive": OperatorFactory(username="ines", first_name="Ines"),
    }
    held = OrderFactory(number=HELD, status=pending, customer_name="Mara Petrova")
    free = OrderFactory(number=FREE, status=pending, customer_name="Ivo Stoev")
    orders_assign(actor=holder, order_ids=[held.pk])
    comment = OrderCommentFactory(order=held, author=holder, body="First call")
    return World(users, held, free, comment)


def staff_with_permissions(names: list[str], **fields) -> User:
    """A staff user in no group, given these permissions ("app_label.codename") directly."""
    user = UserFactory(is_staff=True, **fields)
    user.user_permissions.set(
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in (name.split(".") for name in names)
    )
    return user


def client_for(world: World, role: str) -> Client:
    client = Client(raise_request_exception=False)
    user = world.users[role]
    if user is not None:
        client.force_login(user)
    if role == "inactive":
        User.objects.filter(pk=user.pk).update(is_active=False)  # deactivated after logging in
    return client


# --- the rows: one console URL or action each ---------------------------------------------------------------


def holder_of(order: Order) -> int | None:
    return Assignment.objects.filter(order=order).values_list("operator_id", flat=True).first()


def order_form(world: World, order: Order | None = None) -> dict:
    order = order or world.held
    return {
        "number": order.number,
        "status": order.status_id,
        "customer_name": EDITED_NAME,
        "customer_email": order.customer_email,
        "customer_phone": order.customer_phone,
        "grand_total": str(order.grand_total),
        "currency": order.currency,
        "shipping_name": order.shipping_name,
        "shipping_street": order.shipping_street,
        "shipping_postcode": order.shipping_postcode,
        "shipping_city": order.shipping_city,
        "shipping_country": order.shipping_country,
        "lines-TOTAL_FORMS": "0",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }


def action(name: str, order: Callable[[World], Order], **extra) -> Callable[[World], dict]:
    def data(world: World) -> dict:
        return {"action": name, "index": "0", "_selected_action": [order(world).pk], **extra}

    return data


def held(world: World) -> Order:
    return world.held


def free(world: World) -> Order:
    return world.free


def order_url(suffix: str, order: Callable[[World], Order] = held) -> Callable[[World], str]:
    return lambda world: f"{LIST_PATH}{order(world).pk}/{suffix}"


@dataclass(frozen=True)
class Row:
    label: str
    method: str
    path: Callable[[World], str]
    data: Callable[[World], dict] = lambda world: {}
    # For a state-changing row: did the change it asks for happen, and was it made by/for `user`?
    done: Callable[[World, User], bool] | None = None


ROWS: dict[str, Row] = {
    row.label: row
    for row in [
        Row("log in (login form POST)", "POST", lambda world: LOGIN_PATH),
        Row("site root GET /", "GET", lambda world: "/"),
        Row("admin index GET", "GET", lambda world: "/admin/"),
        Row("order list GET", "GET", lambda world: LIST_PATH),
        Row("order page GET (held by Hanna)", "GET", order_url("change/")),
        Row("order page GET (free order)", "GET", order_url("change/", free)),
        Row(
            "order page POST (edit #900001)",
            "POST",
            order_url("change/"),
            order_form,
            done=lambda world, user: Order.objects.get(pk=world.held.pk).customer_name == EDITED_NAME,
        ),
        Row(
            "order page POST (edit #900002, free)",
            "POST",
            order_url("change/", free),
            lambda world: order_form(world, world.free),
            done=lambda world, user: Order.objects.get(pk=world.free.pk).customer_name == EDITED_NAME,
        ),
        Row("order history GET", "GET", order_url("history/")),
        Row("order add GET", "GET", lambda world: f"{LIST_PATH}add/"),
        Row("order delete page GET (free order)", "GET", order_url("delete/", free)),
        Row(
            "order delete POST (free order)",
            "POST",
            order_url("delete/", free),
            lambda world: {"post": "yes"},
            done=lambda world, user: not Order.objects.filter(pk=world.free.pk).exists(),
        ),
        Row(
            "assign button POST (free order)",
            "POST",
            order_url("assign/", free),
            done=lambda world, user: holder_of(world.free) == user.pk,
        ),
        # A colleague's hold is released with a reason (the holder is told); the holder's own needs none:
        # tests/console/test_admin.py.
        Row(
            "release button POST (a reason)",
            "POST",
            order_url("release/"),
            lambda world: {"reason": RELEASE_REASON},
            done=lambda world, user: holder_of(world.held) is None,
        ),
        Row(
            "take-over button POST (a reason)",
            "POST",
            order_url("take-over/"),
            lambda world: {"reason": TAKE_OVER_REASON},
            done=lambda world, user: holder_of(world.held) == user.pk,
        ),
        Row(
            "transfer button POST (to Otto)",
            "POST",
            order_url("transfer/"),
            lambda world: {"operator": world.users["other operator"].pk},
            done=lambda world, user: holder_of(world.held) == world.users["other operator"].pk,
        ),
        Row(
            "comment POST",
            "POST",
            order_url("comment/"),
            lambda world: {"body": COMMENT},
            done=lambda world, user: OrderComment.objects.filter(body=COMMENT, author=user).count() == 1,
        ),
        # The Update box's URL; who may set which status through it: tests/console/test_flow_and_update.py.
        Row(
            "update POST (a comment)",
            "POST",
            order_url("update/"),
            lambda world: {"body": COMMENT},
            done=lambda world, user: OrderComment.objects.filter(body=COMMENT, author=user).count() == 1,
        ),
        Row(
            "get next order POST",
            "POST",
            lambda world: f"{LIST_PATH}claim-next/",
            done=lambda world, user: holder_of(world.free) == user.pk,
        ),
        Row("workload GET", "GET", lambda world: f"{LIST_PATH}workload/"),
        Row("queue counts GET", "GET", lambda world: f"{LIST_PATH}queues/"),
        Row(
            "action: assign to me (free order)",
            "POST",
            lambda world: LIST_PATH,
            action("assign_to_me", free),
            done=lambda world, user: holder_of(world.free) == user.pk,
        ),
        Row(
            "action: release (a reason)",
            "POST",
            lambda world: LIST_PATH,
            action("release", held, post="yes", reason=RELEASE_REASON),
            done=lambda world, user: holder_of(world.held) is None,
        ),
        Row(
            "action: assign to Otto (free order)",
            "POST",
            lambda world: LIST_PATH,
            lambda world: action(
                "assign_to_operator", free, post="yes", operator=world.users["other operator"].pk
            )(world),
            done=lambda world, user: Assignment.objects.filter(
                order=world.free, operator=world.users["other operator"], assigned_by=user
            ).exists(),
        ),
        Row(
            "action: take over (a reason)",
            "POST",
            lambda world: LIST_PATH,
            action("take_over", held, post="yes", reason=TAKE_OVER_REASON),
            done=lambda world, user: holder_of(world.held) == user.pk,
        ),
        Row(
            "action: set status to processing",
            "POST",
            lambda world: LIST_PATH,
            action("set_status", held, post="yes", status="processing"),
            done=lambda world, user: Order.objects.get(pk=world.held.pk).status_id == "processing",
        ),
        Row(
            "action: delete (free order)",
            "POST",
            lambda world: LIST_PATH,
            action("delete_selected", free, post="yes"),
            done=lambda world, user: not Order.objects.filter(pk=world.free.pk).exists(),
        ),
        Row("order statuses list GET", "GET", lambda world: "/admin/orders/orderstatus/"),
        Row("order status page GET", "GET", lambda world: "/admin/orders/orderstatus/pending/change/"),
        Row(
            "order status POST (relabel pending)",
            "POST",
            lambda world: "/admin/orders/orderstatus/pending/change/",
            lambda world: {"code": "pending", "label": EDITED_LABEL, "position": "10"},
            done=lambda world, user: OrderStatus.objects.get(code="pending").label == EDITED_LABEL,
        ),
        Row("order status add GET", "GET", lambda world: "/admin/orders/orderstatus/add/"),
        Row(
            "order status delete POST (closed)",
            "POST",
            lambda world: "/admin/orders/orderstatus/closed/delete/",
            lambda world: {"post": "yes"},
            done=lambda world, user: not OrderStatus.objects.filter(code="closed").exists(),
        ),
        Row("assignments list GET", "GET", lambda world: "/admin/operators/assignment/"),
        Row(
            "assignment page GET",
            "GET",
            lambda world: f"/admin/operators/assignment/{world.hold.pk}/change/",
        ),
        Row("assignment add GET", "GET", lambda world: "/admin/operators/assignment/add/"),
        Row(
            "assignment delete POST (Hanna's hold)",
            "POST",
            lambda world: f"/admin/operators/assignment/{world.hold.pk}/delete/",
            lambda world: {"post": "yes"},
            done=lambda world, user: holder_of(world.held) is None,
        ),
        Row("assignment log list GET", "GET", lambda world: "/admin/operators/assignmentlog/"),
        Row(
            "assignment log entry GET",
            "GET",
            lambda world: f"/admin/operators/assignmentlog/{world.log_entry.pk}/change/",
        ),
        Row("assignment log add GET", "GET", lambda world: "/admin/operators/assignmentlog/add/"),
        Row(
            "assignment log entry delete POST",
            "POST",
            lambda world: f"/admin/operators/assignmentlog/{world.log_entry.pk}/delete/",
            lambda world: {"post": "yes"},
            done=lambda world, user: not AssignmentLog.objects.exists(),
        ),
        Row("internal comments list GET", "GET", lambda world: "/admin/orders/ordercomment/"),
        Row(
            "internal comment page GET",
            "GET",
            lambda world: f"/admin/orders/ordercomment/{world.comment.pk}/change/",
        ),
        Row("internal comment add GET", "GET", lambda world: "/admin/orders/ordercomment/add/"),
        Row(
            "internal comment delete POST",
            "POST",
            lambda world: f"/admin/orders/ordercomment/{world.comment.pk}/delete/",
            lambda world: {"post": "yes"},
            done=lambda world, user: not OrderComment.objects.filter(pk=world.comment.pk).exists(),
        ),
        Row("users list GET", "GET", lambda world: "/admin/auth/user/"),
        Row("groups list GET", "GET", lambda world: "/admin/auth/group/"),
    ]
}

ACTION_LETTERS = {
    "assign_to_me": "A",
    "release": "R",
    "set_status": "S",
    "assign_to_operator": "O",
    "take_over": "T",
    "delete_selected": "D",
}
HOLD_BUTTONS = {"assign-button": "A", "release-button": "R", "take-over-button": "T"}


def observe_login(world: World, role: str) -> str:
    """The login form, posted with the role's username and password (anonymous: Hanna's name, a wrong
    password); the inactive user is deactivated first."""
    client = Client(raise_request_exception=False)
    user = world.users[role]
    if role == "inactive":
        User.objects.filter(pk=user.pk).update(is_active=False)
    credentials = (
        {"username": user.username, "password": TEST_PASSWORD}
        if user
        else {
            "username": "hanna",
            "password": "not-her-password",
        }
    )
    response = client.post(LOGIN_PATH, {**credentials, "next": "/admin/"})
    if response.status_code == 302 and response.url == "/admin/" and "_auth_user_id" in client.session:
        return "logged in"
    if response.status_code == 200 and "_auth_user_id" not in client.session:
        errors = response.context["form"].non_field_errors()
        return "refused " + " ".join(f"[{message_key(error)}]" for error in errors)
    return f"{response.status_code}"


def message_key(text: str) -> str:
    return next((key for key, known in MESSAGES.items() if known == text), repr(text))


def observe(row: Row, world: World, role: str) -> str:
    """Make the row's request as `role` and say, in the table's words, what happened."""
    if row.label.startswith("log in"):
        return observe_login(world, role)
    client = client_for(world, role)
    user = world.users[role]
    before = tables_snapshot()
    if row.method == "GET":
        response = client.get(row.path(world))
    else:
        response = client.post(row.path(world), row.data(world))
    after = tables_snapshot()
    status = response.status_code
    if after != before:
        if row.done is None or user is None or not row.done(world, user):
            return f"changed unexpectedly ({status}): {snapshot_diff(before, after)}"
        return "done"
    if status >= 500:
        return f"{status}: {response.exc_info[1]!r}" if response.exc_info else str(status)
    if status == 302 and response.url.startswith(LOGIN_PATH):
        return "login"
    if status in (400, 403, 404, 405):
        return str(status)
    texts = [str(message) for message in get_messages(response.wsgi_request)]
    if texts:
        return "refused " + " ".join(f"[{message_key(text)}]" for text in texts)
    if status == 302:
        if response.url == LIST_PATH:
            return "→ list"
        if response.url in (f"{LIST_PATH}?held=mine", f"{LIST_PATH}?held=open"):
            return "→ queue"
        return f"302 → {response.url}"
    if status == 200 and row.method == "POST":
        return "200, nothing changed"
    if status == 200 and row.label.startswith("order page GET"):
        html = response.content.decode()
        mode = "edit" if 'name="customer_name"' in html else "read-only"
        buttons = [letter for element, letter in HOLD_BUTTONS.items() if f'id="{element}"' in html]
        return " ".join([mode, *buttons])
    if status == 200 and row.label == "order list GET":
        offered = {choice for choice, _label in response.context["action_form"].fields["action"].choices}
        return "200: " + " ".join(letter for name, letter in ACTION_LETTERS.items() if name in offered)
    return str(status)


CELLS = [(label, role) for label in MATRIX for role in ROLES]


@pytest.mark.parametrize(("label", "role"), CELLS, ids=[f"{label} | {role}" for label, role in CELLS])
def test_permission_matrix_cell(db, world, label, role):
    assert observe(ROWS[label], world, role) == MATRIX[label][role]


# --- no cell untested: every console URL and every action has a row; every row has a cell per role ----------


def test_every_row_has_one_outcome_per_role_and_every_request_has_a_row():
    assert ROLES == (
        "anonymous",
        "non-staff",
        "staff, no role",
        "staff, change perm",
        "holder",
        "other operator",
        "supervisor",
        "superuser",
        "inactive",
    )
    assert list(MATRIX) == list(ROWS), "MATRIX_TABLE and ROWS must list the same requests, in one order"
    unknown = {
        outcome
        for cells in MATRIX.values()
        for outcome in cells.values()
        for key in re.findall(r"\[([^\]]+)\]", outcome)
        if key not in MESSAGES
    }
    assert not unknown, f"cells name messages that MESSAGES does not have: {unknown}"


def admin_url_names(patterns=None, namespace="admin") -> set[str]:
    names = set()
    for pattern in admin.site.urls[0] if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            names |= admin_url_names(pattern.url_patterns, namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(pattern.name)
    return names


# Admin URLs that the matrix leaves out, and why.
NOT_IN_MATRIX = {
    "logout": "POST-only; ends one's own session",
    "password_change": "one's own password",
    "password_change_done": "one's own password",
    "jsi18n": "the admin's JavaScript catalog, no data",
    "autocomplete": "no ModelAdmin declares autocomplete_fields",
    "view_on_site": "no model has get_absolute_url",
    "app_list": "an app's index: the admin index filtered by app",
    "index": "the admin's index, shadowed by the console's landing at the same address (row: admin index GET)",
    "orders_order_by_number": "a redirect to the order page, which is in the matrix; view_order as the list "
    "(tests/console/test_consistency.py)",
    **dict.fromkeys(
        [
            "api_apikey_changelist",
            "api_apikey_change",
            "api_apikey_add",
            "api_apikey_delete",
            "api_apikey_history",
        ],
        "API keys: superusers only, no add or delete (tests/api/test_auth.py)",
    ),
    **dict.fromkeys(
        [
            *(
                f"stores_store_{page}"
                for page in ("changelist", "change", "add", "delete", "history", "replay", "retry_changes")
            ),
            *(f"stores_delivery_{page}" for page in ("changelist", "change", "add", "delete", "history")),
        ],
        "connected stores and their deliveries: superusers only (tests/stores/test_admin.py)",
    ),
    **dict.fromkeys(
        [
            "orders_orderstatus_history",
            "orders_ordercomment_history",
            "operators_assignment_history",
            "operators_assignmentlog_history",
        ],
        "the admin's edit history of a row: same permission as its page (the order's is in the matrix)",
    ),
    **dict.fromkeys(
        [
            "auth_user_add",
            "auth_user_change",
            "auth_user_delete",
            "auth_user_history",
            "auth_user_password_change",
            "auth_group_add",
            "auth_group_change",
            "auth_group_delete",
            "auth_group_history",
        ],
        "Django's user and group pages: superusers only, like their lists, which are in the matrix",
    ),
}


def test_every_console_url_and_every_order_action_is_in_the_matrix(db, world):
    covered = {resolve(row.path(world)).url_name for row in ROWS.values()}
    missing = admin_url_names() - covered - set(NOT_IN_MATRIX)
    assert not missing, f"console URLs with neither a row in the matrix nor a reason: {sorted(missing)}"
    assert not covered & set(NOT_IN_MATRIX)

    client = Client()
    client.force_login(world.users["superuser"])
    offered = client.get(LIST_PATH).context["action_form"].fields["action"].choices
    actions = {name for name, _label in offered if name}
    in_matrix = {row.data(world).get("action") for row in ROWS.values()} - {None}
    assert actions == in_matrix, f"order actions with no row: {actions - in_matrix}"


def test_matrix_size():
    # 46 requests x 9 kinds of user: a row or a column lost by accident fails here.
    assert (len(MATRIX), len(ROWS), len(ROLES), len(CELLS)) == (46, 46, 9, 414)


# --- docs/permissions.md, generated from the table ----------------------------------------------------------


def permissions_markdown() -> str:
    lines = [
        "# Who may do what in the console",
        "",
        "Generated from `MATRIX_TABLE` in `tests/production/test_permission_matrix.py`, where one test per",
        "cell checks it through HTTP: do not edit by hand. Regenerate with",
        "`UPDATE_DOCS=1 .venv/bin/python -m pytest tests/production/test_permission_matrix.py`.",
        "",
        f"{len(MATRIX)} requests x {len(ROLES)} kinds of user = {len(MATRIX) * len(ROLES)} cells.",
        "",
        "The world of every cell: order #900001 held by Hanna (an operator, who took it herself), order",
        "#900002 free, both pending; a comment on #900001.",
        "",
        "| who | what they are |",
        "|---|---|",
        "| anonymous | no session (for the login row: Hanna's username with a wrong password) |",
        "| non-staff | an active user in the Operators group, without `is_staff` |",
        "| staff, no role | `is_staff`, in no group |",
        "| staff, change perm | `is_staff`, in no group, given an operator's permissions directly except "
        "`operators.hold_orders`: may view, change and comment on orders, but may not hold them |",
        "| holder | Hanna, an operator who holds #900001 |",
        "| other operator | Otto, an operator who holds nothing |",
        "| supervisor | Boris, in the Supervisors group |",
        "| superuser | `is_staff` and `is_superuser`, in no group |",
        "| inactive | an operator deactivated after she logged in (her session cookie stays); "
        "for the login row, deactivated before she tries |",
        "",
        "| outcome | meaning |",
        "|---|---|",
        "| login | redirected to the login page; nothing changed |",
        "| 403 | refused with 403 Forbidden; nothing changed |",
        "| 200 | the page is shown; nothing changed |",
        "| edit / read-only | the order page, its form editable or not, with the hold buttons it shows: "
        "A = Assign to me, R = Release, T = Take over |",
        "| 200: … | the order list, with the actions it offers: A = Assign to me, R = Release, S = Set status, "
        "O = Assign to an operator, T = Take over, D = Delete |",
        "| done | the change was made (exactly that change) |",
        "| refused [x] | the page shows message [x] (below); nothing changed |",
        "| → list | redirected to the order list |",
        "| → queue | redirected to the person's working queue: their orders, or the unassigned open ones |",
        "| logged in | the login form accepted the password and opened a session |",
        "",
        "| request | " + " | ".join(ROLES) + " |",
        "|---|" + "---|" * len(ROLES),
    ]
    for label, cells in MATRIX.items():
        lines.append(f"| {label} | " + " | ".join(cells[role] for role in ROLES) + " |")
    lines += ["", "Messages:", ""]
    lines += [f"- [{key}] {text}" for key, text in MESSAGES.items()]
    return "\n".join(lines) + "\n"


def test_docs_permissions_md_is_the_matrix():
    text = permissions_markdown()
    if os.environ.get("UPDATE_DOCS") == "1":
        DOCS.parent.mkdir(exist_ok=True)
        DOCS.write_text(text)
    assert DOCS.exists() and DOCS.read_text() == text, (
        "docs/permissions.md is not the matrix: regenerate it with "
        "UPDATE_DOCS=1 .venv/bin/python -m pytest tests/production/test_permission_matrix.py"
    )
