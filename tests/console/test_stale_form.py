"""No lost update through the console: two people (or one person in two tabs) open the same order, both save;
the second save, made from the older version, is refused with who changed what, the form comes back with the
person's input, and saving it again keeps both people's changes."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from operators.services import orders_assign
from orders.history import history_replays
from orders.models import Order
from orders.results import Code, RequestRefused
from orders.services import order_update
from tests.console.test_admin import change_url, messages_of
from tests.factories import OrderFactory, OrderLineFactory

INLINE = {
    "lines-TOTAL_FORMS": "0",
    "lines-INITIAL_FORMS": "0",
    "lines-MIN_NUM_FORMS": "0",
    "lines-MAX_NUM_FORMS": "1000",
}


def form_data(client: Client, order) -> dict:
    """The order page's form as the browser would post it, unchanged."""
    form = client.get(change_url(order)).context["adminform"].form
    data = {
        name: ("" if value is None else value)
        for name, value in form.initial.items()
        if name in form.fields and name not in ("created_at", "updated_at")
    }
    data["loaded_version"] = form.fields["loaded_version"].initial
    return {**data, **INLINE}


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("supervisor", "operator"),
        ("operator", "supervisor"),
        ("supervisor", "superuser"),
        ("operator", "operator"),
    ],
    ids=["supervisor then holder", "holder then supervisor", "two supervisors", "one user in two tabs"],
)
def test_the_second_of_two_saves_from_one_version_is_refused_and_keeps_its_input(
    request, operator, first, second
):
    order = OrderFactory(shipping_street="Hauptstraße 36", customer_phone="+49 30 1")
    orders_assign(actor=operator, order_ids=[order.pk])
    people = [request.getfixturevalue(first), request.getfixturevalue(second)]
    clients = [login(people[0]), login(people[1])]
    loaded = [form_data(clients[0], order), form_data(clients[1], order)]  # both opened version 1

    saved = clients[0].post(change_url(order), {**loaded[0], "shipping_street": "Vitosha Blvd 1"})
    assert saved.status_code == 302, saved.content.decode()[:1500]

    refused = clients[1].post(change_url(order), {**loaded[1], "customer_phone": "+359 2 555"})

    assert refused.status_code == 200  # the form again, not a redirect
    current = Order.objects.get(pk=order.pk)
    assert (current.shipping_street, current.customer_phone, current.version) == (
        "Vitosha Blvd 1",
        "+49 30 1",
        2,
    )
    who = people[0].get_full_name() or people[0].get_username()
    # One person in two tabs hears of their own change as theirs, not in the third person.
    sentence = (
        f"You changed street on #{order.number} just now in another tab."
        if first == second
        else f"{who} changed street on #{order.number} just now."
    )
    assert [text for text in messages_of(refused) if "were not saved" in text] == [
        f"{sentence} Your changes were not saved: check them and save again."
    ]
    form = refused.context["adminform"].form
    assert form.data["customer_phone"] == "+359 2 555"  # what was typed is kept
    assert form.data["shipping_street"] == "Vitosha Blvd 1"  # the colleague's change is shown, not undone
    assert str(form.data["loaded_version"]) == "2"

    # Saving the form as it came back keeps both changes.
    again = clients[1].post(change_url(order), {**form.data.dict(), **INLINE})
    assert again.status_code == 302, again.content.decode()[:1500]
    current = Order.objects.get(pk=order.pk)
    assert (current.shipping_street, current.customer_phone, current.version) == (
        "Vitosha Blvd 1",
        "+359 2 555",
        3,
    )
    assert history_replays(current) == []


def test_a_field_both_changed_keeps_the_second_persons_input_for_them_to_decide(operator, supervisor):
    order = OrderFactory(shipping_city="Sofia")
    orders_assign(actor=operator, order_ids=[order.pk])
    anna, boris = login(operator), login(supervisor)
    annas, boris_form = form_data(anna, order), form_data(boris, order)
    assert boris.post(change_url(order), {**boris_form, "shipping_city": "Plovdiv"}).status_code == 302
    refused = anna.post(change_url(order), {**annas, "shipping_city": "Varna"})
    assert refused.status_code == 200
    assert refused.context["adminform"].form.data["shipping_city"] == "Varna"
    assert Order.objects.get(pk=order.pk).shipping_city == "Plovdiv"


