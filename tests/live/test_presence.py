"""Presence: heartbeats upsert one row per tab, fresh for the time-out and gone after it; the heartbeat
endpoint's answer, its refusals and its pinned queries; the order page renders presence on first load."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from live.models import Presence
from live.presence import (
    PresenceRefused,
    order_presence,
    orders_in_view,
    presence_gone,
    presence_heartbeat,
    tab_issue,
)
from orderops.conf import DEFAULTS, orderops_setting
from tests.factories import OperatorFactory, OrderFactory

HEARTBEAT = reverse("live:heartbeat")


@pytest.fixture
def order(db):
    return OrderFactory()


# The tab ids the console issued to each test client's pages, by (client, name, order): the same name is the
# same tab (presence is only from tab ids the server signed: live.presence.tab_issue).
ISSUED: dict[tuple[int, str, int], str] = {}


@pytest.fixture(autouse=True)
def issued_tabs_forgotten():
    yield
    ISSUED.clear()


def signed_tab(client, order_id: int, name: str = "tab-1") -> str:
    from django.contrib.auth import get_user_model

    key = (id(client), name, order_id)
    if key not in ISSUED:
        user_id = client.session.get("_auth_user_id")
        if user_id is None:
            return name
        ISSUED[key] = tab_issue(user=get_user_model().objects.get(pk=user_id), order_id=order_id)
    return ISSUED[key]


def beat(client, order, tab="tab-1", state="viewing"):
    return client.post(
        HEARTBEAT, {"tab": signed_tab(client, order.pk, tab), "order": order.pk, "state": state}
    )


def test_the_live_intervals_default_to_20_60_and_15_seconds(settings):
    settings.ORDEROPS = {}
    assert DEFAULTS["LIVE_HEARTBEAT_INTERVAL"] == 20
    assert DEFAULTS["LIVE_PRESENCE_TIMEOUT"] == 60
    assert DEFAULTS["LIVE_POLL_INTERVAL"] == 15
    assert orderops_setting("LIVE_HEARTBEAT_INTERVAL") == 20
    assert orderops_setting("LIVE_PRESENCE_TIMEOUT") == 60
    assert orderops_setting("LIVE_POLL_INTERVAL") == 15


@pytest.mark.parametrize(
    ("configured", "says"),
    [
        ({"LIVE_POLL_INTERVAL": 0}, "LIVE_POLL_INTERVAL"),
        ({"LIVE_HEARTBEAT_INTERVAL": "20"}, "LIVE_HEARTBEAT_INTERVAL"),
        ({"LIVE_PRESENCE_TIMEOUT": 20}, "must be longer than"),
    ],
)
def test_the_system_check_rejects_bad_live_intervals(db, settings, configured, says):
    settings.ORDEROPS = configured
    with pytest.raises(SystemCheckError, match=says):
        call_command("check")


def test_a_heartbeat_upserts_one_row_per_tab_and_moves_it_with_the_tab(operator, order):
    other = OrderFactory()
    start = timezone.now()
    presence_heartbeat(user=operator, tab="t1", order_id=order.pk, editing=False, at=start)
    presence_heartbeat(
        user=operator, tab="t1", order_id=order.pk, editing=True, at=start + timedelta(seconds=20)
    )
    row = Presence.objects.get()
    assert (row.order_id, row.state, row.opened_at, row.seen_at) == (
        order.pk,
        "editing",
        start,
        start + timedelta(seconds=20),
    )
    presence_heartbeat(
        user=operator, tab="t1", order_id=other.pk, editing=False, at=start + timedelta(seconds=40)
    )
    row = Presence.objects.get()
    assert (row.order_id, row.state, row.opened_at) == (other.pk, "viewing", start + timedelta(seconds=40))


def test_presence_is_fresh_for_the_time_out_and_gone_after_it(operator, other_operator, order):
    start = timezone.now()
    presence_heartbeat(user=other_operator, tab="t1", order_id=order.pk, editing=False, at=start)
    at_59 = order_presence(order_id=order.pk, viewer=operator, now=start + timedelta(seconds=59))
    at_61 = order_presence(order_id=order.pk, viewer=operator, now=start + timedelta(seconds=61))
    assert [person.name for person in at_59.others] == ["Ivan"]
    assert at_61.others == []
    assert orders_in_view(excluding=operator, now=start + timedelta(seconds=59)) == [order.pk]
    assert orders_in_view(excluding=operator, now=start + timedelta(seconds=61)) == []


def test_the_time_out_follows_the_setting(settings, operator, other_operator, order):
    settings.ORDEROPS = {"LIVE_PRESENCE_TIMEOUT": 5, "LIVE_HEARTBEAT_INTERVAL": 2}
    start = timezone.now()
    presence_heartbeat(user=other_operator, tab="t1", order_id=order.pk, editing=False, at=start)
    assert order_presence(order_id=order.pk, viewer=operator, now=start + timedelta(seconds=4)).others
    assert not order_presence(order_id=order.pk, viewer=operator, now=start + timedelta(seconds=6)).others


def test_a_heartbeat_prunes_the_users_and_the_orders_expired_tabs(operator, other_operator, order):
    elsewhere = OrderFactory()
    old = timezone.now() - timedelta(minutes=5)
    presence_heartbeat(user=operator, tab="closed", order_id=elsewhere.pk, editing=False, at=old)
    presence_heartbeat(user=other_operator, tab="closed", order_id=order.pk, editing=False, at=old)
    presence_heartbeat(user=other_operator, tab="other-order", order_id=elsewhere.pk, editing=False, at=old)
    presence_heartbeat(user=operator, tab="open", order_id=order.pk, editing=False)
    left = set(Presence.objects.values_list("user__username", "tab"))
    # Anna's old tab and the old tab on this order are gone; Ivan's old tab elsewhere waits for his next beat.
    assert left == {("anna", "open"), ("ivan", "other-order")}


def test_one_person_in_two_tabs_is_one_name_editing_if_either_tab_is(operator, other_operator, order):
    presence_heartbeat(user=other_operator, tab="a", order_id=order.pk, editing=False)
    presence_heartbeat(user=other_operator, tab="b", order_id=order.pk, editing=True)
    presence_heartbeat(user=operator, tab="mine-1", order_id=order.pk, editing=False)
    presence_heartbeat(user=operator, tab="mine-2", order_id=order.pk, editing=False)
    presence = order_presence(order_id=order.pk, viewer=operator)
    assert presence.sentence() == "Ivan is editing"
    assert presence.tabs_sentence() == "You have this order open in 2 tabs."


def test_a_heartbeat_for_an_order_that_does_not_exist_is_refused_with_its_id(operator):
    with pytest.raises(PresenceRefused, match="Order 999999 does not exist"):
        presence_heartbeat(user=operator, tab="t", order_id=999999, editing=False)
    assert not Presence.objects.exists()


def test_gone_forgets_the_tab_at_once(operator, other_operator, order):
    presence_heartbeat(user=other_operator, tab="t", order_id=order.pk, editing=False)
    assert presence_gone(user=other_operator, tab="t") == 1
    assert order_presence(order_id=order.pk, viewer=operator).others == []


# --- the endpoint -------------------------------------------------------------------------------------------


def test_the_heartbeat_answers_who_else_is_there(client, operator, other_operator, supervisor, order):
    presence_heartbeat(user=other_operator, tab="x", order_id=order.pk, editing=False)
    presence_heartbeat(user=supervisor, tab="y", order_id=order.pk, editing=True)
    client.force_login(operator)
    beat(client, order, tab="second")
    answer = beat(client, order).json()
    assert answer["presence"]["text"] == "Ivan is viewing · Boris is editing"
    assert answer["presence"]["tabs_text"] == "You have this order open in 2 tabs."
    assert answer["presence"]["others"] == [
        {"name": "Ivan", "state": "viewing"},
        {"name": "Boris", "state": "editing"},
    ]
    assert (answer["heartbeat_interval"], answer["presence_timeout"]) == (20, 60)


# session, user, the user's permissions (2), the upsert, the prune with the BEGIN and COMMIT of its own
# transaction (logged once the test runs outside a test transaction), the presence; on PostgreSQL the
# upsert's own transaction too: BEGIN, SET LOCAL synchronous_commit, COMMIT (commits_not_waiting_for_disk)
HEARTBEAT_QUERIES = {"postgresql": 12, "sqlite": 9}


@pytest.mark.django_db(transaction=True)  # a request's own transactions: no test savepoints
def test_the_heartbeat_costs_a_fixed_number_of_queries(
    client, operator, other_operator, order, django_assert_num_queries
):
    presence_heartbeat(user=other_operator, tab="x", order_id=order.pk, editing=False)
    client.force_login(operator)
    signed_tab(client, order.pk)
    with django_assert_num_queries(HEARTBEAT_QUERIES[connection.vendor]):
        assert beat(client, order).status_code == 200


# A tab's next heartbeats on the same order: session, user, the user's permissions (2), the upsert alone (no
# prune: nothing can have expired since the tab came), the presence; on PostgreSQL the upsert's own
# transaction too: BEGIN, SET LOCAL synchronous_commit, COMMIT.
REPEATED_HEARTBEAT_QUERIES = {"postgresql": 9, "sqlite": 6}


@pytest.mark.django_db(transaction=True)  # a request's own transactions: no test savepoints
def test_a_tabs_repeated_heartbeat_writes_its_row_alone(
    client, operator, other_operator, order, django_assert_num_queries
):
    old = timezone.now() - timedelta(minutes=5)
    presence_heartbeat(user=other_operator, tab="closed", order_id=order.pk, editing=False, at=old)
    client.force_login(operator)
    beat(client, order)  # a new tab: prunes the expired one
    assert not Presence.objects.filter(tab="closed").exists()
    presence_heartbeat(user=other_operator, tab="closed", order_id=order.pk, editing=False, at=old)
    with django_assert_num_queries(REPEATED_HEARTBEAT_QUERIES[connection.vendor]) as captured:
        assert beat(client, order).status_code == 200
    writes = [query["sql"] for query in captured.captured_queries if "live_presence" in query["sql"]]
    assert [sql.split()[0] for sql in writes] == ["INSERT", "SELECT"]  # the upsert, the presence read
    # The expired row waits for the next tab that opens on the order; nobody sees it meanwhile.
    assert Presence.objects.filter(tab="closed").exists()
    assert beat(client, order).json()["presence"]["others"] == []


@pytest.mark.postgres
@pytest.mark.pgbouncer
@pytest.mark.django_db(transaction=True)  # the heartbeat's own transactions, as in a request
def test_a_heartbeat_commits_without_waiting_for_the_disk_and_puts_the_setting_back(operator, order):
    """Presence is repeated by the next heartbeat and times out anyway: its commits need not wait for the
    disk. The connection's setting is back as it was afterwards, also when the heartbeat is refused."""
    seen = []

    def record(execute, sql, params, many, context):
        if sql.startswith("INSERT INTO live_presence"):  # the heartbeat's write (its prune finds nothing)
            with connection.cursor() as cursor:  # outside the wrapper: not recorded again
                cursor.cursor.execute("SHOW synchronous_commit")
                seen.append(cursor.cursor.fetchone()[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        presence_heartbeat(user=operator, tab="t1", order_id=order.pk, editing=False)
    assert seen and set(seen) == {"off"}
    with pytest.raises(PresenceRefused):
        presence_heartbeat(user=operator, tab="t1", order_id=order.pk + 1000, editing=False)
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


@pytest.mark.django_db(transaction=True)  # a request's own transactions: no test savepoints
def test_the_heartbeat_costs_the_same_with_many_tabs_open(client, operator, order, django_assert_num_queries):
    for number in range(30):
        presence_heartbeat(user=OperatorFactory(), tab=f"t{number}", order_id=order.pk, editing=False)
    client.force_login(operator)
    signed_tab(client, order.pk)
    with django_assert_num_queries(HEARTBEAT_QUERIES[connection.vendor]):
        assert len(beat(client, order).json()["presence"]["others"]) == 30


def test_gone_by_the_endpoint_deletes_the_tab(client, other_operator, operator, order):
    client.force_login(other_operator)
    beat(client, order)
    assert beat(client, order, state="gone").json() == {"order": order.pk, "gone": True}
    assert not Presence.objects.exists()


@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"tab": "t", "order": "", "state": "viewing"}, 400, "names no order"),
        ({"tab": "issued", "order": "999999"}, 404, "Order 999999 does not exist"),
        ({"tab": "t", "state": "dancing"}, 400, "must be viewing, editing or gone"),
        ({"tab": "bad tab!", "state": "viewing"}, 400, "the tab id must be"),
    ],
)
def test_the_heartbeat_refuses_bad_input_and_says_why(client, operator, order, fields, status, says):
    client.force_login(operator)
    if fields.get("tab") == "issued":
        fields = {**fields, "tab": signed_tab(client, int(fields["order"]))}
    response = client.post(HEARTBEAT, {"order": order.pk, **fields})
    assert response.status_code == status
    assert says in response.json()["message"]
    assert not Presence.objects.exists()


