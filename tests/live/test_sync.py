"""One request per open tab per interval (live:sync): the order page's heartbeat, its changes, the bell and
the queue counts answered together in pinned queries; a poll changes nothing (a kept Update-box draft stays);
presence only from tab ids the console signed, and a person's tabs capped."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from console.queues import queue_counts
from console.update import Draft, draft_keep, draft_key
from live.models import Presence
from live.presence import orders_in_view, presence_heartbeat, tab_issue
from operators.models import Assignment
from operators.services import orders_assign, orders_take_over
from orders.services import order_comment_add
from tests.factories import OrderFactory

SYNC = reverse("live:sync")
POLL = reverse("live:poll")


def change_page(client, order) -> str:
    return client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()


def page_config(html: str) -> dict[str, str]:
    element = re.search(r'<div id="live-config"[^>]*>', html).group(0)
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', element))


def tick(client, order, config, **extra):
    """The order page's tick as live.js sends it: heartbeat, changes, and whatever else is due."""
    fields = {
        "tab": config["tab"],
        "order": order.pk,
        "state": "viewing",
        "version": config["version"],
        "token": config["token"],
        **extra,
    }
    return client.post(SYNC, fields)


# --- a poll changes nothing ---------------------------------------------------------------------------------


def test_a_poll_leaves_a_kept_update_draft_in_place(rf, client, operator, supervisor):
    """A refused Update keeps what was typed for the order page (console/update.py); a background poll of
    that page, which builds the page's banner, must not take it."""
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    client.force_login(operator)
    config = page_config(change_page(client, order))
    session = client.session
    draft_keep(
        type("Request", (), {"session": session})(),
        order.pk,
        Draft(body="Customer wants it by Friday", error="Boris took it over"),
    )
    session.save()
    # The page moved (a take-over): both the poll and the tick build the page's banner and timeline.
    orders_take_over(actor=supervisor, order_ids=[order.pk], reason="urgent")
    assert client.get(
        POLL, {"order": order.pk, "version": config["version"], "token": config["token"]}
    ).json()["banner"]
    assert tick(client, order, config).json()["page"]["banner"]
    assert client.session[draft_key(order.pk)]["body"] == "Customer wants it by Friday"
    # The page itself shows it, once.
    assert "Customer wants it by Friday" in change_page(client, order)
    assert draft_key(order.pk) not in client.session


# --- one request: every part together -----------------------------------------------------------------------


# session, user, the user's permissions (2), the upsert (no prune: the tab is not new on the order), the
# presence, the token with the bell's count in one statement; on PostgreSQL the heartbeat's savepoint and its
# release too (in a request: BEGIN, SET LOCAL synchronous_commit, COMMIT).
TICK_QUERIES = {"postgresql": 9, "sqlite": 7}


def test_an_unchanged_order_page_ticks_in_one_request_with_pinned_queries(
    client, operator, other_operator, django_assert_num_queries
):
    order = OrderFactory()
    presence_heartbeat(user=other_operator, tab="x", order_id=order.pk, editing=True)
    client.force_login(operator)
    config = page_config(change_page(client, order))
    tick(client, order, config, bell="1")  # the tab's first tick
    with django_assert_num_queries(TICK_QUERIES[connection.vendor]) as captured:
        answer = tick(client, order, config, bell="1").json()
    assert not [query for query in captured.captured_queries if "live_notification" in query["sql"]][1:]
    assert answer["page"] is None
    assert answer["presence"]["text"] == "Ivan is editing"
    assert answer["unread"] == 0
    assert answer["interval"] == 15
    assert "queues" not in answer and "rows" not in answer


def test_the_bell_counted_with_the_pages_change_check_counts_what_happened_elsewhere(
    client, operator, supervisor
):
    order, elsewhere = OrderFactory.create_batch(2)
    orders_assign(actor=operator, order_ids=[elsewhere.pk])
    client.force_login(operator)
    config = page_config(change_page(client, order))
    assert tick(client, order, config, bell="1").json()["unread"] == 0
    orders_take_over(actor=supervisor, order_ids=[elsewhere.pk], reason="rush")
    answer = tick(client, order, config, bell="1").json()
    assert (answer["page"], answer["unread"]) == (None, 1)


