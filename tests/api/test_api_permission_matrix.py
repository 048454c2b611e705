# ruff: noqa: E501 (MATRIX_TABLE is a table: one line per request)
"""The API's permission matrix: every endpoint, for every kind of user, through HTTP with an API key.

MATRIX below is the one table of what each user gets. One test per cell makes the request with the user's key
and checks the outcome, each cell on the same fresh world (a savepoint of it): a refused request, and a read,
changed no product table; a write that succeeded made its change. Another test checks that what a user is
offered in an order's `powers` is what the API then does. docs/api-permissions.md is generated from the same
table (`UPDATE_DOCS=1 pytest tests/api/test_api_permission_matrix.py` rewrites it; a test keeps it in step).

The world is the console matrix's (tests/production/test_permission_matrix.py): order #900001 held by Hanna
(an operator, who took it herself), order #900002 free, both pending; a comment on #900001. The kinds of
user are the console's too. An API key acts as its user, with the same roles, and only while that user could
log in to the console (operators.rules.console_refusal: active, staff, in a role): the non-staff operator's
key and the role-less staff member's key are refused as suspended (401 not_allowed).

- anonymous: no key.
- non-staff: an active user in the Operators group, without is_staff.
- staff, no role: is_staff, in no group.
- staff, change perm: is_staff, in no group, given an operator's permissions directly except
  operators.hold_orders (may view, change and comment on orders, but may not hold them).
- holder: Hanna, an operator who holds #900001.
- other operator: Otto, an operator who holds nothing.
- supervisor: Boris, in the Supervisors group.
- superuser: is_staff and is_superuser, in no group.
- inactive: an operator whose account was deactivated after her key was made (the key stays unrevoked).
"""

import importlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import resolve
from rest_framework.test import APIClient

from api.keys import api_key_create
from operators.models import Assignment
from operators.roles import OPERATOR_PERMISSIONS
from operators.rules import HOLD_ORDERS
from operators.services import orders_assign, roles_setup
from orders.models import Order, OrderComment, OrderStatus
from tests.factories import OperatorFactory, OrderCommentFactory, OrderFactory, SupervisorFactory, UserFactory
from tests.production.test_permission_matrix import parse_table, staff_with_permissions
from tests.snapshots import snapshot_diff, tables_snapshot

User = get_user_model()
DEFAULT_STATUSES = importlib.import_module("orders.migrations.0002_default_statuses").DEFAULT_STATUSES
DOCS = Path(__file__).resolve().parent.parent.parent / "docs" / "api-permissions.md"

HELD, FREE, NEW, UPSERTED = "900001", "900002", "900010", "900011"
EDITED_NAME = "Edited through the API matrix"
COMMENT = "Called the customer"
REASON = "Hanna is ill"

