"""seed_demo makes a usable console and can run again without duplicating anything."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from operators.models import Assignment, AssignmentLog
from orderops.conf import OPERATORS_GROUP, SUPERVISORS_GROUP
from orders.models import Order, OrderLine


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_creates_users_in_their_roles_and_prints_every_login():
    output = seed("--orders", "60")
    users = {user.username: user for user in get_user_model().objects.all()}
    assert set(users) == {"admin", "boss", "anna", "ivan", "maria"}
    assert users["admin"].is_superuser
    assert list(users["boss"].groups.values_list("name", flat=True)) == [SUPERVISORS_GROUP]
    for name in ("anna", "ivan", "maria"):
        assert list(users[name].groups.values_list("name", flat=True)) == [OPERATORS_GROUP]
        assert users[name].is_staff and not users[name].is_superuser
        assert users[name].check_password(name)
        assert f"{name:<6} / {name:<6}" in output
    assert "http://127.0.0.1:8000/admin/" in output


@pytest.mark.django_db
def test_seed_demo_creates_orders_with_lines_across_statuses_and_some_holds():
    seed("--orders", "200")
    assert Order.objects.count() == 200
    assert not Order.objects.filter(lines__isnull=True).exists()
    assert OrderLine.objects.count() >= 200
    assert Order.objects.values("status").distinct().count() >= 5
    holds = Assignment.objects.select_related("order__status")
    assert holds.count() > 0
    assert not any(hold.order.status.releases_assignment for hold in holds)
    # Every hold has the log row a real assign writes, and nothing else is in the log.
    log = set(AssignmentLog.objects.values_list("order_id", "operator_id", "actor_id", "action"))
    assert log == {(h.order_id, h.operator_id, h.assigned_by_id, "assigned") for h in holds}


@pytest.mark.django_db
def test_seed_demo_twice_duplicates_nothing():
    seed("--orders", "80")
    counts = (Order.objects.count(), Assignment.objects.count(), AssignmentLog.objects.count())
    output = seed("--orders", "80")
    assert (Order.objects.count(), Assignment.objects.count(), AssignmentLog.objects.count()) == counts
    assert get_user_model().objects.count() == 5
    assert "0 new orders (80 in all)" in output


@pytest.mark.django_db
def test_seed_demo_refuses_a_negative_order_count():
    with pytest.raises(CommandError, match="--orders must be zero or more"):
        seed("--orders", "-1")
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_seed_demo_has_a_bulgarian_operator_and_bulgarian_customers_as_dictated():
    seed("--orders", "100")
    maria = get_user_model().objects.get(username="maria")
    assert (maria.operator_preference.language, maria.operator_preference.time_zone) == ("bg", "Europe/Sofia")
    bulgarian = Order.objects.filter(shipping_country="BG", customer_name__regex=r"^[А-Яа-я ]+$")
    assert bulgarian.count() == 25
    assert set(bulgarian.values_list("shipping_city", flat=True)) <= {
        "София",
        "Пловдив",
        "Варна",
        "Бургас",
        "Русе",
        "Стара Загора",
        "Велико Търново",
    }
    pinned = Order.objects.get(customer_name="Иванова Мария")
    assert (pinned.customer_phone, pinned.shipping_city) == ("0888 123 456", "София")
    assert Order.objects.filter(customer_phone="+359 88 306 5614").exists()
    assert all(
        phone.startswith(("08", "+359 8", "02 "))
        for phone in bulgarian.values_list("customer_phone", flat=True)
    )
