"""factory-boy factories for every model, and users in each role."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from operators.models import Assignment, AssignmentLog
from orderops.conf import OPERATORS_GROUP, SUPERVISORS_GROUP
from orders.models import Order, OrderComment, OrderLine, OrderStatus

TEST_PASSWORD = "orderops-test-password"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.LazyAttribute(lambda user: user.username.capitalize())
    email = factory.LazyAttribute(lambda user: f"{user.username}@orderops.test")
    is_staff = False
    password = factory.django.Password(TEST_PASSWORD)


def _joins_group(group_name: str) -> factory.PostGeneration:
    """Add the created user to a role group; the group must exist (the `roles` fixture sets them up)."""

    def join(user, create, extracted, **kwargs) -> None:
        if create:
            user.groups.add(Group.objects.get(name=group_name))

    return factory.PostGeneration(join)


class OperatorFactory(UserFactory):
    is_staff = True
    role = _joins_group(OPERATORS_GROUP)


class SupervisorFactory(UserFactory):
    is_staff = True
    role = _joins_group(SUPERVISORS_GROUP)


class OrderStatusFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderStatus
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"status-{n}")
    label = factory.LazyAttribute(lambda status: status.code.replace("_", " ").capitalize())
    position = factory.Sequence(lambda n: 100 + n)
    releases_assignment = False


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order
        skip_postgeneration_save = True

    number = factory.Sequence(lambda n: str(500000 + n))
    status = factory.LazyFunction(lambda: OrderStatus.objects.get(code="pending"))
    customer_name = factory.Faker("name")
    customer_email = factory.Faker("email")
    customer_phone = factory.Faker("phone_number")
    grand_total = Decimal("42.50")
    currency = "EUR"
    shipping_name = factory.SelfAttribute("customer_name")
    shipping_street = factory.Faker("street_address")
    shipping_city = factory.Faker("city")
    shipping_postcode = factory.Faker("postcode")
    shipping_country = "BG"
    created_at = factory.Sequence(lambda n: timezone.now() - timedelta(days=30) + timedelta(minutes=n))


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Faker("word")
    qty = 1
    unit_price = Decimal("10.00")


class OrderCommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderComment

    order = factory.SubFactory(OrderFactory)
    author = factory.SubFactory(UserFactory)
    body = factory.Faker("sentence")


class AssignmentFactory(factory.django.DjangoModelFactory):
    """A hold written directly, without its log row: for fixtures that set up a state, not for tests of
    assigning (those go through the services)."""

    class Meta:
        model = Assignment

    order = factory.SubFactory(OrderFactory)
    operator = factory.SubFactory(UserFactory, is_staff=True)
    assigned_by = factory.SelfAttribute("operator")


class AssignmentLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AssignmentLog

    order = factory.SubFactory(OrderFactory)
    action = AssignmentLog.Action.ASSIGNED
    operator = factory.SubFactory(UserFactory, is_staff=True)
    actor = factory.SelfAttribute("operator")


class StoreFactory(factory.django.DjangoModelFactory):
    """A connected store (Shopify unless `platform` says otherwise), with its platform's status map."""

    class Meta:
        model = "stores.Store"

    slug = factory.Sequence(lambda n: f"store-{n}")
    platform = "shopify"
    name = factory.LazyAttribute(
        lambda store: {"shopify": "Shopify", "woocommerce": "WooCommerce"}.get(store.platform, "Magento")
    )
    base_url = factory.Sequence(lambda n: f"https://store-{n}.example.com")
    webhook_secret = "hush-webhook-secret"
