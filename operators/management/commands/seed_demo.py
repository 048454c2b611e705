"""Fill the console with realistic demo data: roles, the demo users, orders with lines, some held orders."""

import random
import unicodedata
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from operators.models import Assignment, AssignmentLog, OperatorPreference
from operators.services import roles_setup
from orderops.conf import OPERATORS_GROUP, SUPERVISORS_GROUP
from orders.models import Order, OrderComment, OrderLine, OrderStatus

# username, first name, role group (None: superuser), password
DEMO_USERS = [
    ("admin", "Admin", None, "admin"),
    ("boss", "Boris", SUPERVISORS_GROUP, "boss"),
    ("anna", "Anna", OPERATORS_GROUP, "anna"),
    ("ivan", "Ivan", OPERATORS_GROUP, "ivan"),
    ("maria", "Maria", OPERATORS_GROUP, "maria"),
]
# The Bulgarian-speaking operator: the console in Bulgarian and Sofia's time, whatever the browser says.
BULGARIAN_OPERATOR = "maria"
FIRST_ORDER_NUMBER = 100001
# Weights of the status mix: most orders are new or in progress; a long tail is done.
STATUS_WEIGHTS = {
    "pending": 30,
    "processing": 20,
    "on_hold": 5,
    "complete": 35,
    "closed": 5,
    "canceled": 5,
}
FIRST_NAMES = [
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Sofia",
    "Lukas",
    "Mila",
    "Jonas",
    "Elena",
    "Georgi",
    "Petra",
    "Mateo",
    "Chloe",
    "Aarav",
    "Yuki",
    "Fatima",
    "Oskar",
    "Ines",
    "Dimitar",
    "Hannah",
    "Marco",
    "Zoe",
]
LAST_NAMES = [
    "Novak",
    "Schmidt",
    "Rossi",
    "Garcia",
    "Dimitrova",
    "Johansson",
    "Kowalski",
    "Dubois",
    "Petrov",
    "Silva",
    "Nielsen",
    "Horvat",
    "Müller",
    "Ivanova",
    "Jansen",
    "Popescu",
    "Costa",
    "Lindqvist",
]
CITIES = [
    ("Sofia", "1000", "BG"),
    ("Berlin", "10115", "DE"),
    ("Vienna", "1010", "AT"),
    ("Milan", "20121", "IT"),
    ("Lyon", "69001", "FR"),
    ("Warsaw", "00-001", "PL"),
    ("Madrid", "28001", "ES"),
    ("Plovdiv", "4000", "BG"),
]
# One order in four is from a Bulgarian customer: a Cyrillic name, a Bulgarian phone written as people
# write it (mobile "0888 123 456", "+359 88 …", landline "02 …"), a Bulgarian city and street.
BULGARIAN_EVERY = 4
# Drawn after the pinned customers below, whose names are not among them (one "Иванова Мария" to find).
BULGARIAN_NAMES = [
    ("Мариана", "Иванова"),
    ("Георги", "Петков"),
    ("Елена", "Димова"),
    ("Николай", "Стоянов"),
    ("Десислава", "Георгиева"),
    ("Иван", "Колев"),
    ("Цветелина", "Тодорова"),
    ("Стефан", "Христов"),
    ("Радостина", "Николова"),
    ("Калоян", "Ангелов"),
    ("Йорданка", "Маринова"),
    ("Пламен", "Василев"),
    ("Виктория", "Илиева"),
    ("Борислав", "Атанасов"),
    ("Гергана", "Павлова"),
    ("Светослав", "Йорданов"),
]
BULGARIAN_CITIES = [
    ("София", "1000"),
    ("Пловдив", "4000"),
    ("Варна", "9000"),
    ("Бургас", "8000"),
    ("Русе", "7000"),
    ("Стара Загора", "6000"),
    ("Велико Търново", "5000"),
]
BULGARIAN_STREETS = [
    "бул. Витоша",
    "ул. Граф Игнатиев",
    "ул. Раковски",
    "бул. Княгиня Мария Луиза",
    "ул. Шипка",
]
# The first Bulgarian customers, as the issue dictates them on the phone ("Иванова Мария, 0888 123 456").
PINNED_BULGARIANS = [
    ("Иванова Мария", "0888 123 456", "София", "1000"),
    ("Георги Петров", "+359 88 306 5614", "Пловдив", "4000"),
    ("Елена Димитрова", "02 981 2345", "София", "1164"),
]
STREETS = ["Vitosha Blvd", "Hauptstraße", "Via Roma", "Rue de la Paix", "Calle Mayor", "Ulica Długa"]
CATALOG = [
    ("TEA-GRN-100", "Green tea, 100 g", Decimal("6.90")),
    ("TEA-BLK-250", "Assam black tea, 250 g", Decimal("11.50")),
    ("MUG-CER-WHT", "Ceramic mug, white", Decimal("9.00")),
    ("KTL-STL-1L", "Steel kettle, 1 l", Decimal("34.90")),
    ("INF-GLS-01", "Glass infuser", Decimal("14.00")),
    ("HNY-ACA-450", "Acacia honey, 450 g", Decimal("8.40")),
    ("GFT-BOX-M", "Gift box, medium", Decimal("24.00")),
    ("CUP-SET-4", "Tea cups, set of 4", Decimal("29.90")),
]
COMMENTS = [
    "Customer called: asked to deliver after 18:00.",
    "Address looks incomplete, emailed the customer.",
    "Payment confirmed by the bank.",
    "One item out of stock; offered a replacement.",
]
BULGARIAN_COMMENTS = [
    "Клиентът се обади: иска доставка след 18:00.",
    "Адресът изглежда непълен, писах на клиента.",
    "Плащането е потвърдено от банката.",
    "Един артикул е изчерпан; предложих заместител.",
]
DEMO_PASSWORD_NOTE = "demo passwords: change them or remove these users before real use"