# What each kind of user gets from each request: the HTTP status, and for a refusal the problem's `code`.
#   200, 201         the request was answered; a write made exactly its change (checked)
#   200: code        a batch: answered 200, with this outcome for its one order
#   4xx code         refused with this status and problem code; nothing changed
MATRIX_TABLE = """
request                               | anonymous           | non-staff       | staff, no role  | staff, change perm | holder          | other operator  | supervisor      | superuser | inactive
orders list GET                       | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 200                | 200             | 200             | 200             | 200       | 401 inactive
order GET (held by Hanna)             | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 200                | 200             | 200             | 200             | 200       | 401 inactive
order PATCH (held by Hanna)           | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 409 held_by        | 200             | 409 held_by     | 200             | 200       | 401 inactive
order PATCH (free order)              | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 409 not_held       | 409 not_held    | 409 not_held    | 200             | 200       | 401 inactive
hold PUT (free order)                 | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 403 not_allowed    | 200             | 200             | 200             | 200       | 401 inactive
hold PUT (free order, for Otto)       | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 403 not_allowed    | 403 not_allowed | 200             | 200             | 200       | 401 inactive
hold DELETE (held by Hanna, a reason) | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 403 not_allowed    | 200             | 403 not_allowed | 200             | 200       | 401 inactive
hold DELETE (held by Hanna, none)     | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 403 not_allowed    | 200             | 403 not_allowed | 422 needs_reason | 422 needs_reason | 401 inactive
take-over POST (a reason)             | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 403 not_allowed    | 403 not_allowed | 403 not_allowed | 200             | 200       | 401 inactive
batch POST (assign the free order)    | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 403 not_allowed    | 200: done       | 200: done       | 200: done       | 200: done | 401 inactive
batch POST (transfer #900001 to Otto) | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 403 not_allowed    | 403 not_allowed | 403 not_allowed | 200: done       | 200: done | 401 inactive
claim-next POST                       | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 403 not_allowed    | 200             | 200             | 200             | 200       | 401 inactive
status POST (#900001 to processing)   | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 409 held_by        | 200             | 409 held_by     | 200             | 200       | 401 inactive
comments GET                          | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 200                | 200             | 200             | 200             | 200       | 401 inactive
comments POST                         | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 201                | 201             | 201             | 201             | 201       | 401 inactive
timeline GET                          | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 200                | 200             | 200             | 200             | 200       | 401 inactive
ingest POST (a new order)             | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 403 not_allowed    | 403 not_allowed | 403 not_allowed | 403 not_allowed | 201       | 401 inactive
ingest PUT (a new order)              | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 403 not_allowed    | 403 not_allowed | 403 not_allowed | 403 not_allowed | 201       | 401 inactive
statuses GET                          | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 200                | 200             | 200             | 200             | 200       | 401 inactive
workload GET                          | 401 unauthenticated | 401 not_allowed | 401 not_allowed | 200                | 200             | 200             | 200             | 200       | 401 inactive
schema GET                            | 200                 | 401 not_allowed | 401 not_allowed | 200                | 200             | 200             | 200             | 200       | 401 inactive
docs GET                              | 200                 | 401 not_allowed | 401 not_allowed | 200                | 200             | 200             | 200             | 200       | 401 inactive
"""


ROLES, MATRIX = parse_table(MATRIX_TABLE)


# --- the world of one cell ----------------------------------------------------------------------------------


