"""Figures 10 and 11: orders from connected stores.

10 (`hooks`): signed webhook deliveries through gunicorn at a steady rate beside the simulated operators of
   figure 9: the time to the 2xx, against a bare request through the same gunicorn at the same moments
   (`/healthz`, the floor of a request there); afterwards every delivery is stored and applied once.
11 (`backfill`): `store_sync` (what `sync_orders --full` runs) of N orders from the local fake store
   (tests/stores/fake_store.py), orders a second, against two references in the same run: reading and
   mapping the same pages without writing (the floor: HTTP and JSON), and the same pages written by
   `bulk_create` (the raw write: no versions, no history, no status service, no transaction per order).
   Then the re-sync of the N orders we hold: all of them again as we hold them, and all of them changed in
   the store (a field each), orders a second.
"""

import http.client
import json
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bench.common import Goal, Report, Result, judged, ms, times
from bench.env import REPO
from orders.models import Order, OrderChange, OrderLine
from stores.clients import client_for
from stores.models import Delivery, Platform, Store
from stores.services import store_order_apply
from stores.sync import MAPPINGS, store_sync
from tests.stores import fake_store as fake

BACKFILL_GOAL = 500  # orders a second
HOOKS_P95_GOAL = 0.050  # seconds to the 2xx
FLOOR_EVERY = 5  # a GET /healthz beside every fifth delivery
BENCH_SLUG = "bench-{platform}"
START = datetime(2026, 1, 1, tzinfo=UTC)


def _credentials(platform: str) -> dict[str, str]:
    return {
        "woocommerce": {"api_key": fake.WOO_KEY, "api_secret": fake.WOO_SECRET},
        "magento": {"access_token": fake.MAGENTO_TOKEN},
        "shopify": {"access_token": fake.SHOPIFY_TOKEN},
    }[platform]


def bench_store(platform: str, base_url: str, **fields) -> Store:
    store, _created = Store.objects.update_or_create(
        slug=BENCH_SLUG.format(platform=platform),
        defaults={
            "platform": platform,
            "name": f"Bench {Platform(platform).label}",
            "base_url": base_url,
            "sync_cursor": None,
            "active": True,
            **_credentials(platform),
            **fields,
        },
    )
    return store


def store_orders_delete(store: Store) -> None:
    """The benchmark's store orders and everything hanging on them (the suite owns its database)."""
    ids = list(Order.objects.filter(store=store).values_list("pk", flat=True))
    for start in range(0, len(ids), 2000):
        batch = ids[start : start + 2000]
        OrderChange.objects.filter(order_id__in=batch).delete()  # the history protects its orders
        Order.objects.filter(pk__in=batch).delete()
    Delivery.objects.filter(store=store).delete()
    Store.objects.filter(pk=store.pk).update(sync_cursor=None)


class StatementCounter:
    """Counts the statements run on a connection (connection.execute_wrapper): unlike capturing them, it
    costs next to nothing and has no limit."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


# --- figure 11: the backfill ------------------------------------------------------------------------------


def fetch_and_map(store: Store) -> int:
    """Reference: every page read and every order mapped, nothing written."""
    mapping = MAPPINGS[store.platform]
    read = 0
    with client_for(store) as client:
        for page in client.pages(None):
            for payload in page.payloads:
                mapping(payload)
                read += 1
    return read


def fetch_map_and_bulk_create(store: Store) -> int:
    """Reference: the same pages, each written by two bulk_create statements (orders, lines) in one
    transaction: the raw write, without what the apply path adds."""
    mapping = MAPPINGS[store.platform]
    statuses = store.status_map
    written = 0
    with client_for(store) as client:
        for page in client.pages(None):
            incoming = [mapping(payload) for payload in page.payloads]
            with transaction.atomic():
                orders = Order.objects.bulk_create(
                    [
                        Order(
                            store=store,
                            external_id=order.external_id,
                            number=order.number.removeprefix("#"),
                            status_id=statuses[order.store_status],
                            customer_name=order.customer_name,
                            customer_email=order.customer_email,
                            grand_total=order.grand_total,
                            currency=order.currency,
                            shipping_name=order.shipping_name,
                            shipping_street=order.shipping_street,
                            shipping_city=order.shipping_city,
                            shipping_postcode=order.shipping_postcode,
                            shipping_country=order.shipping_country,
                            created_at=order.created_at,
                            store_updated_at=order.updated_at,
                        )
                        for order in incoming
                    ]
                )
                OrderLine.objects.bulk_create(
                    [
                        OrderLine(
                            order=row, sku=line.sku, name=line.name, qty=line.qty, unit_price=line.unit_price
                        )
                        for row, order in zip(orders, incoming, strict=True)
                        for line in order.lines
                    ]
                )
            written += len(incoming)
    return written


def sync_one_by_one(store: Store) -> int:
    """Reference, the apply before it was set-based: the same pages, each order applied alone by
    store_order_apply (its lock, its savepoints, its status read, its INSERTs) in the page's transaction,
    with the cursor's move."""
    mapping = MAPPINGS[store.platform]
    applied = 0
    with client_for(store) as client:
        for page in client.pages(None):
            with transaction.atomic():
                for payload in page.payloads:
                    store_order_apply(store=store, incoming=mapping(payload), via="poll")
                    applied += 1
                if page.payloads:
                    newest = max(client.updated_at(payload) for payload in page.payloads)
                    Store.objects.filter(pk=store.pk).update(sync_cursor=newest)
    return applied