def test_a_tick_carries_the_take_over_and_counts_it_on_the_bell_at_once(client, operator, supervisor):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    client.force_login(operator)
    config = page_config(change_page(client, order))
    orders_take_over(actor=supervisor, order_ids=[order.pk], reason="customer called twice")
    # The bell was not due on this tick: the notice brings its count all the same.
    answer = tick(client, order, config).json()
    assert answer["page"]["notice"] == f"Boris took over #{order.number} from you: customer called twice"
    assert answer["page"]["editable"] is False
    assert answer["unread"] == 1


def test_the_queue_counts_ride_along_when_asked_and_when_a_seen_row_moves(client, operator, other_operator):
    orders = OrderFactory.create_batch(3)
    client.force_login(operator)
    first = client.get(SYNC, {"orders": ",".join(f"{o.pk}." for o in orders), "bell": "1", "queues": "1"})
    answer = first.json()
    assert answer["queues"] == queue_counts(operator)
    assert {row["id"] for row in answer["rows"]} == {o.pk for o in orders}
    tokens = {row["id"]: row["token"] for row in answer["rows"]}
    known = ",".join(f"{pk}.{token}" for pk, token in tokens.items())
    unchanged = client.get(SYNC, {"orders": known}).json()
    assert unchanged["rows"] == [] and "queues" not in unchanged
    orders_assign(actor=other_operator, order_ids=[orders[0].pk])
    moved = client.get(SYNC, {"orders": known}).json()
    assert [row["id"] for row in moved["rows"]] == [orders[0].pk]
    assert moved["queues"]["others"] == {"count": 1, "estimated": False}


def test_the_queue_counts_are_counted_once_for_every_persons_tabs_within_the_shared_seconds(
    client, operator, other_operator, settings, django_assert_num_queries
):
    """A hundred open tabs ask for the navigation's counts every other tick: what they share (the holds per
    operator, the unassigned, on hold, all) is counted once per QUEUE_COUNTS_SHARED_FOR seconds for all of
    them; each person's own "mine" and "others" still come out right."""
    orders = OrderFactory.create_batch(3)
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    client.force_login(operator)
    first = client.get(SYNC, {"queues": "1"}).json()["queues"]
    assert (first["mine"]["count"], first["others"]["count"], first["open"]["count"]) == (1, 0, 2)
    colleague = Client()
    colleague.force_login(other_operator)
    colleague.get(SYNC)  # the session and the permissions, as an open tab has them
    # session, user, the user's permissions (2): no count
    with django_assert_num_queries(4):
        theirs = colleague.get(SYNC, {"queues": "1"}).json()["queues"]
    assert (theirs["mine"]["count"], theirs["others"]["count"], theirs["open"]["count"]) == (0, 1, 2)
    # A hold taken meanwhile shows once the shared counts are older than QUEUE_COUNTS_SHARED_FOR.
    orders_assign(actor=other_operator, order_ids=[orders[1].pk])
    assert colleague.get(SYNC, {"queues": "1"}).json()["queues"]["mine"]["count"] == 0
    settings.ORDEROPS = {**settings.ORDEROPS, "QUEUE_COUNTS_SHARED_FOR": 0}  # counted for every request
    with django_assert_num_queries(4 + QUEUE_COUNTS_QUERIES[connection.vendor]):
        assert colleague.get(SYNC, {"queues": "1"}).json()["queues"]["mine"]["count"] == 1


# the holds per operator (their counters), the unassigned open, on hold, all orders (PostgreSQL: the planner's
# estimate first, then a count of a small table)
QUEUE_COUNTS_QUERIES = {"postgresql": 5, "sqlite": 4}