@dataclass
class World:
    users: dict[str, User | None]
    keys: dict[str, str]
    held: Order
    free: Order
    comment: OrderComment


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    """Built once for the module, inside a transaction rolled back at its end; each cell runs in a savepoint
    of it (pytest-django's db fixture), so every cell starts from this same world."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


def build_world() -> World:
    for code, label, position, releases in DEFAULT_STATUSES:
        OrderStatus.objects.get_or_create(
            code=code, defaults={"label": label, "position": position, "releases_assignment": releases}
        )
    roles_setup()
    pending = OrderStatus.objects.get(code="pending")
    holder = OperatorFactory(username="hanna", first_name="Hanna")
    users: dict[str, User | None] = {
        "anonymous": None,
        "non-staff": OperatorFactory(username="pat", first_name="Pat", is_staff=False),
        "staff, no role": UserFactory(username="sam", first_name="Sam", is_staff=True),
        "staff, change perm": staff_with_permissions(
            [name for name in OPERATOR_PERMISSIONS if name != HOLD_ORDERS], username="carl", first_name="Carl"
        ),
        "holder": holder,
        "other operator": OperatorFactory(username="otto", first_name="Otto"),
        "supervisor": SupervisorFactory(username="boris", first_name="Boris"),
        "superuser": UserFactory(username="root", first_name="Root", is_staff=True, is_superuser=True),
        "inactive": OperatorFactory(username="ines", first_name="Ines"),
    }
    keys = {
        role: api_key_create(user=user, name="matrix").secret
        for role, user in users.items()
        if user is not None
    }
    User.objects.filter(username="ines").update(is_active=False)  # deactivated after her key was made
    held = OrderFactory(number=HELD, status=pending, customer_name="Mara Petrova")
    free = OrderFactory(number=FREE, status=pending, customer_name="Ivo Stoev")
    orders_assign(actor=holder, order_ids=[held.pk])
    comment = OrderCommentFactory(order=held, author=holder, body="First call")
    held.refresh_from_db()
    free.refresh_from_db()
    return World(users, keys, held, free, comment)


def client_for(world: World, role: str) -> APIClient:
    client = APIClient(raise_request_exception=False)
    if role in world.keys:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.keys[role]}")
    return client


def holder_of(number: str) -> int | None:
    return Assignment.objects.filter(order__number=number).values_list("operator_id", flat=True).first()


# --- the rows: one endpoint each ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    label: str
    method: str
    path: str
    body: Callable[[World], dict] | None = None
    headers: Callable[[World], dict[str, str]] = lambda world: {}
    # For a write: did the change it asks for happen, and was it made by/for `user`?
    done: Callable[[World, User], bool] | None = None
    # The power of the order's `powers` that offers this request (checked against the outcome).
    power: str | None = None


def if_match(order: Callable[[World], Order]) -> Callable[[World], dict[str, str]]:
    return lambda world: {"HTTP_IF_MATCH": f'"{order(world).version}"'}


def ingest(number: str) -> Callable[[World], dict]:
    return lambda world: {"number": number, "status": "pending", "customer_name": "Nina Ilieva"}


ROWS: dict[str, Row] = {
    row.label: row
    for row in [
        Row("orders list GET", "GET", "/api/v1/orders/"),
        Row("order GET (held by Hanna)", "GET", f"/api/v1/orders/{HELD}/"),
        Row(
            "order PATCH (held by Hanna)",
            "PATCH",
            f"/api/v1/orders/{HELD}/",
            lambda world: {"customer_name": EDITED_NAME},
            if_match(lambda world: world.held),
            done=lambda world, user: Order.objects.get(number=HELD).customer_name == EDITED_NAME,
            power="edit",
        ),
        Row(
            "order PATCH (free order)",
            "PATCH",
            f"/api/v1/orders/{FREE}/",
            lambda world: {"customer_name": EDITED_NAME},
            if_match(lambda world: world.free),
            done=lambda world, user: Order.objects.get(number=FREE).customer_name == EDITED_NAME,
            power="edit",
        ),
        Row(
            "hold PUT (free order)",
            "PUT",
            f"/api/v1/orders/{FREE}/hold",
            lambda world: {},
            done=lambda world, user: holder_of(FREE) == user.pk,
            power="assign",
        ),
        Row(
            "hold PUT (free order, for Otto)",
            "PUT",
            f"/api/v1/orders/{FREE}/hold",
            lambda world: {"operator": "otto"},
            done=lambda world, user: holder_of(FREE) == world.users["other operator"].pk,
        ),
        Row(
            "hold DELETE (held by Hanna, a reason)",
            "DELETE",
            f"/api/v1/orders/{HELD}/hold?reason={quote(REASON)}",
            done=lambda world, user: holder_of(HELD) is None,
            power="release",
        ),
        # Hanna's own release needs no reason; a supervisor's release of her hold does (the holder is told).
        Row(
            "hold DELETE (held by Hanna, none)",
            "DELETE",
            f"/api/v1/orders/{HELD}/hold",
            done=lambda world, user: holder_of(HELD) is None,
        ),
        Row(
            "take-over POST (a reason)",
            "POST",
            f"/api/v1/orders/{HELD}/hold/take-over",
            lambda world: {"reason": REASON},
            done=lambda world, user: holder_of(HELD) == user.pk,
            power="take_over",
        ),
        Row(
            "batch POST (assign the free order)",
            "POST",
            "/api/v1/holds/batch",
            lambda world: {"action": "assign", "orders": [FREE]},
            done=lambda world, user: holder_of(FREE) == user.pk,
        ),
        Row(
            "batch POST (transfer #900001 to Otto)",
            "POST",
            "/api/v1/holds/batch",
            lambda world: {"action": "transfer", "orders": [HELD], "operator": "otto", "reason": REASON},
            done=lambda world, user: holder_of(HELD) == world.users["other operator"].pk,
        ),
        Row(
            "claim-next POST",
            "POST",
            "/api/v1/holds/claim-next",
            done=lambda world, user: holder_of(FREE) == user.pk,
        ),
        Row(
            "status POST (#900001 to processing)",
            "POST",
            f"/api/v1/orders/{HELD}/status",
            lambda world: {"status": "processing"},
            done=lambda world, user: Order.objects.get(number=HELD).status_id == "processing",
            power="edit",
        ),
        Row("comments GET", "GET", f"/api/v1/orders/{HELD}/comments/"),
        Row(
            "comments POST",
            "POST",
            f"/api/v1/orders/{HELD}/comments/",
            lambda world: {"body": COMMENT},
            done=lambda world, user: OrderComment.objects.filter(body=COMMENT, author=user).count() == 1,
            power="comment",
        ),
        Row("timeline GET", "GET", f"/api/v1/orders/{HELD}/timeline/"),
        Row(
            "ingest POST (a new order)",
            "POST",
            "/api/v1/orders/",
            ingest(NEW),
            done=lambda world, user: Order.objects.filter(number=NEW).exists(),
        ),
        Row(
            "ingest PUT (a new order)",
            "PUT",
            f"/api/v1/orders/{UPSERTED}",
            ingest(UPSERTED),
            done=lambda world, user: Order.objects.filter(number=UPSERTED).exists(),
        ),
        Row("statuses GET", "GET", "/api/v1/statuses/"),
        Row("workload GET", "GET", "/api/v1/workload/"),
        Row("schema GET", "GET", "/api/v1/schema/"),
        Row("docs GET", "GET", "/api/v1/docs/"),
    ]
}


def observe(world: World, row: Row, role: str) -> str:
    """Make the row's request as `role`; the outcome as the table writes it."""
    client = client_for(world, role)
    body = row.body(world) if row.body is not None else None
    response = client.generic(
        row.method,
        row.path,
        json.dumps(body) if body is not None else "",
        content_type="application/json",
        **row.headers(world),
    )
    status = response.status_code
    if status >= 400:
        code = response.json().get("code") if response["Content-Type"] == "application/problem+json" else "?"
        return f"{status} {code}"
    if row.path == "/api/v1/holds/batch":
        return f"{status}: " + " ".join(outcome["code"] for outcome in response.json()["outcomes"])
    return str(status)


