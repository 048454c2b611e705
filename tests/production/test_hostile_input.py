"""Test 3: hostile input through HTTP. Tampered action POSTs (ids that are not ids, that do not exist, far too
many, duplicated, that the user may not touch), missing or wrong CSRF tokens, GETs to state-changing URLs,
comment bodies that are empty, huge or HTML, take-overs without a reason, unknown operators. Each gets a clear
refusal (a message on the page, or a status code that says it) and changes nothing: every product table is
compared before and after."""

import html
import re
from contextlib import contextmanager

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from console.update import draft_key as comment_draft_key
from operators.models import Assignment, AssignmentLog
from operators.services import orders_assign
from orders.models import OrderComment
from tests.factories import OrderFactory
from tests.snapshots import snapshot_diff, tables_snapshot

CHANGELIST = reverse("admin:orders_order_changelist")
CLAIM_NEXT = reverse("admin:orders_order_claim_next")
ONE_MB = 1024 * 1024


@contextmanager
def nothing_changes():
    before = tables_snapshot()
    yield
    after = tables_snapshot()
    assert after == before, f"the request changed: {snapshot_diff(before, after)}"


def comment_error(response) -> str:
    """The refusal the order page shows beside the comment box (empty: none)."""
    found = re.search(
        r'<ul class="messagelist comment-errors"><li class="error">(.*?)</li>', response.content.decode()
    )
    return html.unescape(found.group(1)) if found else ""


def shown(response) -> list[str]:
    """The messages the person sees on the page the response ends on."""
    return [str(message) for message in get_messages(response.wsgi_request)]


def no_server_error(response) -> None:
    error = response.exc_info[1] if getattr(response, "exc_info", None) else None
    assert response.status_code < 500, f"{response.status_code} from {response.wsgi_request.path}: {error!r}"


@pytest.fixture
def orders(operator, other_operator):
    """#0 held by Ivan, #1 held by Anna, #2 free."""
    made = OrderFactory.create_batch(3)
    orders_assign(actor=other_operator, order_ids=[made[0].pk])
    orders_assign(actor=operator, order_ids=[made[1].pk])
    return made


def logged_in(user, **kwargs) -> Client:
    client = Client(raise_request_exception=False, **kwargs)
    client.force_login(user)
    return client


def action_post(client: Client, action: str, ids, **extra):
    data = {"action": action, "index": "0", "_selected_action": [str(pk) for pk in ids], **extra}
    return client.post(CHANGELIST, data, follow=True)


# --- ids that are not ids, or not orders --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "bad_id"),
    [
        ("assign_to_me", "abc"),
        ("release", "1.5"),
        ("set_status", "0x10"),
    ],
)
def test_an_action_on_a_value_that_is_not_an_order_id_is_refused_with_a_message(
    operator, orders, action, bad_id
):
    client = logged_in(operator)
    with nothing_changes():
        response = action_post(client, action, [bad_id, orders[2].pk], post="yes", status="processing")
    no_server_error(response)
    texts = shown(response)
    assert any(bad_id in text for text in texts), f"no message names {bad_id!r}: {texts}"


@pytest.mark.parametrize(
    ("action", "missing_id"),
    [
        ("assign_to_me", "99999999"),
        ("release", "0"),
        ("set_status", "-1"),
        ("assign_to_me", "99999999999999999999"),  # past a bigint
    ],
)
def test_an_action_on_orders_that_do_not_exist_says_so(operator, orders, action, missing_id):
    client = logged_in(operator)
    with nothing_changes():
        response = action_post(client, action, [missing_id], post="yes", status="processing")
    no_server_error(response)
    texts = shown(response)
    assert any(missing_id in text for text in texts), f"nothing tells the user about {missing_id}: {texts}"


def test_assigning_a_real_and_a_missing_order_assigns_one_and_reports_the_other(operator, orders):
    client = logged_in(operator)
    response = action_post(client, "assign_to_me", [orders[2].pk, 99999999])
    texts = shown(response)
    assert f"Assigned 1 order to you: #{orders[2].number}." in texts
    assert any("99999999" in text for text in texts), f"the missing order is not reported: {texts}"