def test_the_heartbeat_needs_a_staff_session_and_csrf(client, order, operator, staff_without_role):
    assert beat(client, order).status_code == 403
    client.force_login(staff_without_role)
    assert beat(client, order).json()["message"] == "You may not view orders."
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(operator)
    assert beat(strict, order).status_code == 403
    assert not Presence.objects.exists()
    assert client.get(HEARTBEAT).status_code == 405


def test_the_order_page_renders_presence_on_first_load(client, operator, other_operator, order):
    presence_heartbeat(user=other_operator, tab="x", order_id=order.pk, editing=True)
    client.force_login(operator)
    html = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert 'data-testid="presence"' in html
    assert "Ivan is editing" in html


def test_the_order_page_says_nobody_else_when_alone(client, operator, order):
    client.force_login(operator)
    html = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "Nobody else has this order open." in html


# --- get next order -----------------------------------------------------------------------------------------


def two_orders():
    """Two free orders, the older first."""
    now = timezone.now()
    return OrderFactory(created_at=now - timedelta(hours=2)), OrderFactory(
        created_at=now - timedelta(hours=1)
    )


def test_get_next_order_skips_the_order_a_colleague_has_open(client, operator, other_operator):
    from operators.models import Assignment

    oldest, newer = two_orders()
    presence_heartbeat(user=other_operator, tab="t", order_id=oldest.pk, editing=False)
    client.force_login(operator)
    client.post(reverse("admin:orders_order_claim_next"))
    assert Assignment.objects.get(operator=operator).order == newer
    # Nothing else is left: the open order is handed out after all.
    client.post(reverse("admin:orders_order_claim_next"))
    assert set(Assignment.objects.filter(operator=operator).values_list("order_id", flat=True)) == {
        oldest.pk,
        newer.pk,
    }