class FakeStoreProcess:
    """The fake store (tests/stores/fake_store.py) serving `count` orders of `platform` in a process of its
    own, so that its work (building and serialising pages) shares no interpreter lock with the sync."""

    def __init__(self, platform: str, count: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.stores.fake_store", platform, str(count)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.stop()
            raise RuntimeError(f"the fake store did not start (it said {self.url!r})")

    def touch_all(self) -> int:
        """The store changes every order (fake_store.main's `touch`); how many it changed."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("touch\n")
        self.process.stdin.flush()
        while not (line := self.process.stdout.readline()).startswith("touched "):
            if not line:
                raise RuntimeError("the fake store stopped")
        return int(line.split()[1])

    def stop(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def measure_backfill(report: Report, count: int, smoke: bool, *, platforms=("woocommerce",), rounds: int = 1):
    for platform in platforms:
        server = FakeStoreProcess(platform, count)
        try:
            _backfill_platform(report, server, platform, count, smoke, rounds)
        finally:
            server.stop()


def _backfill_platform(
    report: Report,
    server: "fake.FakeStore | FakeStoreProcess",
    platform: str,
    count: int,
    smoke: bool,
    rounds: int,
):
    store = bench_store(platform, server.url)
    store_orders_delete(store)
    figure, floor, raw, before = [], [], [], []
    resync_same: list[float] = []
    resync_changed: list[float] = []
    statements = before_statements = resync_statements = 0
    pages = 0
    for _round in range(rounds):
        # Interleaved: the floor, the figure, the raw write; each write undone before the next.
        started = time.perf_counter()
        read = fetch_and_map(store)
        floor.append(time.perf_counter() - started)
        report.check(read == count, f"backfill {platform}: the floor read {read:,} of {count:,} orders")

        store.refresh_from_db()
        counter = StatementCounter()
        with connection.execute_wrapper(counter):
            started = time.perf_counter()
            result = store_sync(store=store, full=True)
            pages = result.pages
            figure.append(time.perf_counter() - started)
        statements = counter.count
        stored = Order.objects.filter(store=store).count()
        report.check(
            result.complete and result.outcomes == {"created": count} and stored == count,
            f"backfill {platform}: sync_orders created {dict(result.outcomes)} ({stored:,} orders stored) of"
            f" {count:,}; {result.stopped or 'complete'}",
        )
        store.refresh_from_db()
        newest = START + timedelta(seconds=count - 1)
        report.check(
            store.sync_cursor == newest,
            f"backfill {platform}: the cursor stands at {store.sync_cursor} (the newest change is {newest})",
        )
        again = store_sync(store=store)
        report.check(
            again.complete and set(again.outcomes) <= {"unchanged"},
            f"backfill {platform}: a second sync changed nothing ({dict(again.outcomes)})",
        )
        # The re-sync of the orders we hold: every one as we hold it (a full poll), then every one changed.
        started = time.perf_counter()
        same = store_sync(store=store, full=True)
        resync_same.append(time.perf_counter() - started)
        report.check(
            same.complete and same.outcomes == {"unchanged": count},
            f"backfill {platform}: a full re-sync left {dict(same.outcomes)} of {count:,}",
        )
        if isinstance(server, FakeStoreProcess):
            touched = server.touch_all()
        else:
            touched = server.touch_all(platform, timedelta(days=1), **fake.RESYNC_CHANGES[platform])
        store.refresh_from_db()
        counter = StatementCounter()
        with connection.execute_wrapper(counter):
            started = time.perf_counter()
            changed = store_sync(store=store)
            resync_changed.append(time.perf_counter() - started)
        resync_statements = counter.count
        report.check(
            touched == count and changed.complete and changed.outcomes == {"updated": count},
            f"backfill {platform}: the re-sync of {touched:,} changed orders: {dict(changed.outcomes)}",
        )
        store_orders_delete(store)

        started = time.perf_counter()
        written = fetch_map_and_bulk_create(store)
        raw.append(time.perf_counter() - started)
        report.check(written == count, f"backfill {platform}: the raw write wrote {written:,} of {count:,}")
        store_orders_delete(store)

        counter = StatementCounter()
        with connection.execute_wrapper(counter):
            started = time.perf_counter()
            applied = sync_one_by_one(store)
            before.append(time.perf_counter() - started)
        before_statements = counter.count
        stored = Order.objects.filter(store=store).count()
        report.check(
            applied == count and stored == count,
            f"backfill {platform}: one by one applied {applied:,} ({stored:,} stored) of {count:,}",
        )
        store_orders_delete(store)

    seconds = statistics.median(figure)
    rate = count / seconds
    report.results.append(
        Result(
            "11",
            f"backfill by sync_orders, {count:,} {Platform(platform).label} orders from the fake store"
            f" ({pages} pages)",
            f"{rate:,.0f} orders/s",
            ms(max(figure)),
            f"{statements / count:.2f} per order ({statements / max(pages, 1):.1f} per page)",
            f"one order at a time (the apply before) {count / statistics.median(before):,.0f} orders/s,"
            f" {before_statements / count:.1f} statements per order; read and map only"
            f" {count / statistics.median(floor):,.0f} orders/s; read, map and bulk_create"
            f" {count / statistics.median(raw):,.0f} orders/s",
            times(seconds / statistics.median(raw)) + " raw",
            [Goal(f"≥ {BACKFILL_GOAL} orders/s", judged(rate >= BACKFILL_GOAL, smoke), f"{rate:,.0f}/s")],
        )
    )
    changed_rate = count / statistics.median(resync_changed)
    report.results.append(
        Result(
            "11",
            f"re-sync by sync_orders of the {count:,} {Platform(platform).label} orders we hold, each changed"
            " in the store (a field)",
            f"{changed_rate:,.0f} orders/s",
            ms(max(resync_changed)),
            f"{resync_statements / count:.2f} per order",
            f"the same orders unchanged (a full re-sync) {count / statistics.median(resync_same):,.0f}"
            f" orders/s; the backfill {rate:,.0f} orders/s",
            times(statistics.median(resync_changed) / seconds) + " the backfill",
        )
    )
    report.notes.append(
        f"backfill {platform}: {rounds} round(s) of {count:,} orders;"
        f" sync {', '.join(ms(s) for s in figure)}; floor {', '.join(ms(s) for s in floor)};"
        f" raw {', '.join(ms(s) for s in raw)}; one by one {', '.join(ms(s) for s in before)};"
        f" re-sync unchanged {', '.join(ms(s) for s in resync_same)},"
        f" changed {', '.join(ms(s) for s in resync_changed)}"
    )


# --- figure 10: webhooks through gunicorn ------------------------------------------------------------------


class Deliveries:
    """Signed Shopify deliveries at `rate` a second for `seconds`, each timed to its answer; a tenth are sent
    twice (Shopify retries), a fifth change an order already sent (a newer updated_at)."""

    def __init__(self, port: int, store: Store, rate: float, seconds: float) -> None:
        self.port, self.store, self.rate, self.seconds = port, store, rate, seconds
        self.samples: list[float] = []
        self.floor: list[float] = []
        self.inside: list[float] = []  # of each answered delivery, the time inside Django
        self.errors: list[str] = []
        self.sent: dict[str, tuple[str, datetime]] = {}  # event id -> (order id, its updated_at)
        self.newest: dict[str, datetime] = {}  # order id -> the newest updated_at sent

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, float, float | None]:
        """(status, seconds to the answer, of which inside Django: its Server-Timing, bench/timing.py)."""
        from bench.http_load import server_seconds

        connection_ = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        started = time.perf_counter()
        try:
            connection_.request("POST", f"/hooks/{self.store.slug}/", body=body, headers=headers)
            response = connection_.getresponse()
            response.read()
            return response.status, time.perf_counter() - started, server_seconds(response)
        finally:
            connection_.close()

    def floor_request(self) -> None:
        connection_ = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        started = time.perf_counter()
        try:
            connection_.request("GET", "/healthz", headers={"Host": f"127.0.0.1:{self.port}"})
            connection_.getresponse().read()
            self.floor.append(time.perf_counter() - started)
        finally:
            connection_.close()

    def run(self) -> None:
        from stores.signatures import signature_for
        from stores.simulation import shopify_rest_order

        interval = 1.0 / self.rate
        deadline = time.monotonic() + self.seconds
        next_at = time.monotonic()
        n, first = 0, 900_001
        threads: list[threading.Thread] = []
        while next_at < deadline:
            time.sleep(max(0.0, next_at - time.monotonic()))
            n += 1
            order_n = first + n if n % 5 or n < 10 else first + n // 2  # a fifth: an order sent before
            updated_at = START + timedelta(seconds=n)
            body = json.dumps(shopify_rest_order(order_n, updated_at)).encode()
            event = str(uuid.uuid4())
            headers = {
                "Host": f"127.0.0.1:{self.port}",
                "Content-Type": "application/json",
                "X-Shopify-Topic": "orders/updated",
                "X-Shopify-Event-Id": event,
                "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                "X-Shopify-Hmac-Sha256": signature_for(self.store.webhook_secret, body),
            }
            self.sent[event] = (str(order_n), updated_at)
            self.newest[str(order_n)] = max(updated_at, self.newest.get(str(order_n), updated_at))
            copies = 2 if n % 10 == 0 else 1
            for _copy in range(copies):
                thread = threading.Thread(target=self._send, args=(body, headers), daemon=True)
                thread.start()
                threads.append(thread)
            if n % FLOOR_EVERY == 0:  # the reference, sparse enough not to add load of its own
                floor = threading.Thread(target=self.floor_request, daemon=True)
                floor.start()
                threads.append(floor)
            next_at += interval
        for thread in threads:
            thread.join(60)

    def _send(self, body: bytes, headers: dict[str, str]) -> None:
        try:
            status, seconds, inside = self.post(body, headers)
        except OSError as error:
            self.errors.append(repr(error))
            return
        if 200 <= status < 300:
            self.samples.append(seconds)
            if inside is not None:
                self.inside.append(inside)
        else:
            self.errors.append(f"answered {status}")


def quantile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def delivery_statements(store: Store) -> tuple[int, int]:
    """Statements of one new order's delivery and of the same delivery again, in process."""
    from django.test import Client

    from stores.signatures import signature_for
    from stores.simulation import shopify_rest_order

    client = Client()
    body = json.dumps(shopify_rest_order(990_001, START)).encode()
    headers: dict[str, Any] = {
        "HTTP_X_SHOPIFY_TOPIC": "orders/create",
        "HTTP_X_SHOPIFY_EVENT_ID": str(uuid.uuid4()),
        "HTTP_X_SHOPIFY_HMAC_SHA256": signature_for(store.webhook_secret, body),
    }
    counted = []
    for _attempt in range(2):
        with CaptureQueriesContext(connection) as captured:
            response = client.post(f"/hooks/{store.slug}/", body, content_type="application/json", **headers)
        assert 200 <= response.status_code < 300, response.status_code
        counted.append(len(captured.captured_queries))
    return counted[0], counted[1]


def measure_hooks(
    report: Report, dataset, smoke: bool, *, rate: float, seconds: float, operators: int | None = None
) -> None:
    """Deliveries at `rate` a second for `seconds` through gunicorn, while figure 9's simulated operators
    (`operators` of them; default: figure 9's 50, 3 in a smoke run) work the console on the same server."""
    from dataclasses import replace

    from bench import data, http_load
    from operators.models import AssignmentLog

    store = bench_store(
        Platform.SHOPIFY, "https://bench.myshopify.com", webhook_secret="bench-webhook-secret"
    )
    store_orders_delete(store)
    new_statements, repeat_statements = delivery_statements(store)
    store_orders_delete(store)

    load = http_load.SMOKE if smoke else http_load.FULL
    load = replace(load, seconds=seconds, tabs=(), tab_seconds=0, operators=operators or load.operators)
    data.state_reset()
    usernames = http_load.people_prepare(dataset, load.operators)
    log_before = AssignmentLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    connection.close()
    server = http_load.Gunicorn(load.workers)
    recorder = http_load.Recorder()
    deliveries = Deliveries(server.port, store, rate, seconds)
    try:
        # The deliveries start with the operators' timed window (after their logins).
        sender = threading.Thread(target=_after_logins, args=(recorder, deliveries), daemon=True)
        sender.start()
        windows = http_load.people_run(server.port, usernames, load, recorder)
        sender.join(seconds + 120)
    finally:
        server.stop()
    report.check(not deliveries.errors, f"hooks: {len(deliveries.errors)} errors {deliveries.errors[:3]}")
    report.check(
        not recorder.errors, f"hooks: the operators met {len(recorder.errors)} errors {recorder.errors[:3]}"
    )
    stored = Delivery.objects.filter(store=store).count()
    report.check(
        stored == len(deliveries.sent),
        f"hooks: {stored:,} deliveries stored for {len(deliveries.sent):,} sent (each once, duplicates too)",
    )
    held = dict(Order.objects.filter(store=store).values_list("external_id", "store_updated_at"))
    wrong = [order_id for order_id, newest in deliveries.newest.items() if held.get(order_id) != newest]
    report.check(
        not wrong and len(held) == len(deliveries.newest),
        f"hooks: {len(deliveries.newest):,} orders, each at its newest copy ({len(wrong)} not)",
    )
    high, floor_high = quantile(deliveries.samples, 95), quantile(deliveries.floor, 95)
    inside = deliveries.inside or [0.0]
    report.results.append(
        Result(
            "10",
            f"webhook deliveries through gunicorn, {rate:g}/s for {seconds:g} s beside {load.operators}"
            f" operators ({len(deliveries.samples):,} answered; a tenth sent twice)",
            ms(statistics.median(deliveries.samples)),
            ms(high),
            f"{new_statements} new, {repeat_statements} again",
            f"GET /healthz beside every {FLOOR_EVERY}th: median {ms(statistics.median(deliveries.floor))},"
            f" p95 {ms(floor_high)}; inside Django: median {ms(statistics.median(inside))},"
            f" p95 {ms(quantile(inside, 95))}",
            times(high / floor_high),
            [Goal(f"p95 ≤ {HOOKS_P95_GOAL * 1000:.0f} ms", judged(high <= HOOKS_P95_GOAL, smoke), ms(high))],
        )
    )
    people = f"{load.operators} operators beside webhooks"
    http_load.results_add(report, recorder, windows["operators"], people, smoke, last=True)
    _holds_check(report, log_before)
    # The holds and the log first: the operators may have taken and released the store's new orders, and
    # the log protects its orders.
    data.state_reset()
    store_orders_delete(store)


def _holds_check(report: Report, log_before: int) -> None:
    """Figure 9's checks of the holds (one holder each, the log of every changed order replays to it), for
    whatever the operators changed beside the webhooks (in a short run that may be nothing)."""
    from django.db.models import Count

    from operators.models import Assignment, AssignmentLog
    from operators.verification import assignment_log_verify

    double = Assignment.objects.values("order_id").order_by().annotate(n=Count("pk")).filter(n__gt=1).count()
    report.check(double == 0, f"hooks: {double} orders with two holds")
    changed = set(AssignmentLog.objects.filter(pk__gt=log_before).values_list("order_id", flat=True))
    verification = assignment_log_verify(order_ids=changed, max_listed=5)
    report.check(
        verification.agrees,
        f"hooks: the {len(changed):,} orders the operators changed: {verification.summary()}",
    )


def _after_logins(recorder, deliveries: Deliveries) -> None:
    while not recorder.recording:
        time.sleep(0.05)
    deliveries.run()
