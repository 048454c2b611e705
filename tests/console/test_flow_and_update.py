"""The order page's flow and its one submit: after a save, a release or an update that ends the hold, back to
the queue one came from (the next order offered after "Get next order"), never anywhere outside the console;
and the Update box, which takes a comment, a status and the holder's release in one submit, through the
services, once, and refuses a status change from a stale page keeping what was typed."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.http import urlencode

from console.flow import filters_clean
from operators.models import Assignment, AssignmentLog
from operators.services import orders_assign
from orders.models import Order, OrderComment
from orders.services import order_update
from tests.console.test_admin import change_url, messages_of
from tests.console.test_stale_form import form_data
from tests.factories import OrderFactory

CHANGELIST = reverse("admin:orders_order_changelist")
CLAIM = reverse("admin:orders_order_claim_next")
QUEUE = "held=mine"
FROM_QUEUE = "?_changelist_filters=held%3Dmine"


def update_url(order, query: str = "") -> str:
    return reverse("admin:orders_order_update", args=[order.pk]) + query


def release_url(order, query: str = "") -> str:
    return reverse("admin:orders_order_release", args=[order.pk]) + query


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def held_by(user, **kwargs) -> Order:
    order = OrderFactory(**kwargs)
    orders_assign(actor=user, order_ids=[order.pk])
    return Order.objects.get(pk=order.pk)


def offers_next(response) -> bool:
    return 'id="offer-next"' in response.content.decode()


# --- where one goes next ------------------------------------------------------------------------------------


def test_the_queues_order_links_carry_the_queue_to_the_order_page(operator):
    order = held_by(operator)
    listing = login(operator).get(CHANGELIST + "?" + QUEUE).content.decode()
    assert f'href="{change_url(order)}{FROM_QUEUE}"' in listing


def test_a_release_returns_to_the_queue_the_order_was_opened_from(operator):
    order = held_by(operator)
    client = login(operator)
    response = client.post(release_url(order, FROM_QUEUE), follow=True)
    assert response.redirect_chain == [(CHANGELIST + "?" + QUEUE, 302)]
    assert messages_of(response) == [f"Released #{order.number}."]
    assert not offers_next(response)  # came from the list: the list's own button is there


def test_a_refused_release_stays_on_the_order_page_and_says_why(operator, other_operator):
    order = held_by(other_operator)
    response = login(operator).post(release_url(order, FROM_QUEUE), follow=True)
    assert response.redirect_chain == [(change_url(order) + FROM_QUEUE, 302)]
    assert Assignment.objects.get(order=order).operator == other_operator


def test_get_next_order_carries_the_queue_and_the_way_in(operator):
    OrderFactory()
    client = login(operator)
    response = client.post(CLAIM + "?_changelist_filters=held%3Dopen")
    claimed = Assignment.objects.get(operator=operator).order
    assert response.url == change_url(claimed) + "?_changelist_filters=held%3Dopen&via=next"
    page = client.get(response.url).content.decode()
    # The page's forms post with the flow: the order form (the admin adds the filters) and the buttons.
    assert 'action="?_changelist_filters=held%3Dopen&amp;via=next"' in page
    assert f'action="{release_url(claimed)}?_changelist_filters=held%3Dopen&amp;via=next"' in page


def test_after_get_next_a_release_returns_to_the_queue_and_offers_the_next_order(operator):
    OrderFactory.create_batch(2)
    client = login(operator)
    opened = client.post(CLAIM + "?_changelist_filters=held%3Dopen").url
    client.get(opened)  # her order's page
    query = "?" + urlsplit(opened).query
    claimed = Assignment.objects.get(operator=operator).order
    response = client.post(release_url(claimed, query), follow=True)
    assert response.redirect_chain[-1] == (CHANGELIST + "?held=open", 302)
    assert messages_of(response) == [f"Released #{claimed.number}.", "Ready for the next order?"]
    assert offers_next(response)
    # The offered button takes the next order from the same queue.
    button = re.search(r'<form method="post" action="([^"]+)"[^>]*offer-next-form', response.content.decode())
    assert button and button.group(1).replace("&amp;", "&") == CLAIM + "?_changelist_filters=held%3Dopen"


def test_after_get_next_a_save_returns_to_the_queue_and_offers_the_next_order(operator):
    OrderFactory.create_batch(2)
    client = login(operator)
    opened = client.post(CLAIM).url
    claimed = Assignment.objects.get(operator=operator).order
    data = {**form_data(client, claimed), "customer_phone": "+359 2 1", "_save": "Save"}
    response = client.post(opened, data, follow=True)
    assert response.redirect_chain[-1] == (CHANGELIST, 302)
    assert "Ready for the next order?" in messages_of(response)
    assert offers_next(response)
    assert Order.objects.get(pk=claimed.pk).customer_phone == "+359 2 1"


def test_a_save_from_a_queue_returns_to_it_without_offering_the_next_order(operator):
    order = held_by(operator)
    client = login(operator)
    data = {**form_data(client, order), "customer_phone": "+359 2 1", "_save": "Save"}
    response = client.post(change_url(order) + FROM_QUEUE, data, follow=True)
    assert response.redirect_chain[-1] == (CHANGELIST + "?" + QUEUE, 302)
    assert not offers_next(response)


def test_an_order_page_reached_by_get_next_offers_the_next_order_once_it_is_not_yours(operator):
    order = OrderFactory()
    client = login(operator)
    page = client.get(change_url(order) + "?via=next").content.decode()
    # Not held by her: the next order is the first button, "Assign to me" the second.
    assert re.search(r'class="button primary-action" id="claim-next"', page)
    assert 'class="button" id="assign-button"' in page
    orders_assign(actor=operator, order_ids=[order.pk])
    held = client.get(change_url(order) + "?via=next").content.decode()
    assert 'id="claim-next"' not in held
    assert 'id="claim-next"' not in client.get(change_url(order)).content.decode()


@pytest.mark.parametrize(
    "filters",
    ["//evil.example/x", "https://evil.example", "held=mine&next=https://evil.example", "\r\nLocation: x"],
)
def test_the_way_back_cannot_point_outside_the_console(operator, filters):
    order = held_by(operator)
    client = login(operator)
    query = "?" + urlencode({"_changelist_filters": filters, "via": "next", "next": "//evil.example"})
    response = client.post(release_url(order, query))
    location = response["Location"]
    assert location.startswith(CHANGELIST), location
    parts = urlsplit(location)
    assert (parts.scheme, parts.netloc, parts.path) == ("", "", CHANGELIST)
    assert "\n" not in location and "\r" not in location


def test_queue_filters_are_parsed_and_written_again():
    assert filters_clean("held=mine&status__code__exact=on_hold") == "held=mine&status__code__exact=on_hold"
    assert filters_clean("_changelist_filters=held%3Dmine&via=next&held=others") == "held=others"
    assert filters_clean("x" * 2000) == ""
    assert parse_qs(filters_clean("//evil.example/x"), keep_blank_values=True) == {"//evil.example/x": [""]}


# --- the Update box -----------------------------------------------------------------------------------------


def test_the_update_box_lists_the_statuses_the_holder_may_set_and_marks_those_that_end_the_hold(operator):
    order = held_by(operator)
    page = login(operator).get(change_url(order)).content.decode()
    box = page[page.index('id="update-form"') : page.index("</form>", page.index('id="update-form"'))]
    assert '<option value="">Pending (no change)</option>' in box
    assert '<option value="complete" data-final="1">Complete (ends the hold)</option>' in box
    assert '<option value="processing">Processing</option>' in box
    assert 'value="pending"' not in box  # the status it has is no change
    assert 'name="release_after"' in box
    assert 'name="loaded_version" value="1"' in box


def test_a_colleague_gets_a_comment_box_without_statuses_or_release(operator, other_operator):
    order = held_by(operator)
    page = login(other_operator).get(change_url(order)).content.decode()
    box = page[page.index('id="update-form"') : page.index("</form>", page.index('id="update-form"'))]
    assert 'id="comment-body"' in box
    assert 'name="status"' not in box and 'name="release_after"' not in box


def test_a_comment_and_a_status_in_one_submit(operator):
    order = held_by(operator)
    client = login(operator)
    response = client.post(
        update_url(order, FROM_QUEUE),
        {"body": "Paid by bank transfer", "status": "processing", "loaded_version": 1},
    )
    # Still hers: the page again, at the timeline's end.
    assert response.url == change_url(order) + FROM_QUEUE + "#timeline-end"
    assert messages_of(response) == [
        f"#{order.number} is now Processing.",
        f"Your comment on #{order.number} was added.",
    ]
    current = Order.objects.get(pk=order.pk)
    assert (current.status_id, current.version) == ("processing", 2)
    assert list(OrderComment.objects.filter(order=order).values_list("body", flat=True)) == [
        "Paid by bank transfer"
    ]
    page = client.get(response.url).content.decode()
    assert "Anna changed status: Pending → Processing" in page


def test_a_final_status_from_the_update_box_ends_the_hold_and_returns_to_the_queue(operator):
    order = held_by(operator)
    response = login(operator).post(
        update_url(order, FROM_QUEUE),
        {"body": "Delivered", "status": "complete", "loaded_version": 1},
        follow=True,
    )
    assert response.redirect_chain[-1] == (CHANGELIST + "?" + QUEUE, 302)
    assert messages_of(response) == [
        f"Your hold on #{order.number} ended: Complete is a final status.",
        f"Your comment on #{order.number} was added.",
    ]
    assert not Assignment.objects.exists()
    assert AssignmentLog.objects.filter(order=order, action="auto_released").count() == 1


def test_release_after_update_releases_the_holders_order_after_the_comment(operator):
    order = held_by(operator)
    response = login(operator).post(
        update_url(order, "?via=next"),
        {"body": "Waiting for the customer", "release_after": "1"},
        follow=True,
    )
    assert messages_of(response) == [
        f"Your comment on #{order.number} was added.",
        f"Released #{order.number}.",
        "Ready for the next order?",
    ]
    assert response.redirect_chain[-1] == (CHANGELIST, 302)
    assert offers_next(response)
    assert not Assignment.objects.exists()
    assert OrderComment.objects.filter(order=order).count() == 1


def test_a_status_change_from_a_stale_page_is_refused_and_keeps_the_comment_and_the_choice(
    operator, supervisor
):
    order = held_by(operator)
    client = login(operator)
    client.get(change_url(order))  # Anna opens version 1
    order_update(actor=supervisor, order_id=order.pk, version=1, changes={"customer_phone": "+359 88 1"})
    response = client.post(
        update_url(order),
        {"body": "Customer cancels", "status": "canceled", "loaded_version": 1},
        follow=True,
    )
    assert response.redirect_chain == [(change_url(order) + "#update-form", 302)]
    current = Order.objects.get(pk=order.pk)
    assert (current.status_id, current.version) == ("pending", 2)
    assert not OrderComment.objects.exists()  # nothing of the submit landed
    page = response.content.decode()
    assert ">Customer cancels</textarea>" in page
    assert '<option value="canceled" data-final="1" selected>Canceled (ends the hold)</option>' in page
    reason = (
        f"Boris changed customer phone on #{order.number} just now, after you opened it."
        " Your update was not made: check the order as it is now and send it again."
    )
    assert page.count(reason) == 1  # beside the box, once
    assert messages_of(response) == []
    assert 'name="loaded_version" value="2"' in page  # sending it again lands


def test_ones_own_change_in_another_tab_refuses_the_update_in_the_second_person(operator):
    order = held_by(operator)
    client = login(operator)
    client.get(change_url(order))  # Anna opens version 1, then saves the phone from another tab
    order_update(actor=operator, order_id=order.pk, version=1, changes={"customer_phone": "+359 88 1"})
    sent = {"body": "Customer cancels", "status": "canceled", "loaded_version": 1}
    page = client.post(update_url(order), sent, follow=True).content.decode()
    assert (
        f"You changed customer phone on #{order.number} just now in another tab, after you opened it here."
        " Your update was not made: check the order as it is now and send it again."
    ) in page
    assert f"Anna changed customer phone on #{order.number}" not in page  # the timeline's own words stay
    assert Order.objects.get(pk=order.pk).status_id == "pending"


def test_a_comment_from_an_older_page_is_still_added(operator, other_operator, supervisor):
    order = held_by(operator)
    order_update(actor=supervisor, order_id=order.pk, version=1, changes={"customer_phone": "+359 88 1"})
    response = login(other_operator).post(update_url(order), {"body": "Called her", "loaded_version": 1})
    assert response.url == change_url(order) + "#timeline-end"
    assert OrderComment.objects.filter(order=order).count() == 1


def test_a_colleague_cannot_set_a_status_through_the_update_box(operator, other_operator):
    order = held_by(operator)
    response = login(other_operator).post(
        update_url(order), {"body": "Set it done", "status": "complete", "loaded_version": 1}, follow=True
    )
    page = response.content.decode()
    assert f"#{order.number} was not updated: you cannot set that status on it now." in page
    assert ">Set it done</textarea>" in page
    assert Order.objects.get(pk=order.pk).status_id == "pending"
    assert not OrderComment.objects.exists()


def test_an_empty_update_says_what_is_missing(operator):
    order = held_by(operator)
    response = login(operator).post(update_url(order), {"body": "  ", "loaded_version": 1}, follow=True)
    assert (
        f"#{order.number} was not updated: write a comment or choose a status." in response.content.decode()
    )


def test_the_update_box_sent_with_the_orders_edited_fields_saves_them_all_in_one_submit(operator):
    order = held_by(operator, customer_phone="+49 1")
    client = login(operator)
    data = {
        **form_data(client, order),
        "customer_phone": "+359 2",
        "update_comment": "New number, and paid",
        "update_status": "processing",
        "_continue": "1",
        "_update": "1",
    }
    response = client.post(change_url(order) + FROM_QUEUE, data)
    assert response.url == change_url(order) + FROM_QUEUE + "#timeline-end"
    current = Order.objects.get(pk=order.pk)
    assert (current.customer_phone, current.status_id, current.version) == ("+359 2", "processing", 2)
    assert OrderComment.objects.filter(order=order).count() == 1
    assert f"#{order.number} was saved." in messages_of(response)


def test_the_update_box_with_edited_fields_and_a_final_status_returns_to_the_queue(operator):
    order = held_by(operator)
    client = login(operator)
    data = {
        **form_data(client, order),
        "customer_phone": "+359 2",
        "update_status": "complete",
        "update_release": "1",
        "_continue": "1",
        "_update": "1",
    }
    response = client.post(change_url(order) + "?via=next", data, follow=True)
    assert response.redirect_chain[-1] == (CHANGELIST, 302)
    assert offers_next(response)
    assert Order.objects.get(pk=order.pk).status_id == "complete"
    # The final status ended the hold already: no release on top of it.
    assert list(AssignmentLog.objects.filter(order=order).values_list("action", flat=True)) == [
        "assigned",
        "auto_released",
    ]


def test_a_stale_save_says_so_once_and_keeps_the_input(operator, supervisor):
    order = held_by(operator)
    client = login(operator)
    loaded = form_data(client, order)
    order_update(
        actor=supervisor, order_id=order.pk, version=1, changes={"shipping_street": "Vitosha Blvd 1"}
    )
    response = client.post(
        change_url(order), {**loaded, "customer_phone": "+359 2 555", "update_comment": "Moved"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    sentence = f"Boris changed street on #{order.number} just now."
    assert page.count(sentence) == 1
    assert "Please correct the error below." not in page
    assert 'value="+359 2 555"' in page and ">Moved</textarea>" in page
    assert 'data-input-kept="1"' in page  # leaving it asks first (console.js)


def test_the_update_box_sent_twice_with_one_token_acts_once(operator):
    order = held_by(operator)
    client = login(operator)
    page = client.get(change_url(order)).content.decode()
    box = page[page.index('id="update-form"') :]
    token = re.search(r'name="submit_token" value="([^"]+)"', box).group(1)
    data = {"body": "Called", "status": "processing", "loaded_version": 1, "submit_token": token}
    first = client.post(update_url(order), data)
    again = client.post(update_url(order), data)
    assert again.url == first.url
    assert OrderComment.objects.filter(order=order).count() == 1
    assert Order.objects.get(pk=order.pk).version == 2


def test_a_get_on_the_update_url_explains_and_changes_nothing(operator):
    order = held_by(operator)
    response = login(operator).get(update_url(order))
    assert response.status_code == 405
    assert "Update" in response.content.decode()
