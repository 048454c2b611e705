"""The stores' HTTP clients against the local fake store: each platform's paging and quirks, 429 with
Retry-After, Shopify's cost throttle, time-outs, refused credentials."""

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from stores.clients import (
    MagentoClient,
    ShopifyClient,
    StoreRefused,
    StoreUnavailable,
    WooCommerceClient,
    client_for,
    retry_after_seconds,
)
from stores.platforms.magento import ITEM_FIELDS, SEARCH_FIELDS, order_from_payload
from tests.stores import fake_store as fake

START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
PRODUCT = {
    "sku": "24-MB01",
    "name": "Joust Duffle Bag",
    "price": 24.99,
    "extension_attributes": {
        "category_links": [{"position": 1, "category_id": "18"}],
        "stock_item": {"item_id": 732, "qty": 0, "is_in_stock": False},
    },
    "options": [{"title": "a", "price": 1}, {"title": "b", "price": 2}],
}


@dataclass
class StoreStub:
    """The credentials a client reads (a stores.Store has them too)."""

    platform: str
    base_url: str
    slug: str = "test-store"
    api_key: str = fake.WOO_KEY
    api_secret: str = fake.WOO_SECRET
    access_token: str = ""

    def __post_init__(self) -> None:
        if not self.access_token:
            self.access_token = fake.MAGENTO_TOKEN if self.platform == "magento" else fake.SHOPIFY_TOKEN


class Sleeps(list):
    """Records the waits a client asks for; sleeps them only when `real` (the fake Shopify's bucket refills
    in real time)."""

    def __init__(self, *, real: bool = False) -> None:
        super().__init__()
        self.real = real

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.real:
            time.sleep(seconds)


def given(client, since=None, on_page=None) -> list[tuple[str, datetime]]:
    orders = []
    for number, page in enumerate(client.pages(since)):
        orders += [(client.external_id(payload), client.updated_at(payload)) for payload in page.payloads]
        if on_page:
            on_page(number, page)
    return orders


def test_woocommerce_pages_by_total_pages_oldest_change_first_with_its_documented_query(fake_store):
    fake_store.add_many("woocommerce", 250, start=START)
    with WooCommerceClient(StoreStub("woocommerce", fake_store.url)) as client:
        orders = given(client)
    assert [external_id for external_id, _ in orders] == [str(n) for n in range(1001, 1251)]
    requests = fake_store.requests_to("/wp-json/wc/v3/orders")
    assert len(requests) == 3
    first = requests[0]
    assert first.query["orderby"] == ["modified"] and first.query["order"] == ["asc"]
    assert first.query["dates_are_gmt"] == ["true"] and first.query["per_page"] == ["100"]
    assert first.headers["authorization"].startswith("Basic ")
    # The next pages ask from the newest change read (a second earlier: modified_after is exclusive).
    assert requests[1].query["modified_after"] == [
        (START + timedelta(seconds=98)).strftime("%Y-%m-%dT%H:%M:%S")
    ]


def test_woocommerce_since_gives_the_orders_changed_at_that_second_and_after(fake_store):
    fake_store.add_many("woocommerce", 10, start=START)
    with WooCommerceClient(StoreStub("woocommerce", fake_store.url)) as client:
        orders = given(client, START + timedelta(seconds=4))
    assert [external_id for external_id, _ in orders] == [str(n) for n in range(1005, 1011)]


def test_woocommerce_orders_changed_at_one_moment_beyond_a_page_are_each_given_once(fake_store):
    fake_store.add_many("woocommerce", 230, start=START, step=timedelta(0))
    with WooCommerceClient(StoreStub("woocommerce", fake_store.url)) as client:
        orders = given(client, START)
    assert sorted(int(external_id) for external_id, _ in orders) == list(range(1001, 1231))


def test_an_order_changed_while_pages_are_read_does_not_make_the_next_order_skipped(fake_store):
    """Plain page numbers would skip order 1101: the changed order 1050 leaves page 1, every later order
    moves up one place, and page 2 then starts at 1102."""
    fake_store.add_many("woocommerce", 300, start=START)

    def change_one_already_read(number, page):
        if number == 0:
            fake_store.touch("woocommerce", "1050", START + timedelta(hours=1))

    with WooCommerceClient(StoreStub("woocommerce", fake_store.url)) as client:
        orders = given(client, on_page=change_one_already_read)
    ids = [external_id for external_id, _ in orders]
    assert set(ids) == {str(n) for n in range(1001, 1301)}
    assert ids.count("1050") == 2  # as first read, then with its change
    assert orders[-1] == ("1050", START + timedelta(hours=1))