@pytest.mark.parametrize(
    ("button", "object_id"),
    [("assign", "abc"), ("comment", "1.5"), ("release", "99999999999999999999"), ("take_over", "-1")],
)
def test_a_button_url_with_an_object_id_that_is_not_an_id_is_refused(supervisor, orders, button, object_id):
    client = logged_in(supervisor)
    url = reverse(f"admin:orders_order_{button}", args=[object_id])
    with nothing_changes():
        response = client.post(url, {"reason": "Customer escalated", "body": "Called"})
    no_server_error(response)
    assert response.status_code in (400, 404), response.status_code


@pytest.mark.parametrize("button", ["assign", "release", "take_over", "comment"])
def test_a_button_url_of_an_order_that_does_not_exist_answers_404(supervisor, orders, button):
    client = logged_in(supervisor)
    with nothing_changes():
        response = client.post(reverse(f"admin:orders_order_{button}", args=[99999999]), {"reason": "x"})
    assert response.status_code == 404


# --- too many ids, duplicated ids ---------------------------------------------------------------------------


def test_a_post_of_100000_ids_is_refused_whole(operator, orders):
    client = logged_in(operator)
    ids = [str(pk) for pk in range(1, 100_001)]
    with nothing_changes():
        response = client.post(CHANGELIST, {"action": "assign_to_me", "index": "0", "_selected_action": ids})
    # Django refuses a form of more than DATA_UPLOAD_MAX_NUMBER_FIELDS fields before any view runs; the
    # page says why and what to do.
    assert response.status_code == 400
    html = response.content.decode()
    assert "This request was refused" in html
    assert "more orders selected than can be changed at once (at most 10,000)" in html


def test_selecting_more_orders_than_bulk_max_orders_is_refused_with_a_message(operator, settings):
    settings.ORDEROPS = {"BULK_MAX_ORDERS": 5}
    made = OrderFactory.create_batch(6)
    client = logged_in(operator)
    with nothing_changes():
        # "Select all 6 orders" across the list, as the changelist offers it.
        response = action_post(client, "assign_to_me", [made[0].pk], select_across="1")
    assert shown(response) == ["More than 5 orders were selected; at most 5 can be changed at once."]


def test_a_free_order_selected_three_times_is_assigned_once(operator, orders):
    client = logged_in(operator)
    response = action_post(client, "assign_to_me", [orders[2].pk] * 3)
    assert shown(response) == [f"Assigned 1 order to you: #{orders[2].number}."]
    assert Assignment.objects.filter(order=orders[2], operator=operator).count() == 1
    assert AssignmentLog.objects.filter(order=orders[2]).count() == 1


def test_an_order_held_by_another_selected_five_times_is_refused_once(operator, orders):
    client = logged_in(operator)
    with nothing_changes():
        response = action_post(client, "assign_to_me", [orders[0].pk] * 5)
    assert shown(response) == [f"#{orders[0].number} is held by Ivan."]


# --- ids the user may not touch -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action", ["assign_to_me", "release", "set_status", "take_over", "assign_to_operator"]
)
def test_staff_without_a_role_cannot_run_actions(staff_without_role, orders, action):
    client = logged_in(staff_without_role)
    with nothing_changes():
        response = client.post(
            CHANGELIST,
            {
                "action": action,
                "_selected_action": [orders[0].pk, orders[2].pk],
                "post": "yes",
                "reason": "x",
            },
        )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("action", "extra"),
    [
        ("take_over", {"reason": "mine now"}),
        ("assign_to_operator", {"operator": "ivan"}),
        ("delete_selected", {}),
        ("drop_all_tables", {}),
    ],
)
def test_an_action_not_offered_to_an_operator_is_refused(operator, other_operator, orders, action, extra):
    extra = {key: str(other_operator.pk) if value == "ivan" else value for key, value in extra.items()}
    client = logged_in(operator)
    with nothing_changes():
        response = action_post(client, action, [orders[0].pk, orders[2].pk], post="yes", **extra)
    assert shown(response) == ["No action selected."]


# --- CSRF ---------------------------------------------------------------------------------------------------