def bulgarian_customer(index: int, seed: int) -> dict:
    """The Bulgarian customer of the index-th Bulgarian order: pinned ones first, then drawn (with a random of
    its own, so that the other orders stay as they were)."""
    rng = random.Random(f"{seed}-bg-{index}")
    if index < len(PINNED_BULGARIANS):
        name, phone, city, postcode = PINNED_BULGARIANS[index]
    else:
        first, last = rng.choice(BULGARIAN_NAMES)
        name = f"{first} {last}" if rng.random() < 0.7 else f"{last} {first}"
        mobile = f"{rng.choice(['87', '88', '89'])}{rng.randint(1, 9)}"
        digits = f"{rng.randint(100, 999)} {rng.randint(100, 999)}"
        phone = f"0{mobile} {digits}" if rng.random() < 0.6 else f"+359 {mobile} {digits}"
        city, postcode = rng.choice(BULGARIAN_CITIES)
    transliterated = {"Мария Иванова": ("maria", "ivanova")}.get(name)
    local = f"{transliterated[0]}.{transliterated[1]}" if transliterated else f"client{index + 1}"
    return {
        "customer_name": name,
        "customer_phone": phone,
        "customer_email": f"{local}@example.bg",
        "shipping_name": name,
        "shipping_street": f"{rng.choice(BULGARIAN_STREETS)} {rng.randint(1, 120)}",
        "shipping_city": city,
        "shipping_postcode": postcode,
        "shipping_country": "BG",
    }


def ascii_email(first: str, last: str) -> str:
    local = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode()
    return f"{local.lower()}@example.com"