def test_magento_stops_by_total_count_because_a_page_past_the_last_repeats_the_last(fake_store):
    fake_store.add_many("magento", 250, start=START)
    with MagentoClient(StoreStub("magento", fake_store.url)) as client:
        pages = list(client.pages(START))
    ids = [client.external_id(payload) for page in pages for payload in page.payloads]
    assert ids == [str(n) for n in range(1001, 1251)]
    assert pages[0].total == 250
    requests = fake_store.requests_to("/rest/V1/orders")
    assert len(requests) == 3
    first = requests[0]
    assert first.headers["authorization"] == f"Bearer {fake.MAGENTO_TOKEN}"
    prefix = "searchCriteria[filter_groups][0][filters][0]"
    assert first.query[f"{prefix}[field]"] == ["updated_at"]
    assert first.query[f"{prefix}[condition_type]"] == ["gteq"]
    assert first.query[f"{prefix}[value]"] == ["2026-11-01 08:00:00"]
    assert first.query["searchCriteria[sortOrders][0][field]"] == ["updated_at"]
    assert first.query["searchCriteria[sortOrders][0][direction]"] == ["ASC"]
    assert first.query["searchCriteria[pageSize]"] == ["100"]
    assert first.query["fields"] == [SEARCH_FIELDS]


def test_magento_poll_asks_for_the_fields_the_mapping_reads_and_is_given_those_alone(fake_store):
    whole = fake_store.add_many("magento", 3, start=START)
    with MagentoClient(StoreStub("magento", fake_store.url)) as client:
        pages = list(client.pages(None))
    payloads = [payload for page in pages for payload in page.payloads]
    assert [payload["entity_id"] for payload in payloads] == [1001, 1002, 1003]
    assert pages[0].total == 3  # total_count asked for too: it ends the paging
    item = payloads[0]["items"][0]
    assert set(item) <= set(ITEM_FIELDS.split(",")) and "sku" in item
    assert "parent_item" not in payloads[0]["items"][3]  # a bundle's child without its parent's copy
    assert "payment" not in payloads[0] and "status_histories" not in payloads[0]
    assert len(json.dumps(payloads[0])) * 5 < len(json.dumps(whole[0]))
    assert [order_from_payload(payload) for payload in payloads] == [order_from_payload(o) for o in whole]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # The examples of Adobe's "Retrieve filtered responses for REST endpoints".
        ("sku,price,name", {"sku": "24-MB01", "name": "Joust Duffle Bag", "price": 24.99}),
        (
            "extension_attributes[stock_item[item_id,qty]],sku",
            {
                "sku": "24-MB01",
                "extension_attributes": {"stock_item": {"item_id": 732, "qty": 0}},
            },
        ),
        ("extension_attributes", {"extension_attributes": PRODUCT["extension_attributes"]}),
        ("items[sku,name]", {}),  # a field the answer does not have is left out
        ("options[title],sku", {"sku": "24-MB01", "options": [{"title": "a"}, {"title": "b"}]}),
    ],
)
def test_the_fake_magento_filters_an_answer_as_magentos_fields_parameter_does(fields, expected):
    assert fake.fields_filtered(PRODUCT, fields) == expected


@pytest.mark.parametrize("fields", ["items[sku", "sku]", "[sku]"])
def test_the_fake_magento_refuses_fields_whose_brackets_do_not_pair(fields):
    with pytest.raises(ValueError, match="fields"):
        fake.fields_parsed(fields)


def test_magento_a_store_answering_past_its_last_page_is_not_read_twice(fake_store):
    # Exactly two full pages changed at one moment (so read by page number): a client that waited for a
    # short or empty page would ask for page 3 and be given page 2 again.
    fake_store.add_many("magento", 200, start=START, step=timedelta(0))
    with MagentoClient(StoreStub("magento", fake_store.url)) as client:
        orders = given(client)
    assert len(orders) == len(set(orders)) == 200
    requests = fake_store.requests_to("/rest/V1/orders")
    assert [request.query["searchCriteria[currentPage]"] for request in requests] == [["1"], ["1"], ["2"]]


def test_shopify_pages_by_cursor_and_counts_the_orders_for_the_progress(fake_store):
    fake_store.add_many("shopify", 250, start=START)
    with ShopifyClient(StoreStub("shopify", fake_store.url)) as client:
        pages = list(client.pages(START + timedelta(seconds=10)))
    assert [len(page.payloads) for page in pages] == [100, 100, 40]
    assert pages[0].total == 240
    requests = fake_store.requests_to("/admin/api/")
    assert requests[0].path == "/admin/api/2025-07/graphql.json"
    assert requests[0].headers["x-shopify-access-token"] == fake.SHOPIFY_TOKEN
    import json

    variables = [json.loads(request.body)["variables"] for request in requests]
    assert variables[0]["query"] == "updated_at:>='2026-11-01T08:00:10Z'"
    assert (
        variables[0]["after"] is None
        and variables[1]["after"]
        and variables[2]["after"] != variables[1]["after"]
    )
    assert "sortKey: UPDATED_AT" in json.loads(requests[0].body)["query"]


