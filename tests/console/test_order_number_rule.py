"""One rule for an order's number, whichever way it comes (issue 26, row 10): the superuser's order form
refuses a number with spaces, markup or a line break, as the import and the API do, and so does the edit
service behind every surface."""

import pytest

from orders.models import Order
from orders.results import RequestRefused
from orders.services import order_update
from tests.console.test_stale_form import change_url, form_data, login
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

REFUSED = {
    "100 042": "contains spaces",
    "100042\r\nBcc: x@example.com": "contains a line break",
    "<b>100042</b>": "which no order number has",
    "100042&amp;": "which no order number has",
}


@pytest.mark.parametrize(("number", "reason"), REFUSED.items())
def test_the_superusers_order_form_refuses_a_number_with_spaces_markup_or_a_line_break(
    superuser, number, reason
):
    order = OrderFactory(number="100042")
    client = login(superuser)
    response = client.post(change_url(order), {**form_data(client, order), "number": number})
    assert response.status_code == 200
    assert reason in response.content.decode()
    saved = Order.objects.get(pk=order.pk)
    assert (saved.number, saved.version) == ("100042", 1)


def test_the_superusers_order_form_takes_a_number_stores_use(superuser):
    order = OrderFactory(number="100042")
    client = login(superuser)
    assert (
        client.post(change_url(order), {**form_data(client, order), "number": "#L-1999/2"}).status_code == 302
    )
    assert Order.objects.get(pk=order.pk).number == "#L-1999/2"


def test_the_edit_service_refuses_such_a_number_from_any_surface(superuser):
    order = OrderFactory(number="100042")
    with pytest.raises(RequestRefused, match="line break"):
        order_update(actor=superuser, order_id=order.pk, version=1, changes={"number": "1\r\n2"})
    assert Order.objects.get(pk=order.pk).number == "100042"