CELLS = [(label, role) for label in MATRIX for role in ROLES]


@pytest.mark.parametrize(("label", "role"), CELLS)
def test_cell(db, world, label, role):
    row = ROWS[label]
    expected = MATRIX[label][role]
    before = tables_snapshot()
    outcome = observe(world, row, role)
    assert outcome == expected, f"{label} as {role}: {outcome}, the matrix says {expected}"
    changed = snapshot_diff(before, tables_snapshot())
    succeeded = (outcome.startswith("2") and not outcome.startswith("200: ")) or outcome.endswith(": done")
    if row.done is not None and succeeded:
        assert row.done(world, world.users[role]), f"{label} as {role}: answered {outcome}, but not done"
        assert changed, f"{label} as {role}: answered {outcome}, but nothing changed"
    else:
        assert not changed, f"{label} as {role} ({outcome}) changed: {changed}"


@pytest.mark.parametrize(("label", "role"), [(label, role) for label, role in CELLS if ROWS[label].power])
def test_what_powers_offer_is_what_the_api_does(db, world, label, role):
    """An order's `powers` offer an action (null) exactly when the API then does it, and a refusal in them
    has the code the API refuses with."""
    row = ROWS[label]
    number = row.path.split("/")[4]
    read = client_for(world, role).get(f"/api/v1/orders/{number}/")
    if read.status_code != 200:
        assert MATRIX[label][role].split(" ")[0] == str(read.status_code)  # refused before any order
        return
    power = read.json()["powers"][row.power]
    outcome = MATRIX[label][role]
    if power is None:
        assert outcome.startswith("2"), f"{label} as {role}: offered by powers, refused with {outcome}"
    else:
        assert not outcome.startswith("2"), f"{label} as {role}: refused by powers ({power}), done by the API"
        assert outcome.split(" ")[1] == power["code"], f"{label} as {role}: {outcome}, powers say {power}"