def test_the_bell_alone_costs_one_count(client, operator, supervisor, django_assert_num_queries):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    orders_take_over(actor=supervisor, order_ids=[order.pk], reason="rush")
    client.force_login(operator)
    # session, user, the user's permissions (2), the count
    with django_assert_num_queries(5):
        response = client.get(SYNC, {"bell": "1"})
    assert response.json() == {"interval": 15, "unread": 1}
    assert "no-store" in response["Cache-Control"]


def test_the_tick_follows_the_shortest_interval(client, operator, settings):
    settings.ORDEROPS = {"NOTIFICATION_BELL_INTERVAL": 4}
    client.force_login(operator)
    assert client.get(SYNC, {"bell": "1"}).json()["interval"] == 4
    page = client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert 'data-interval="4"' in page and 'data-queues-interval="30"' in page


@pytest.mark.parametrize(
    ("params", "status", "says"),
    [
        ({"orders": "1.a,x.b"}, 400, "Order x: not an order id."),
        ({"order": "1"}, 400, "the version the page loaded"),
        ({"order": "999999", "version": "1", "token": "1.0.0"}, 404, "Order 999999 does not exist"),
    ],
)
def test_the_sync_refuses_bad_parameters_and_says_why(client, operator, params, status, says):
    client.force_login(operator)
    response = client.get(SYNC, params)
    assert response.status_code == status
    assert says in response.json()["message"]


def test_a_heartbeat_needs_a_post_with_csrf_and_a_staff_session(client, operator, staff_without_role):
    order = OrderFactory()
    tab = tab_issue(user=operator, order_id=order.pk)
    assert client.post(SYNC, {"tab": tab, "order": order.pk}).status_code == 403
    client.force_login(operator)
    refused = client.get(SYNC, {"tab": tab, "order": order.pk})
    assert refused.status_code == 405 and "POST" in refused.json()["message"]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(operator)
    assert strict.post(SYNC, {"tab": tab, "order": order.pk}).status_code == 403
    client.force_login(staff_without_role)
    assert client.get(SYNC, {"bell": "1"}).json()["message"] == "You may not view orders."
    assert not Presence.objects.exists()


# --- presence only from real tabs (issue 26, item 7) -------------------------------------------------------


def test_each_order_page_carries_its_own_signed_tab_id(client, operator):
    order = OrderFactory()
    client.force_login(operator)
    first, second = page_config(change_page(client, order)), page_config(change_page(client, order))
    assert first["tab"] != second["tab"]
    assert client.post(SYNC, {"tab": first["tab"], "order": order.pk}).status_code == 200
    assert client.post(SYNC, {"tab": second["tab"], "order": order.pk}).json()["presence"]["my_tabs"] == 2


@pytest.mark.parametrize("forgery", ["made-up", "other-order", "other-person", "tampered"])
def test_a_heartbeat_with_a_tab_id_the_console_did_not_issue_is_refused(
    client, operator, other_operator, forgery
):
    order, elsewhere = OrderFactory(), OrderFactory()
    tab = {
        "made-up": "tab-1",
        "other-order": tab_issue(user=operator, order_id=elsewhere.pk),
        "other-person": tab_issue(user=other_operator, order_id=order.pk),
        "tampered": tab_issue(user=operator, order_id=order.pk)[:-2] + "xx",
    }[forgery]
    client.force_login(operator)
    response = client.post(SYNC, {"tab": tab, "order": order.pk, "state": "editing"})
    assert response.status_code == 403
    assert response.json() == {
        "error": "not_allowed",
        "message": f"Order {order.pk}: this tab id was not issued to you for this order by the console; "
        "reload the order's page.",
    }
    # The old heartbeat endpoint refuses it alike, and "gone" too.
    assert client.post(reverse("live:heartbeat"), {"tab": tab, "order": order.pk}).status_code == 403
    assert client.post(SYNC, {"tab": tab, "order": order.pk, "state": "gone"}).status_code == 403
    assert not Presence.objects.exists()