def csrf_targets(orders) -> list[tuple[str, dict]]:
    held_by_ivan, mine, free = orders
    return [
        (CHANGELIST, {"action": "assign_to_me", "index": "0", "_selected_action": [free.pk]}),
        (CHANGELIST, {"action": "release", "index": "0", "_selected_action": [mine.pk]}),
        (reverse("admin:orders_order_assign", args=[free.pk]), {}),
        (reverse("admin:orders_order_release", args=[mine.pk]), {}),
        (reverse("admin:orders_order_take_over", args=[held_by_ivan.pk]), {"reason": "forged"}),
        (reverse("admin:orders_order_comment", args=[free.pk]), {"body": "forged"}),
        (CLAIM_NEXT, {}),
        (reverse("admin:orders_order_change", args=[mine.pk]), {"customer_name": "Forged"}),
    ]


@pytest.mark.parametrize("token", ["missing", "wrong"])
def test_posts_without_a_valid_csrf_token_are_refused(supervisor, orders, token):
    client = logged_in(supervisor, enforce_csrf_checks=True)
    client.get(CHANGELIST)  # the CSRF cookie, as a browser would have it
    for url, data in csrf_targets(orders):
        if token == "wrong":
            data = {**data, "csrfmiddlewaretoken": "x" * 64}
        with nothing_changes():
            response = client.post(url, data)
        assert response.status_code == 403, (url, response.status_code)
        assert "CSRF verification failed" in response.content.decode(), url


# --- GET never changes anything -----------------------------------------------------------------------------


@pytest.mark.parametrize("button", ["assign", "release", "take_over", "comment"])
def test_get_on_a_button_url_is_405(supervisor, orders, button):
    client = logged_in(supervisor)
    with nothing_changes():
        response = client.get(
            reverse(f"admin:orders_order_{button}", args=[orders[0].pk]), {"reason": "x", "body": "x"}
        )
    assert response.status_code == 405


def test_get_on_claim_next_and_logout_is_405(operator, orders):
    client = logged_in(operator)
    with nothing_changes():
        assert client.get(CLAIM_NEXT).status_code == 405
        assert client.get(reverse("admin:logout")).status_code == 405
    assert "_auth_user_id" in client.session  # still logged in


@pytest.mark.parametrize("action", ["assign_to_me", "release", "set_status", "take_over", "delete_selected"])
def test_action_parameters_in_a_get_do_nothing(superuser, orders, action):
    client = logged_in(superuser)
    query = {
        "action": action,
        "index": "0",
        "_selected_action": orders[2].pk,
        "post": "yes",
        "status": "complete",
    }
    with nothing_changes():
        response = client.get(CHANGELIST, query, follow=True)
    # Not filters the list knows: a 400 naming them (was the admin's "Database error" page).
    assert response.status_code == 400
    assert f"action={action}" in response.content.decode()


def test_get_on_the_delete_page_only_asks(superuser, orders):
    client = logged_in(superuser)
    with nothing_changes():
        response = client.get(reverse("admin:orders_order_delete", args=[orders[2].pk]))
    assert response.status_code == 200 and "Are you sure" in response.content.decode()


# --- comments -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [None, "", "   ", "\n\t \n"])
def test_an_empty_comment_is_refused(other_operator, orders, body):
    client = logged_in(other_operator)
    data = {} if body is None else {"body": body}
    with nothing_changes():
        response = client.post(reverse("admin:orders_order_comment", args=[orders[1].pk]), data, follow=True)
    assert comment_error(response) == f"#{orders[1].number}: a comment cannot be empty."


def test_a_one_megabyte_comment_is_refused_and_kept_in_the_box(other_operator, orders):
    client = logged_in(other_operator)
    body = "x" * ONE_MB
    with nothing_changes():
        response = client.post(
            reverse("admin:orders_order_comment", args=[orders[1].pk]), {"body": body}, follow=True
        )
    assert comment_error(response) == (
        f"#{orders[1].number}: a comment can have at most 5000 characters; this one has {ONE_MB}."
    )
    assert f">{body}</textarea>" in response.content.decode()  # what was typed comes back in the box
    assert comment_draft_key(orders[1].pk) not in client.session  # shown once, then dropped