def test_429_waits_what_retry_after_says_then_asks_again(fake_store):
    fake_store.add_many("woocommerce", 3, start=START)
    fake_store.fail("/wp-json/", status=429, retry_after="1")
    started = time.monotonic()
    with WooCommerceClient(StoreStub("woocommerce", fake_store.url)) as client:
        orders = given(client)
        waited = client.waited
    assert len(orders) == 3
    assert time.monotonic() - started >= 1.0 and waited == 1.0
    assert [request.status for request in fake_store.requests_to("/wp-json/")] == [429, 200]


def test_retry_after_as_an_http_date_is_read_as_the_seconds_until_then():
    soon = datetime.now(UTC) + timedelta(seconds=30)
    assert 28 <= retry_after_seconds(format_datetime(soon, usegmt=True)) <= 30
    assert retry_after_seconds("2.5") == 2.5
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_a_store_asking_for_a_wait_beyond_the_limit_stops_the_poll_naming_the_store(fake_store):
    fake_store.fail("/rest/", status=429, retry_after="3600")
    with (
        MagentoClient(StoreStub("magento", fake_store.url, slug="acme-magento"), sleep=Sleeps()) as client,
        pytest.raises(StoreUnavailable, match=r"acme-magento: GET /rest/V1/orders.*wait 3600 s"),
    ):
        list(client.pages(None))


def test_shopify_throttled_answer_waits_for_the_bucket_to_hold_the_cost_then_asks_again(fake_store):
    fake_store.add_many("shopify", 5, start=START)
    fake_store.fail("/admin/api/", shopify_throttled=True)
    sleeps = Sleeps(real=True)
    with ShopifyClient(StoreStub("shopify", fake_store.url), sleep=sleeps) as client:
        orders = given(client)
    assert len(orders) == 5
    # An empty bucket, 12 points asked, 50 restored a second.
    assert sleeps == [pytest.approx(fake.SHOPIFY_QUERY_COST / 50.0)]
    assert len(fake_store.requests_to("/admin/api/")) == 2


def test_shopify_low_bucket_makes_the_client_wait_before_its_next_query(fake_store):
    fake_store.add_many("shopify", 30, start=START)
    fake_store.bucket.available = fake_store.bucket.maximum = 20.0  # room for one query, not two
    sleeps = Sleeps(real=True)
    with ShopifyClient(StoreStub("shopify", fake_store.url), sleep=sleeps, page_size=10) as client:
        orders = given(client)
    assert len(orders) == 30
    assert sleeps and all(seconds > 0 for seconds in sleeps)
    # Waiting before asking means the store never had to refuse a query.
    assert all(b'"Throttled"' not in request.body for request in fake_store.requests_to("/admin/api/"))


def test_a_slow_store_times_out_and_is_asked_again(fake_store, settings):
    settings.ORDEROPS_STORES = {"HTTP_TIMEOUT": 0.3, "MAX_RETRIES": 2}
    fake_store.add_many("magento", 2, start=START)
    fake_store.fail("/rest/", status=0, delay=1.0)
    sleeps = Sleeps()
    with MagentoClient(StoreStub("magento", fake_store.url), sleep=sleeps) as client:
        orders = given(client)
    assert len(orders) == 2 and len(sleeps) == 1


def test_a_store_that_never_answers_in_time_stops_the_poll_after_its_retries(fake_store, settings):
    settings.ORDEROPS_STORES = {"HTTP_TIMEOUT": 0.2, "MAX_RETRIES": 2}
    fake_store.fail("/wp-json/", status=0, delay=0.6, times=3)
    with (
        WooCommerceClient(StoreStub("woocommerce", fake_store.url), sleep=Sleeps()) as client,
        pytest.raises(StoreUnavailable, match=r"test-store: GET /wp-json/wc/v3/orders timed out 3 times"),
    ):
        list(client.pages(None))
    assert client.calls == 3


@pytest.mark.parametrize("platform", ["woocommerce", "magento", "shopify"])
def test_wrong_credentials_are_refused_at_once_without_retrying(fake_store, platform):
    store = StoreStub(platform, fake_store.url, api_secret="wrong", access_token="wrong")
    with (
        client_for(store, sleep=Sleeps()) as client,
        pytest.raises(StoreRefused, match="refused our credentials"),
    ):
        list(client.pages(None))
    assert len(fake_store.requests) == 1