def test_get_next_order_does_not_skip_an_order_only_i_have_open_or_a_gone_colleagues(
    client, operator, other_operator
):
    from operators.models import Assignment

    oldest, _newer = two_orders()
    presence_heartbeat(user=operator, tab="mine", order_id=oldest.pk, editing=False)
    presence_heartbeat(
        user=other_operator,
        tab="t",
        order_id=oldest.pk,
        editing=False,
        at=timezone.now() - timedelta(minutes=2),
    )
    client.force_login(operator)
    client.post(reverse("admin:orders_order_claim_next"))
    assert Assignment.objects.get(operator=operator).order == oldest


def test_the_apis_claim_next_skips_the_order_a_colleague_has_open(operator, other_operator):
    from rest_framework.test import APIClient

    oldest, newer = two_orders()
    presence_heartbeat(user=other_operator, tab="t", order_id=oldest.pk, editing=False)
    api = APIClient()
    api.force_authenticate(operator)
    response = api.post(reverse("api:holds-claim-next"))
    assert response.status_code in (200, 201), response.content
    assert response.json()["number"] == newer.number


# --- several app servers ------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.pgbouncer
@pytest.mark.django_db(transaction=True)
def test_presence_is_shared_by_two_gunicorn_servers(tmp_path, operator, other_operator):
    """A heartbeat sent to one server is in the heartbeat answer and the list poll of the other: presence
    lives in PostgreSQL, the servers keep none."""
    import json
    import re

    from tests.factories import TEST_PASSWORD
    from tests.http_server import Browser, gunicorn

    order = OrderFactory()
    with (
        gunicorn(workers=1, log_path=tmp_path / "gunicorn-a.log") as server_a,
        gunicorn(workers=1, log_path=tmp_path / "gunicorn-b.log") as server_b,
    ):
        assert server_a.base_url != server_b.base_url
        ivan, anna = Browser(server_a.base_url), Browser(server_b.base_url)
        tabs = {}
        for browser, user in ((ivan, other_operator), (anna, operator)):
            browser.login(user.get_username(), TEST_PASSWORD)
            # A page with a CSRF token, and the tab id its server signed.
            page = browser.get(reverse("admin:orders_order_change", args=[order.pk]))
            tabs[browser] = re.search(r'data-tab="([^"]+)"', page.body).group(1)
        sent = ivan.post(HEARTBEAT, [("tab", tabs[ivan]), ("order", str(order.pk)), ("state", "editing")])
        assert sent.status == 200, sent.body[:300]
        answer = anna.post(HEARTBEAT, [("tab", tabs[anna]), ("order", str(order.pk)), ("state", "viewing")])
        assert json.loads(answer.body)["presence"]["text"] == "Ivan is editing"
        polled = anna.get(f"{reverse('live:poll')}?orders={order.pk}.")
        assert json.loads(polled.body)["rows"][0]["viewers"] == ["Ivan"]
        # And back: Anna, on server B, is in Ivan's answer from server A.
        again = ivan.post(HEARTBEAT, [("tab", tabs[ivan]), ("order", str(order.pk)), ("state", "editing")])
        assert json.loads(again.body)["presence"]["text"] == "Anna is viewing"