def test_a_comment_over_the_upload_limit_is_refused_by_django(other_operator, orders):
    client = logged_in(other_operator)
    with nothing_changes():
        response = client.post(
            reverse("admin:orders_order_comment", args=[orders[1].pk]), {"body": "x" * (3 * ONE_MB)}
        )
    assert response.status_code == 400  # DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB


SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)> & <b>bold</b>'
ESCAPED = (
    "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; "
    "&amp; &lt;b&gt;bold&lt;/b&gt;"
)


def test_a_comment_with_html_is_stored_as_written_and_shown_escaped(other_operator, supervisor, orders):
    client = logged_in(other_operator)
    response = client.post(
        reverse("admin:orders_order_comment", args=[orders[1].pk]), {"body": SCRIPT}, follow=True
    )
    assert shown(response) == [f"Your comment on #{orders[1].number} was added."]
    assert OrderComment.objects.get().body == SCRIPT
    order_page = response.content.decode()
    assert ESCAPED in order_page and "<script>alert" not in order_page and "<img src=x" not in order_page

    comment_list = logged_in(supervisor).get(reverse("admin:orders_ordercomment_changelist")).content.decode()
    assert "<script>alert" not in comment_list and "&lt;script&gt;alert" in comment_list


def test_a_refused_comment_with_html_comes_back_escaped_in_the_box(other_operator, orders):
    client = logged_in(other_operator)
    body = "</textarea>" + SCRIPT + "x" * 5000
    with nothing_changes():
        response = client.post(
            reverse("admin:orders_order_comment", args=[orders[1].pk]), {"body": body}, follow=True
        )
    page = response.content.decode()
    assert "a comment can have at most 5000 characters" in comment_error(response)
    assert "&lt;/textarea&gt;&lt;script&gt;alert" in page
    assert "</textarea><script>" not in page and "<script>alert" not in page


# --- take-over without a reason, unknown operators, unknown statuses ----------------------------------------


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_take_over_without_a_reason_is_refused(supervisor, orders, reason):
    client = logged_in(supervisor)
    data = {} if reason is None else {"reason": reason}
    url = reverse("admin:orders_order_take_over", args=[orders[0].pk])
    with nothing_changes():
        button = client.post(url, data, follow=True)
        listed = action_post(client, "take_over", [orders[0].pk], post="yes", **data)
    assert shown(button) == ["Nothing was taken over: a take-over needs a reason."]
    assert "Say why you take these orders over" in listed.content.decode()


def test_a_take_over_with_a_reason_over_500_characters_is_refused(supervisor, orders):
    client = logged_in(supervisor)
    url = reverse("admin:orders_order_take_over", args=[orders[0].pk])
    with nothing_changes():
        button = client.post(url, {"reason": "x" * 501}, follow=True)
        listed = action_post(client, "take_over", [orders[0].pk], post="yes", reason="x" * 501)
    assert shown(button) == [
        f"#{orders[0].number} was not taken over: the reason can have at most 500 characters."
    ]
    assert "The reason can have at most 500 characters." in listed.content.decode()


@pytest.mark.parametrize("who", ["999999", "abc", "", "-1", "staff without a role", "inactive operator"])
def test_assigning_to_an_unknown_operator_is_refused(
    supervisor, orders, staff_without_role, inactive_operator, who
):
    operator = {"staff without a role": staff_without_role.pk, "inactive operator": inactive_operator.pk}.get(
        who, who
    )
    client = logged_in(supervisor)
    with nothing_changes():
        response = action_post(client, "assign_to_operator", [orders[2].pk], post="yes", operator=operator)
    assert response.status_code == 200
    assert "Choose an operator from the list." in response.content.decode()


@pytest.mark.parametrize("status", ["nope", "", "COMPLETE", "complete'; --"])
def test_setting_an_unknown_status_is_refused(supervisor, orders, status):
    client = logged_in(supervisor)
    with nothing_changes():
        response = action_post(client, "set_status", [orders[0].pk], post="yes", status=status)
    assert "Choose a status from the list." in response.content.decode()