def test_every_api_url_and_method_is_in_the_matrix():
    from api.urls import urlpatterns

    covered = {(resolve(row.path.split("?")[0]).url_name, row.method) for row in ROWS.values()}
    for pattern in urlpatterns:
        if pattern.name is None:  # a path's other form (the same view) or the 404 for any other path
            continue
        view = pattern.callback.view_class
        methods = {method.upper() for method in view.http_method_names if hasattr(view, method)} - {
            "OPTIONS",
            "HEAD",
        }
        documented = pattern.callback.view_initkwargs.get("schema_methods")
        if documented is not None:  # one view at two documented paths: the methods documented at this one
            methods &= set(documented)
        for method in methods:
            assert (pattern.name, method) in covered, f"{method} {pattern.pattern} has no row in the matrix"


def test_matrix_size():
    # 22 requests x 9 kinds of user: a row or a column lost by accident fails here.
    assert (len(MATRIX), len(ROWS), len(ROLES), len(CELLS)) == (22, 22, 9, 198)


# --- docs/api-permissions.md, generated from the table ------------------------------------------------------


def permissions_markdown() -> str:
    lines = [
        "# Who may do what through the REST API",
        "",
        "Generated from `MATRIX_TABLE` in `tests/api/test_api_permission_matrix.py`, where one test per cell",
        "checks it through HTTP with the user's API key: do not edit by hand. Regenerate with",
        "`UPDATE_DOCS=1 .venv/bin/python -m pytest tests/api/test_api_permission_matrix.py`.",
        "",
        f"{len(MATRIX)} requests x {len(ROLES)} kinds of user = {len(MATRIX) * len(ROLES)} cells.",
        "",
        "An API key acts as its user, with the same roles and the same holds, and only while that user could",
        "log in to the console: active, staff and in a role (`operators.rules.console_refusal`). A non-staff",
        "operator's key and a role-less staff member's key are refused as suspended (401 `not_allowed`), and",
        "the API keys' list in the admin shows such keys. The console's matrix is",
        "[permissions.md](permissions.md).",
        "",
        "The world of every cell: order #900001 held by Hanna (an operator, who took it herself), order",
        "#900002 free, both pending; a comment on #900001.",
        "",
        'The schema and docs rows are with `ORDEROPS_API["SCHEMA_PUBLIC"]` on, the default; with it off they',
        "answer as the orders list does (tests/api/test_rules_and_settings.py).",
        "",
        "| who | what they are |",
        "|---|---|",
        "| anonymous | no key |",
        "| non-staff | an active user in the Operators group, without `is_staff` |",
        "| staff, no role | `is_staff`, in no group |",
        "| staff, change perm | `is_staff`, in no group, given an operator's permissions directly except "
        "`operators.hold_orders`: may view, change and comment on orders, but may not hold them |",
        "| holder | Hanna, an operator who holds #900001 |",
        "| other operator | Otto, an operator who holds nothing |",
        "| supervisor | Boris, in the Supervisors group |",
        "| superuser | `is_staff` and `is_superuser`, in no group |",
        "| inactive | an operator deactivated after her key was made (the key itself is not revoked) |",
        "",
        "| outcome | meaning |",
        "|---|---|",
        "| 200, 201 | answered; a write made exactly its change |",
        "| 200: code | a batch: answered, with this outcome for its one order |",
        "| 4xx code | refused with this HTTP status and problem `code` (`application/problem+json`); "
        "nothing changed |",
        "",
        "| request | " + " | ".join(ROLES) + " |",
        "|---|" + "---|" * len(ROLES),
    ]
    for label, cells in MATRIX.items():
        row = ROWS[label]
        lines.append(
            f"| {label} (`{row.method} {row.path}`) | " + " | ".join(cells[role] for role in ROLES) + " |"
        )
    return "\n".join(lines) + "\n"


def test_docs_api_permissions_md_is_the_matrix():
    text = permissions_markdown()
    if os.environ.get("UPDATE_DOCS") == "1":
        DOCS.write_text(text)
    assert DOCS.exists() and DOCS.read_text() == text, (
        "docs/api-permissions.md is not the matrix: regenerate it with "
        "UPDATE_DOCS=1 .venv/bin/python -m pytest tests/api/test_api_permission_matrix.py"
    )