def test_the_holder_edits_lines_through_the_same_edit_path(operator):
    order = OrderFactory()
    line = OrderLineFactory(order=order, sku="TEA-1", name="Tea", qty=1)
    orders_assign(actor=operator, order_ids=[order.pk])
    client = login(operator)
    data = {
        **form_data(client, order),
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "1",
        "lines-0-id": str(line.pk),
        "lines-0-order": str(order.pk),
        "lines-0-sku": "TEA-1",
        "lines-0-name": "Tea",
        "lines-0-qty": "3",
        "lines-0-unit_price": str(line.unit_price),
        "lines-1-order": str(order.pk),
        "lines-1-sku": "MUG-1",
        "lines-1-name": "Mug",
        "lines-1-qty": "1",
        "lines-1-unit_price": "9.00",
    }
    # The items are edited in the page's Edit items step, whose form posts to its own address.
    response = client.post(change_url(order) + "?edit_items=1", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert sorted(order.lines.values_list("sku", "qty")) == [("MUG-1", 1), ("TEA-1", 3)]
    current = Order.objects.get(pk=order.pk)
    assert current.version == 2
    assert list(current.changes.values_list("field", flat=True)) == ["lines"]


def test_a_negative_total_is_refused_naming_the_field(superuser):
    order = OrderFactory()
    client = login(superuser)
    response = client.post(change_url(order), {**form_data(client, order), "grand_total": "-5"})
    assert response.status_code == 200
    assert "cannot be negative" in response.content.decode()
    assert Order.objects.get(pk=order.pk).version == 1


def test_the_stores_number_total_and_currency_are_read_only_for_operators_and_supervisors(
    operator, supervisor
):
    order = OrderFactory(number="100042", grand_total=Decimal("54.90"), currency="EUR")
    orders_assign(actor=operator, order_ids=[order.pk])
    for person in (operator, supervisor):
        client = login(person)
        form = client.get(change_url(order)).context["adminform"].form
        assert not {"number", "grand_total", "currency"} & set(form.fields)
        data = {**form_data(client, order), "number": "HELLO-1", "grand_total": "-5", "currency": "ZZZ"}
        assert client.post(change_url(order), data).status_code == 302
    saved = Order.objects.get(pk=order.pk)
    assert (saved.number, saved.grand_total, saved.currency) == ("100042", Decimal("54.90"), "EUR")


def test_the_edit_service_refuses_store_owned_changes_from_anyone_but_a_superuser(operator, superuser):
    order = OrderFactory(currency="EUR")
    orders_assign(actor=operator, order_ids=[order.pk])
    with pytest.raises(RequestRefused, match="can only be corrected by a superuser") as refused:
        order_update(actor=operator, order_id=order.pk, version=1, changes={"currency": "BGN"})
    assert refused.value.code == Code.NOT_ALLOWED
    order_update(actor=operator, order_id=order.pk, version=1, changes={"currency": "EUR"})  # unchanged: fine
    order_update(actor=superuser, order_id=order.pk, version=1, changes={"currency": "BGN"})
    assert Order.objects.get(pk=order.pk).currency == "BGN"
    with pytest.raises(RequestRefused, match="ISO 4217"):
        order_update(actor=superuser, order_id=order.pk, version=2, changes={"currency": "ZZZ"})


def test_a_lower_case_currency_is_upper_cased_by_every_path_not_refused(operator, superuser):
    order = OrderFactory(currency="EUR")
    orders_assign(actor=operator, order_ids=[order.pk])
    # The operator's "eur" is the store's EUR: no change, so no refusal of a store-owned field.
    order_update(actor=operator, order_id=order.pk, version=1, changes={"currency": "eur"})
    assert Order.objects.get(pk=order.pk).version == 1
    saved = order_update(actor=superuser, order_id=order.pk, version=1, changes={"currency": " bgn "})
    assert (saved.currency, saved.version) == ("BGN", 2)
    # The console's form, as a superuser corrects it.
    client = login(superuser)
    response = client.post(change_url(order), {**form_data(client, order), "currency": "usd"})
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).currency == "USD"
    # Upper-cased, a code that is none is still refused, naming the order.
    with pytest.raises(RequestRefused, match=f"#{order.number}.*ZZZ is not an ISO 4217 currency code"):
        order_update(actor=superuser, order_id=order.pk, version=3, changes={"currency": "zzz"})


def test_the_timeline_says_who_changed_which_field_from_what_to_what(operator, supervisor):
    order = OrderFactory(shipping_street="Hauptstraße 36")
    orders_assign(actor=operator, order_ids=[order.pk])
    boris = login(supervisor)
    assert (
        boris.post(
            change_url(order), {**form_data(boris, order), "shipping_street": "Vitosha Blvd 1"}
        ).status_code
        == 302
    )
    boris.post(
        reverse("admin:orders_order_changelist"),
        {"action": "set_status", "_selected_action": [order.pk], "status": "on_hold", "post": "yes"},
    )
    page = login(operator).get(change_url(order)).content.decode()
    assert "Boris changed street: Hauptstraße 36 → Vitosha Blvd 1" in page
    assert "Boris changed status: Pending → On hold" in page


def test_a_comment_typed_in_the_box_is_added_by_the_orders_save(operator):
    order = OrderFactory(customer_phone="+49 1")
    orders_assign(actor=operator, order_ids=[order.pk])
    client = login(operator)
    data = {**form_data(client, order), "customer_phone": "+359 2", "update_comment": "Called: new number"}
    response = client.post(change_url(order), data)
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).customer_phone == "+359 2"
    assert list(order.comments.values_list("body", flat=True)) == ["Called: new number"]
    assert f"Your comment on #{order.number} was added." in messages_of(response)


def test_a_refused_comment_with_a_save_saves_nothing_and_keeps_all_the_input(operator, settings):
    settings.ORDEROPS = {"COMMENT_MAX_LENGTH": 10}
    order = OrderFactory(customer_phone="+49 1")
    orders_assign(actor=operator, order_ids=[order.pk])
    client = login(operator)
    data = {
        **form_data(client, order),
        "customer_phone": "+359 2",
        "update_comment": "far too long a comment",
    }
    response = client.post(change_url(order), data)
    assert response.status_code == 200  # the page again, with the input
    assert not order.comments.exists()
    assert Order.objects.get(pk=order.pk).customer_phone == "+49 1"
    page = response.content.decode()
    assert "far too long a comment</textarea>" in page
    assert 'value="+359 2"' in page
    # Said once, at the top: not again as the form's own error.
    assert page.count("at most 10 characters") == 1
    assert messages_of(response) == [
        f"Nothing was saved: #{order.number}: a comment can have at most 10 characters; this one has 22."
    ]


def test_the_holder_saves_and_releases_in_one_submit(operator):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    client = login(operator)
    response = client.post(change_url(order), {**form_data(client, order), "update_release": "1"})
    assert response.status_code == 302
    assert f"Released #{order.number}." in messages_of(response)
    assert order.assignment_log.filter(action="released").count() == 1