class Command(BaseCommand):
    help = "Create the demo users, roles and realistic orders (safe to run again: nothing is duplicated)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--orders", type=int, default=500, help="How many demo orders (default 500).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed, for repeatable data.")

    def handle(self, *args, **options) -> None:
        count = options["orders"]
        if count < 0:
            raise CommandError(f"--orders must be zero or more, got {count}.")
        rng = random.Random(options["seed"])
        with transaction.atomic():
            roles_setup()
            users = self.create_users()
            created = self.create_orders(count, rng, users, seed=options["seed"])
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready: {created} new orders ({Order.objects.count()} in all).")
        )
        self.stdout.write("\nOpen http://127.0.0.1:8000/admin/ and log in as (username / password):")
        for username, _first_name, group_name, password in DEMO_USERS:
            role = group_name or "superuser"
            language = " (български, Europe/Sofia)" if username == BULGARIAN_OPERATOR else ""
            self.stdout.write(f"  {username:<6} / {password:<6} {role}{language}")
        self.stdout.write(f"({DEMO_PASSWORD_NOTE})")

    def create_users(self) -> dict:
        user_model = get_user_model()
        groups = {
            group.name: group for group in Group.objects.filter(name__in=[OPERATORS_GROUP, SUPERVISORS_GROUP])
        }
        users = {}
        for username, first_name, group_name, password in DEMO_USERS:
            user, _created = user_model.objects.get_or_create(username=username)
            user.first_name = first_name
            user.email = f"{username}@orderops.example"
            user.is_staff = True
            user.is_active = True
            user.is_superuser = group_name is None
            # Reset each run, so the printed logins always work.
            user.set_password(password)
            user.save()
            if group_name:
                user.groups.set([groups[group_name]])
            users[username] = user
        OperatorPreference.objects.update_or_create(
            user=users[BULGARIAN_OPERATOR], defaults={"language": "bg", "time_zone": "Europe/Sofia"}
        )
        return users

    def create_orders(self, count: int, rng: random.Random, users: dict, *, seed: int = 42) -> int:
        numbers = [str(FIRST_ORDER_NUMBER + i) for i in range(count)]
        existing = set(Order.objects.filter(number__in=numbers).values_list("number", flat=True))
        statuses = {status.code: status for status in OrderStatus.objects.all()}
        status_codes = [code for code in STATUS_WEIGHTS if code in statuses]
        weights = [STATUS_WEIGHTS[code] for code in status_codes]
        now = timezone.now()
        new_orders = []
        lines_by_number = {}
        for position, number in enumerate(numbers):
            # Draw for every number, so a re-run with more orders gives the same first orders.
            status = statuses[rng.choices(status_codes, weights)[0]]
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            city, postcode, country = rng.choice(CITIES)
            created_at = now - timedelta(minutes=rng.randint(5, 60 * 24 * 45))
            lines = []
            for sku, name, price in rng.sample(CATALOG, rng.randint(1, 4)):
                lines.append(OrderLine(sku=sku, name=name, qty=rng.randint(1, 3), unit_price=price))
            if number in existing:
                continue
            lines_by_number[number] = lines
            customer = {
                "customer_name": f"{first} {last}",
                "customer_email": ascii_email(first, last),
                "customer_phone": f"+359 88 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                "shipping_name": f"{first} {last}",
                "shipping_street": f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
                "shipping_city": city,
                "shipping_postcode": postcode,
                "shipping_country": country,
            }
            if position % BULGARIAN_EVERY == 1:
                customer = bulgarian_customer(position // BULGARIAN_EVERY, seed)
            new_orders.append(
                Order(
                    number=number,
                    status=status,
                    grand_total=sum((line.unit_price * line.qty for line in lines), Decimal("0")),
                    currency="EUR",
                    created_at=created_at,
                    **customer,
                )
            )
        Order.objects.bulk_create(new_orders, batch_size=1000)
        # bulk_create sets primary keys on PostgreSQL and SQLite alike.
        all_lines = []
        for order in new_orders:
            for line in lines_by_number[order.number]:
                line.order = order
                all_lines.append(line)
        OrderLine.objects.bulk_create(all_lines, batch_size=2000)
        self.create_holds(new_orders, rng, users, now)
        return len(new_orders)

    def create_holds(self, orders: list[Order], rng: random.Random, users: dict, now) -> None:
        """Hold about one open order in ten, each with the log row that a real assign writes."""
        operators = [users["anna"], users["ivan"], users["maria"]]
        open_orders = [order for order in orders if not order.status.releases_assignment]
        held = rng.sample(open_orders, len(open_orders) // 10)
        assignments, log_rows, comments = [], [], []
        for order in held:
            operator = rng.choice(operators)
            # A supervisor hands out about one hold in four; operators take the rest themselves.
            assigned_by = users["boss"] if rng.random() < 0.25 else operator
            assigned_at = max(order.created_at, now - timedelta(minutes=rng.randint(2, 60 * 30)))
            assignments.append(
                Assignment(
                    order=order,
                    operator=operator,
                    assigned_by=assigned_by,
                    assigned_at=assigned_at,
                    last_activity_at=assigned_at,
                    order_created_at=order.created_at,
                )
            )
            log_rows.append(
                AssignmentLog(
                    order=order,
                    action=AssignmentLog.Action.ASSIGNED,
                    operator=operator,
                    actor=assigned_by,
                    at=assigned_at,
                )
            )
            if rng.random() < 0.3:
                comments.append(
                    OrderComment(
                        order=order,
                        author=operator,
                        body=rng.choice(
                            BULGARIAN_COMMENTS if operator.username == BULGARIAN_OPERATOR else COMMENTS
                        ),
                        created_at=assigned_at + timedelta(minutes=1),
                    )
                )
        Assignment.objects.bulk_create(assignments)
        AssignmentLog.objects.bulk_create(log_rows)
        OrderComment.objects.bulk_create(comments)
