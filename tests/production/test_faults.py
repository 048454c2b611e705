"""Test 4: faults. A database error in the middle of a bulk assign, a release, a status change, a take-over
and "Get next order", made through the console: the person gets an error page, nothing partial remains (every
product table as before), and the same request succeeds once the fault is gone. Then, on PostgreSQL, the
database drops every connection of a running gunicorn server (pg_terminate_backend, as a database restart or a
failover does); the next requests must succeed without restarting the app. The PostgreSQL server itself is not
restarted: it is shared by other work on this machine."""

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.db import DatabaseError, connection
from django.test import Client
from django.urls import reverse

from operators import log, services
from operators.models import Assignment
from operators.services import orders_assign
from orders.models import Order
from tests.factories import TEST_PASSWORD, OperatorFactory, OrderFactory, SupervisorFactory
from tests.http_server import Browser, gunicorn
from tests.replay import assert_log_replays_to_holds
from tests.snapshots import snapshot_diff, tables_snapshot

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = reverse("admin:orders_order_changelist")
INJECTED = "injected fault"


# --- faults -------------------------------------------------------------------------------------------------


@contextmanager
def log_insert_refused_by_the_database() -> Iterator[None]:
    """A trigger makes the database itself refuse every new assignment log row: the statement fails on the
    server, in the middle of the service's transaction (after the holds or the status were written)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION orderops_test_refuse_log() RETURNS trigger AS $$"
                f" BEGIN RAISE EXCEPTION '{INJECTED}: log insert refused'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER orderops_test_refuse_log BEFORE INSERT ON operators_assignmentlog"
                " FOR EACH ROW EXECUTE FUNCTION orderops_test_refuse_log()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER orderops_test_refuse_log BEFORE INSERT ON operators_assignmentlog"
                f" BEGIN SELECT RAISE(ABORT, '{INJECTED}: log insert refused'); END"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("DROP TRIGGER orderops_test_refuse_log ON operators_assignmentlog")
                cursor.execute("DROP FUNCTION orderops_test_refuse_log()")
            else:
                cursor.execute("DROP TRIGGER orderops_test_refuse_log")


def fails_after(module, name: str, *, call: int = 1) -> Callable[[], mock._patch]:
    """Let `module.name` do its writes, then raise a DatabaseError after its `call`-th call: the error comes
    after that write, with everything before it written too."""
    original = getattr(module, name)

    def patch() -> mock._patch:
        calls = []

        def write_then_fail(*args, **kwargs):
            result = original(*args, **kwargs)
            calls.append(name)
            if len(calls) == call:
                raise DatabaseError(f"{INJECTED}: after {name} #{call}")
            return result

        return mock.patch.object(module, name, side_effect=write_then_fail)

    return patch


def fails_after_either(module, names: tuple[str, ...]) -> Callable[[], contextlib.AbstractContextManager]:
    """fails_after for whichever of `names` the change calls first (a release ends its holds at once on
    PostgreSQL, holds_end_at_once, and under the locks elsewhere, holds_delete_logged)."""

    @contextlib.contextmanager
    def patch():
        with contextlib.ExitStack() as stack:
            for name in names:
                stack.enter_context(fails_after(module, name)())
            yield

    return patch


FAULTS = {
    "log insert refused by the database": log_insert_refused_by_the_database,
    # Holds inserted or deleted with their log rows (one statement on PostgreSQL, two elsewhere).
    "error after the holds and their log rows were written": fails_after(
        services._holds, "holds_insert_logged"
    ),
    "error after the holds were deleted and logged": fails_after_either(
        services._holds, ("holds_delete_logged", "holds_end_at_once")
    ),
    # Claim next writes its log row in its claim statement on PostgreSQL, then announces it (log.announce).
    "error after the log rows were written and announced": fails_after(log, "announce"),
}


# --- the console requests, each with its fault --------------------------------------------------------------


@pytest.fixture
def people(roles):
    return {
        "anna": OperatorFactory(username="anna", first_name="Anna"),
        "ivan": OperatorFactory(username="ivan", first_name="Ivan"),
        "boss": SupervisorFactory(username="boss", first_name="Boris"),
    }


@pytest.fixture
def orders(people):
    """Ten orders: #0-#2 held by Anna, #3-#4 held by Ivan, #5-#9 free."""
    made = OrderFactory.create_batch(10)
    orders_assign(actor=people["anna"], order_ids=[order.pk for order in made[:3]])
    orders_assign(actor=people["ivan"], order_ids=[order.pk for order in made[3:5]])
    return made


def action(name: str, picked: slice, **extra):
    def post(client: Client, orders: list[Order]):
        ids = [order.pk for order in orders[picked]]
        return client.post(CHANGELIST, {"action": name, "index": "0", "_selected_action": ids, **extra})

    return post


