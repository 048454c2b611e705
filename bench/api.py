"""The REST API against the console on the benchmark's data set, in one run (`python -m bench.api`).

Two figures, each interleaved with its reference so that both see the same machine:
- the API's order list (GET /api/v1/orders/, 100 orders a page) against the console's order list, page 1;
- one batch of 100 assigns (POST /api/v1/holds/batch) against 100 single calls (PUT /api/v1/orders/{n}/hold).
Everything goes through django.test.Client in this process, as bench/changelist.py does. Needs the data set
that `python -m bench` loads (1,000,000 orders by default); the holds it takes are released again.
"""

import json
import sys

from bench.env import django_setup

django_setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from api.keys import api_key_create, api_key_revoke  # noqa: E402
from bench.common import median, ms, p95, timed  # noqa: E402
from operators.services import holds_release  # noqa: E402
from orders.models import Order  # noqa: E402

REPEAT = 15
BATCH = 100
ROUNDS = 3


def request(client: Client, method: str, url: str, **kwargs) -> tuple[float, int, int]:
    with CaptureQueriesContext(connection) as captured:
        seconds, response = timed(getattr(client, method), url, **kwargs)
    assert response.status_code < 400, (url, response.status_code, response.content[:300])
    return seconds, len(captured), response.status_code


def main() -> int:
    operator = get_user_model().objects.filter(username="bench-op-01").first()
    if operator is None or Order.objects.count() < 1000:
        print("No benchmark data set here: run `python -m bench` first (it loads one).", file=sys.stderr)
        return 1
    created = api_key_create(user=operator, name="bench.api")
    key = created.secret
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    console = Client()
    console.force_login(operator)

    lists: dict[str, list[tuple[float, int, int]]] = {"api": [], "console": []}
    for url, client in (("/api/v1/orders/?page_size=100", api), ("/admin/orders/order/", console)):
        request(client, "get", url)  # warm-up
    for round_no in range(REPEAT):
        order = [("api", api, "/api/v1/orders/?page_size=100"), ("console", console, "/admin/orders/order/")]
        for name, client, url in order if round_no % 2 == 0 else reversed(order):
            lists[name].append(request(client, "get", url))

    free = list(
        Order.objects.filter(free_entry__isnull=False, status_id__in=["pending", "processing"])
        .order_by("-created_at")
        .values_list("pk", "number")[: 2 * BATCH * ROUNDS]
    )
    batch_seconds, single_seconds, batch_queries, single_queries = [], [], [], []
    try:
        for round_no in range(ROUNDS):
            chunk = free[round_no * 2 * BATCH : (round_no + 1) * 2 * BATCH]
            batch, singles = chunk[:BATCH], chunk[BATCH:]
            seconds, queries, _status = request(
                api,
                "post",
                "/api/v1/holds/batch",
                data=json.dumps({"action": "assign", "orders": [number for _pk, number in batch]}),
                content_type="application/json",
            )
            batch_seconds.append(seconds)
            batch_queries.append(queries)
            total, total_queries = 0.0, 0
            for _pk, number in singles:
                seconds, queries, _status = request(api, "put", f"/api/v1/orders/{number}/hold")
                total += seconds
                total_queries += queries
            single_seconds.append(total)
            single_queries.append(total_queries)
    finally:
        holds_release(order_ids=[pk for pk, _number in free], reason="bench.api", actor=None)
        api_key_revoke(prefix=created.api_key.prefix)

    api_list, console_list = lists["api"], lists["console"]
    print("| figure | median | p95 | queries | reference (same run) | ratio |")
    print("|---|---:|---:|---:|---|---:|")
    api_times = [seconds for seconds, _queries, _status in api_list]
    console_times = [seconds for seconds, _queries, _status in console_list]
    api_median, console_median = median(api_times), median(console_times)
    print(
        f"| API order list, 100 a page | {ms(api_median)} | {ms(p95(api_times))} | {api_list[-1][1]} |"
        f" console order list, page 1: {ms(console_median)}, {console_list[-1][1]} queries |"
        f" {api_median / console_median:.2f}x |"
    )
    print(
        f"| API batch assign of {BATCH} orders | {ms(median(batch_seconds))} | - | {batch_queries[-1]} |"
        f" {BATCH} single PUT hold calls: {ms(median(single_seconds))}, {single_queries[-1]} queries |"
        f" {median(batch_seconds) / median(single_seconds):.2f}x |"
    )
    print(
        f"data: {Order.objects.count():,} orders; {ROUNDS} rounds of the batch figure, {REPEAT} of the list"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