def test_forged_heartbeats_neither_show_anyone_editing_nor_make_get_next_pass_orders_over(
    client, operator, other_operator
):
    """The attack of issue 26: heartbeats with made-up tab ids for every order showed "Anna is editing"
    everywhere, and Get next order then passed those orders over."""
    now = timezone.now()
    orders = [OrderFactory(created_at=now - timedelta(hours=10 - n)) for n in range(5)]
    attacker = Client()
    attacker.force_login(other_operator)
    for number, order in enumerate(orders):
        for state in ("editing", "viewing"):
            attacker.post(SYNC, {"tab": f"forged-{number}", "order": order.pk, "state": state})
    assert not Presence.objects.exists()
    assert orders_in_view(excluding=operator) == []
    client.force_login(operator)
    assert "Nobody else has this order open." in change_page(client, orders[0])
    client.post(reverse("admin:orders_order_claim_next"))
    assert Assignment.objects.get(operator=operator).order_id == orders[0].pk


def test_one_persons_tabs_are_capped_and_a_timed_out_tab_frees_its_place(client, operator, settings):
    settings.ORDEROPS = {"LIVE_TABS_PER_PERSON": 2}
    orders = OrderFactory.create_batch(3)
    client.force_login(operator)
    tabs = [page_config(change_page(client, order))["tab"] for order in orders]
    assert client.post(SYNC, {"tab": tabs[0], "order": orders[0].pk}).status_code == 200
    assert client.post(SYNC, {"tab": tabs[1], "order": orders[1].pk}).status_code == 200
    # The tab's page still follows its order and the bell; its heartbeat is not recorded.
    answer = client.post(SYNC, {"tab": tabs[2], "order": orders[2].pk, "bell": "1"}).json()
    assert answer["presence_refused"]["error"] == "too_many" and "presence" not in answer
    assert answer["unread"] == 0
    refused = client.post(reverse("live:heartbeat"), {"tab": tabs[2], "order": orders[2].pk})
    assert refused.status_code == 429
    assert refused.json()["message"] == (
        f"Order {orders[2].pk}: you have the console open in 2 tabs, the most presence counts for one "
        "person; close one of them."
    )
    assert not Presence.objects.filter(order=orders[2]).exists()
    # A tab already counted keeps beating.
    assert client.post(SYNC, {"tab": tabs[1], "order": orders[1].pk, "state": "editing"}).status_code == 200
    # One tab times out (or closes): the third gets its place.
    Presence.objects.filter(order=orders[0]).update(seen_at=timezone.now() - timedelta(minutes=5))
    assert client.post(SYNC, {"tab": tabs[2], "order": orders[2].pk}).status_code == 200
    assert Presence.objects.filter(user=operator).count() == 2


def test_the_cap_counts_only_the_persons_own_tabs(client, operator, other_operator, settings):
    settings.ORDEROPS = {"LIVE_TABS_PER_PERSON": 1}
    order = OrderFactory()
    presence_heartbeat(user=other_operator, tab="ivan", order_id=order.pk, editing=False)
    client.force_login(operator)
    config = page_config(change_page(client, order))
    assert tick(client, order, config).json()["presence"]["text"] == "Ivan is viewing"


def test_the_system_check_rejects_a_bad_tab_cap(db, settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.ORDEROPS = {"LIVE_TABS_PER_PERSON": 0}
    with pytest.raises(SystemCheckError, match="LIVE_TABS_PER_PERSON"):
        call_command("check")


def test_a_comment_moves_the_page_in_the_tick(client, operator, other_operator):
    order = OrderFactory()
    client.force_login(operator)
    config = page_config(change_page(client, order))
    order_comment_add(actor=other_operator, order_id=order.pk, body="parcel is at the depot")
    page = tick(client, order, config).json()["page"]
    assert "parcel is at the depot" in page["timeline"] and page["notice"] == ""
