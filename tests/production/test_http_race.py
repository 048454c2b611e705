"""Test 1: the race through the real stack. Two gunicorn servers (two workers each, DEBUG off) share the
PostgreSQL test database, as two app hosts behind a load balancer would; 16 browsers log in through the login
form (real session, real CSRF token), then for a fixed number of rounds bulk-assign overlapping selections
from the order list and press "Get next order", alternating between the two servers. Afterwards every order
is held at most once, the success messages each browser was shown are exactly the holds the database gives
its operator, every refusal named the real holder, the log replays to the holds, and nothing answered 5xx."""

import re
import threading
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from operators.models import Assignment, AssignmentLog
from orders.models import Order, OrderStatus
from tests.factories import TEST_PASSWORD, OperatorFactory, OrderFactory
from tests.http_server import Browser, Page, gunicorn
from tests.replay import assert_log_replays_to_holds

pytestmark = [pytest.mark.postgres, pytest.mark.pgbouncer, pytest.mark.django_db(transaction=True)]

CLIENTS = 16
ROUNDS = 4
ORDERS = 96
REGION_STEP = 20
SELECTION = 6  # at most 10: a message lists up to 10 order numbers before "and N more"
SERVERS = 2
WORKERS_PER_SERVER = 2
CHANGELIST = "/admin/orders/order/"
CLAIM_NEXT = "/admin/orders/order/claim-next/"
# The order page, with the way back to the queue (console/flow.py) after it when there is one.
CHANGE_PAGE = re.compile(r"/admin/orders/order/(\d+)/change/(?:\?[^#]*)?$")

ORDER_NUMBER = r"#(\d+)"
ASSIGNED = re.compile(r"^Assigned (\d+) orders? to you: (.*)\.$")
HELD_BY = re.compile(r"^(.*) (?:is|are) held by (.*)\.$")
ALREADY_YOURS = re.compile(r"^(.*) (?:is|are) already yours\.$")
CLAIMED = re.compile(r"^Order #(\d+) is now yours\.$")
NONE_LEFT = "There is no unassigned order to take right now."
# Get next order retries a few times when other claimers keep taking its candidate, then says this.
BUSY = "Every free order was being taken at once; try again."


def numbers_in(text: str) -> list[str]:
    assert "more" not in text, f"a message shortened its list of orders: {text!r}"
    return re.findall(ORDER_NUMBER, text)


@dataclass
class Seen:
    """What one browser was told."""

    username: str
    first_name: str
    assigned: list[str] = field(default_factory=list)  # order numbers, from "Assigned N orders to you: ..."
    claimed: list[str] = field(default_factory=list)  # from "Order #N is now yours."
    claimed_pages: list[tuple[str, int]] = field(default_factory=list)  # (number, pk of the page it opened)
    held_by: list[tuple[str, str]] = field(default_factory=list)  # (order number, holder's name)
    already_mine: list[str] = field(default_factory=list)
    none_left: int = 0
    busy: int = 0
    other_messages: list[str] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)


def selection(ids: list[int], client: int, round_no: int) -> list[int]:
    """Each order in a round's region is asked for by three clients (neighbours overlap by two thirds of a
    selection); each round's region starts further along, partly over orders already taken."""
    start = (client * 2 + round_no * REGION_STEP) % len(ids)
    return [ids[(start + offset) % len(ids)] for offset in range(SELECTION)]


def work(
    client: int,
    base_urls: list[str],
    number_of: dict[int, str],
    seen: Seen,
    barrier: threading.Barrier,
) -> None:
    # One browser, two servers, as behind a load balancer: the session and the holds live in the database,
    # so a login on one server is good on the other. Each round posts its action to one server and
    # "Get next order" to the other.
    browser = Browser(base_urls[client % SERVERS])
    browser.login(seen.username, TEST_PASSWORD)
    barrier.wait(timeout=120)
    for round_no in range(ROUNDS):
        browser.base_url = base_urls[(client + round_no) % SERVERS]
        fields = [("action", "assign_to_me"), ("index", "0")]
        wanted = selection(list(number_of), client, round_no)
        fields += [("_selected_action", str(pk)) for pk in wanted]
        reported = read_assign_messages(browser.follow(browser.post(CHANGELIST, fields)), seen)
        # Each selected order got its own outcome, in exactly one message.
        assert sorted(reported) == sorted(number_of[pk] for pk in wanted), (seen.username, round_no)

        browser.base_url = base_urls[(client + round_no + 1) % SERVERS]
        claimed = browser.post(CLAIM_NEXT)
        read_claim_messages(claimed, browser.follow(claimed), seen)
    seen.pages.extend(browser.pages)


def read_assign_messages(page: Page, seen: Seen) -> list[str]:
    """Record what the list page said after "Assign to me"; return every order number it named."""
    named = []
    for _level, text in page.messages:
        if match := ASSIGNED.match(text):
            numbers = numbers_in(match.group(2))
            assert int(match.group(1)) == len(numbers), text
            seen.assigned.extend(numbers)
        elif match := HELD_BY.match(text):
            numbers = numbers_in(match.group(1))
            seen.held_by.extend((number, match.group(2)) for number in numbers)
        elif match := ALREADY_YOURS.match(text):
            numbers = numbers_in(match.group(1))
            seen.already_mine.extend(numbers)
        else:
            seen.other_messages.append(text)
            numbers = []
        named.extend(numbers)
    return named