def claim_next(client: Client, orders: list[Order]):
    return client.post(reverse("admin:orders_order_claim_next"))


# (who, what, the fault, what the same request says once the fault is gone)
CASES = {
    "bulk assign, log insert refused": (
        "anna",
        action("assign_to_me", slice(5, 10)),
        "log insert refused by the database",
        "Assigned 5 orders to you",
    ),
    "bulk assign, error after the log": (
        "anna",
        action("assign_to_me", slice(5, 10)),
        "error after the holds and their log rows were written",
        "Assigned 5 orders to you",
    ),
    "release, log insert refused": (
        "anna",
        action("release", slice(0, 3)),
        "log insert refused by the database",
        "Released 3 orders",
    ),
    "release, error after the delete": (
        "anna",
        action("release", slice(0, 3)),
        "error after the holds were deleted and logged",
        "Released 3 orders",
    ),
    "status change with auto-release, log insert refused": (
        "anna",
        action("set_status", slice(0, 3), post="yes", status="complete"),
        "log insert refused by the database",
        "Set 3 orders to Complete",
    ),
    "status change with auto-release, error after the delete": (
        "anna",
        action("set_status", slice(0, 3), post="yes", status="complete"),
        "error after the holds were deleted and logged",
        "Set 3 orders to Complete",
    ),
    "take over, log insert refused": (
        "boss",
        action("take_over", slice(0, 6), post="yes", reason="Anna and Ivan are out"),
        "log insert refused by the database",
        "Took over 6 orders",
    ),
    # Five holds move (logged, then updated), then the free sixth is assigned (inserted and logged): the
    # error comes after every write.
    "take over, error after the last write": (
        "boss",
        action("take_over", slice(0, 6), post="yes", reason="Anna and Ivan are out"),
        "error after the holds and their log rows were written",
        "Took over 6 orders",
    ),
    "get next order, error after the log": (
        "ivan",
        claim_next,
        "error after the log rows were written and announced",
        "is now yours",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_database_error_in_the_middle_of_a_change_leaves_nothing_partial(people, orders, case):
    who, request, fault, success = CASES[case]
    client = Client(raise_request_exception=False)
    client.force_login(people[who])
    before = tables_snapshot()

    with FAULTS[fault]():
        failed = request(client, orders)

    assert failed.status_code == 500, failed.status_code
    assert INJECTED in repr(failed.exc_info[1])
    after = tables_snapshot()
    assert after == before, f"partial change left behind: {snapshot_diff(before, after)}"
    assert_log_replays_to_holds()

    # Without the fault the same request goes through: the error did not leave the connection broken.
    done = request(client, orders)
    assert done.status_code == 302
    texts = [str(message) for message in get_messages(done.wsgi_request)]
    assert any(success in text for text in texts), texts
    assert tables_snapshot() != before
    assert_log_replays_to_holds()


# --- the database drops the app's connections ---------------------------------------------------------------


def app_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def terminate_app_connections() -> int:
    """What a PostgreSQL restart or failover does to the app: every other connection to this (test) database
    is cut. Ours stays."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_gunicorn_recovers_without_a_restart_when_postgresql_drops_its_connections(people, orders, tmp_path):
    # Persistent connections (CONN_MAX_AGE=60, as the README suggests for production) are the hard case: each
    # worker keeps a connection that the database has cut.
    with gunicorn(workers=2, log_path=tmp_path / "gunicorn.log", env={"CONN_MAX_AGE": "60"}) as server:
        browser = Browser(server.base_url)
        browser.login("anna", TEST_PASSWORD)
        for _ in range(6):  # both workers serve something and keep their connection
            browser.get("/healthz")
        assert app_connections() >= 1

        cut = terminate_app_connections()
        assert cut >= 1

        pages = [browser.get("/healthz") for _ in range(4)]
        pages.append(browser.get(CHANGELIST))
        assigned = browser.post(
            CHANGELIST, [("action", "assign_to_me"), ("index", "0"), ("_selected_action", str(orders[5].pk))]
        )
        pages += [assigned, browser.follow(assigned)]
        claimed = browser.post(reverse("admin:orders_order_claim_next"))
        pages += [claimed, browser.follow(claimed)]
        pages += [browser.get("/healthz") for _ in range(4)]
        log_tail = server.log_tail()

    statuses = [(page.method, page.url.split(server.base_url)[1], page.status) for page in pages]
    print(
        f"\n[faults] {cut} connections cut under a running gunicorn (2 workers, CONN_MAX_AGE=60), "
        f"then {statuses}"
    )
    assert all(page.status < 500 for page in pages), f"{statuses}\n{log_tail}"
    assert f"Assigned 1 order to you: #{orders[5].number}." in [text for _level, text in pages[6].messages]
    assert Assignment.objects.filter(order=orders[5], operator=people["anna"]).exists()
    assert_log_replays_to_holds()