def read_claim_messages(claimed: Page, opened: Page, seen: Seen) -> None:
    texts = [text for _level, text in opened.messages]
    if texts in ([NONE_LEFT], [BUSY]):
        assert claimed.location == CHANGELIST, claimed.location
        seen.none_left += texts == [NONE_LEFT]
        seen.busy += texts == [BUSY]
        return
    assert len(texts) == 1 and CLAIMED.match(texts[0]), (texts, claimed.location)
    number = CLAIMED.match(texts[0]).group(1)
    page = CHANGE_PAGE.search(claimed.location)
    assert page, f"Get next order redirected to {claimed.location!r}, not to an order page"
    seen.claimed.append(number)
    seen.claimed_pages.append((number, int(page.group(1))))


def test_sixteen_browsers_on_two_gunicorn_servers_hold_each_order_once_and_are_told_the_truth(
    roles, tmp_path
):
    operators = [OperatorFactory(username=f"race{index:02d}") for index in range(CLIENTS)]
    pending = OrderStatus.objects.get(code="pending")
    orders = Order.objects.bulk_create(OrderFactory.build_batch(ORDERS, status=pending))  # oldest first
    pk_of = {order.number: order.pk for order in orders}
    number_of = {order.pk: order.number for order in orders}
    seen = [Seen(user.username, user.first_name) for user in operators]
    errors: list[str] = []

    started = time.monotonic()
    with (
        gunicorn(workers=WORKERS_PER_SERVER, log_path=tmp_path / "gunicorn-a.log") as server_a,
        gunicorn(workers=WORKERS_PER_SERVER, log_path=tmp_path / "gunicorn-b.log") as server_b,
    ):
        ready = time.monotonic()
        base_urls = [server_a.base_url, server_b.base_url]
        barrier = threading.Barrier(CLIENTS)

        def run(client: int) -> None:
            try:
                work(client, base_urls, number_of, seen[client], barrier)
            except BaseException as error:
                errors.append(f"client {client}: {error!r}\n{traceback.format_exc()}")
                barrier.abort()

        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            list(pool.map(run, range(CLIENTS)))
        raced = time.monotonic()
        logs = server_a.log_tail(60) + "\n" + server_b.log_tail(60)

    assert not errors, "a browser failed:\n" + "\n".join(errors) + "\n--- server logs ---\n" + logs

    pages = [page for client in seen for page in client.pages]
    statuses = Counter(page.status for page in pages)
    server_errors = [page for page in pages if page.status >= 500]
    assert not server_errors, [(p.method, p.url, p.status, p.body[:300]) for p in server_errors]
    assert set(statuses) <= {200, 302}, statuses

    rows = list(Assignment.objects.values_list("order_id", "operator_id"))
    holds = dict(rows)
    # One holder per order: one hold row per order in the database, and no two browsers (nor one browser
    # twice) told that they got the same order.
    assert len(rows) == len(holds), "an order has two hold rows"
    told = Counter(number for client in seen for number in client.assigned + client.claimed)
    double = {number: count for number, count in told.items() if count > 1}
    assert not double, f"orders reported as taken more than once: {double}"

    by_name = {user.first_name: user.pk for user in operators}
    for user, client in zip(operators, seen, strict=True):
        mine_in_db = {pk for pk, holder in holds.items() if holder == user.pk}
        mine_told = {pk_of[number] for number in client.assigned + client.claimed}
        assert mine_told == mine_in_db, (client.username, sorted(mine_told ^ mine_in_db))
        for number, page_pk in client.claimed_pages:
            assert pk_of[number] == page_pk, (client.username, number, page_pk)  # opened the order it got
        for number, holder_name in client.held_by:
            assert holds.get(pk_of[number]) == by_name[holder_name] != user.pk, (client.username, number)
        for number in client.already_mine:
            assert holds.get(pk_of[number]) == user.pk, (client.username, number)
        assert not client.other_messages, (client.username, client.other_messages)

    # Nothing was released: one 'assigned' row per hold, and the log replays to the holds.
    assert (
        AssignmentLog.objects.count() == AssignmentLog.objects.filter(action="assigned").count() == len(holds)
    )
    assert_log_replays_to_holds()

    requests = len(pages)
    posts = sum(page.method == "POST" for page in pages)
    conflicts = sum(len(client.held_by) for client in seen)
    slowest = max(page.seconds for page in pages)
    print(
        f"\n[http race] {SERVERS} gunicorn servers x {WORKERS_PER_SERVER} workers on PostgreSQL, "
        f"{CLIENTS} browsers x {ROUNDS} rounds "
        f"(assign {SELECTION} overlapping orders of {ORDERS} + get next): "
        f"{requests} requests ({posts} POST; statuses {dict(sorted(statuses.items()))}), "
        f"holds {len(holds)} ({sum(len(c.assigned) for c in seen)} assigned + "
        f"{sum(len(c.claimed) for c in seen)} claimed), conflicts refused {conflicts} (held by another), "
        f"already yours {sum(len(c.already_mine) for c in seen)}, get-next found nothing "
        f"{sum(c.none_left for c in seen)} (busy, try again: {sum(c.busy for c in seen)}), "
        f"double holds {len(double)}, 5xx {len(server_errors)}; "
        f"servers up in {ready - started:.1f}s, race {raced - ready:.1f}s, slowest request {slowest:.2f}s"
    )
