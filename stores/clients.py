"""HTTP clients of the stores' order APIs, one per platform, for polling: the orders updated since a moment,
page by page, oldest change first.

Every call has a time-out (ORDEROPS_STORES["HTTP_TIMEOUT"]). A 429 waits what its Retry-After says, a time-out
or a 502/503/504 waits a little longer each time; after MAX_RETRIES tries, or when a store asks for a wait
longer than MAX_RETRY_WAIT, the poll stops with StoreUnavailable (it resumes from its cursor next time).
Shopify's GraphQL cost throttle (`extensions.cost.throttleStatus`) is honoured before the next query is sent.

Paging, as each platform documents it:
- WooCommerce: `page=N` until `X-WP-TotalPages`; `modified_after` is exclusive, so the client asks from one
  second earlier and drops what it already gave.
- Magento: `currentPage=N` until `total_count` (a page past the last answers the last page again, so an empty
  page never comes).
- Shopify GraphQL: `pageInfo { hasNextPage endCursor }`, the cursor passed as `after`.

Page numbers over a list sorted by change time shift when an order changes while it is read (it jumps to the
end): WooCommerce and Magento therefore start again from page 1 with the newest change read so far as the new
lower bound, so that no order is skipped; orders seen twice are given once. Shopify's cursor is stable.
"""

import email.utils
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from stores.conf import stores_setting
from stores.platforms import magento

RETRY_STATUSES = frozenset({429, 502, 503, 504})
# A time-out or a 5xx waits BACKOFF_FIRST seconds, then twice as long each time (up to MAX_RETRY_WAIT).
BACKOFF_FIRST = 0.5
USER_AGENT = "orderops-sync/1"


class StoreCredentials(Protocol):
    """What a client needs of a stores.Store."""

    slug: str
    platform: str
    base_url: str
    api_key: str
    api_secret: str
    access_token: str


class StoreClientError(Exception):
    """A poll that cannot go on; the message names the store, the call and the reason (never a secret)."""


class StoreUnavailable(StoreClientError):
    """The store did not answer in time, or kept refusing with 429/5xx: try again later (the poll resumes)."""


class StoreRefused(StoreClientError):
    """The store refused the call (credentials, permissions, a bad request): retrying will not help."""


@dataclass(frozen=True)
class OrdersPage:
    payloads: list[dict[str, Any]]  # the platform's own order objects, oldest change first
    total: int | None  # how many orders the query matches in all, when the platform says


Sleep = Callable[[float], None]


class OrdersClient:
    """The orders updated since a moment, page by page (`pages`). One per store and poll; `close()` it."""

    platform = ""

    def __init__(
        self,
        store: StoreCredentials,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep = time.sleep,
        page_size: int | None = None,
    ) -> None:
        self.store = store
        self.sleep = sleep
        self.page_size = page_size or stores_setting("PAGE_SIZE")
        self.max_retries = stores_setting("MAX_RETRIES")
        self.max_wait = stores_setting("MAX_RETRY_WAIT")
        self.waited = 0.0  # seconds spent waiting for 429s, throttles and back-offs (reported by the sync)
        self.calls = 0
        self.http = httpx.Client(
            base_url=store.base_url.rstrip("/"),
            timeout=httpx.Timeout(stores_setting("HTTP_TIMEOUT")),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **self.auth_headers()},
            transport=transport,
            follow_redirects=False,
        )

    def __enter__(self) -> "OrdersClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def auth_headers(self) -> dict[str, str]:
        return {}

    def updated_at(self, payload: Mapping[str, Any]) -> datetime:
        raise NotImplementedError

    def external_id(self, payload: Mapping[str, Any]) -> str:
        raise NotImplementedError

    def pages(self, since: datetime | None) -> Iterator[OrdersPage]:
        raise NotImplementedError

    # --- one call, with its retries -----------------------------------------------------------------------

    def send(self, method: str, path: str, **options: Any) -> httpx.Response:
        """The response to one call (2xx); waits and tries again on 429, time-outs and 502/503/504."""
        what = f"{self.store.slug}: {method} {path}"
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            self.calls += 1
            try:
                response = self.http.request(method, path, **options)
            except httpx.TimeoutException as error:
                if last:
                    raise StoreUnavailable(
                        f"{what} timed out {attempt + 1} times (ORDEROPS_STORES['HTTP_TIMEOUT'] ="
                        f" {stores_setting('HTTP_TIMEOUT')} s): {type(error).__name__}"
                    ) from error
                self.wait(self.backoff(attempt), what)
                continue
            except httpx.TransportError as error:
                if last:
                    raise StoreUnavailable(f"{what} failed {attempt + 1} times: {error}") from error
                self.wait(self.backoff(attempt), what)
                continue
            if response.status_code in RETRY_STATUSES:
                if last:
                    raise StoreUnavailable(
                        f"{what} answered {response.status_code} {attempt + 1} times; the next poll resumes"
                    )
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                self.wait(retry_after if retry_after is not None else self.backoff(attempt), what)
                continue
            if response.status_code in (401, 403):
                raise StoreRefused(
                    f"{what} answered {response.status_code}: the store refused our credentials; check the"
                    f" store's API key, secret or access token and their permissions (read orders)"
                )
            if not response.is_success:
                raise StoreRefused(f"{what} answered {response.status_code}: {response.text[:300]}")
            return response
        raise AssertionError("unreachable")  # the loop returns or raises

    def backoff(self, attempt: int) -> float:
        return min(BACKOFF_FIRST * 2**attempt, self.max_wait)

    def wait(self, seconds: float, what: str) -> None:
        if seconds > self.max_wait:
            raise StoreUnavailable(
                f"{what}: the store asks us to wait {seconds:.0f} s, longer than ORDEROPS_STORES"
                f"['MAX_RETRY_WAIT'] ({self.max_wait} s); the next poll resumes"
            )
        if seconds > 0:
            self.waited += seconds
            self.sleep(seconds)

    def json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as error:
            raise StoreRefused(
                f"{self.store.slug}: {response.request.method} {response.request.url.path} answered"
                f" {response.status_code} with a body that is not JSON"
            ) from error


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After in seconds (a number, or an HTTP date per RFC 9110); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class RestartingPagesClient(OrdersClient):
    """Paging by page number over a list sorted by change time (WooCommerce, Magento): after each page the
    next request starts again from page 1 with the newest change read so far as its lower bound (inclusive),
    unless the whole page changed at that same moment (then the next page of it); orders already given in
    this run are not given again."""

    def fetch(self, since: datetime | None, page: int) -> tuple[list[dict[str, Any]], int | None, bool]:
        """(the page's orders, how many match in all, whether it is the last page)."""
        raise NotImplementedError

    def pages(self, since: datetime | None) -> Iterator[OrdersPage]:
        page = 1
        given: set[tuple[str, datetime]] = set()
        first_total: int | None = None
        while True:
            payloads, total, last_page = self.fetch(since, page)
            if first_total is None:
                first_total = total
            fresh = []
            for payload in payloads:
                key = (self.external_id(payload), self.updated_at(payload))
                if key not in given:
                    given.add(key)
                    fresh.append(payload)
            yield OrdersPage(fresh, first_total)
            if last_page or not payloads:
                return
            newest = max(self.updated_at(payload) for payload in payloads)
            if since is None or newest > since:
                since, page = newest, 1
                # Only the orders at the new lower bound can come again.
                given = {key for key in given if key[1] >= newest}
            else:
                page += 1


class WooCommerceClient(RestartingPagesClient):
    """`GET /wp-json/wc/v3/orders`, consumer key and secret by HTTP Basic (over https, or a loopback host)."""

    platform = "woocommerce"
    path = "/wp-json/wc/v3/orders"

    def __init__(self, store: StoreCredentials, **options: Any) -> None:
        super().__init__(store, **options)
        self.http.auth = httpx.BasicAuth(store.api_key, store.api_secret)
        self.page_size = min(self.page_size, 100)

    def updated_at(self, payload: Mapping[str, Any]) -> datetime:
        return datetime.fromisoformat(str(payload["date_modified_gmt"]).removesuffix("Z")).replace(tzinfo=UTC)

    def external_id(self, payload: Mapping[str, Any]) -> str:
        return str(payload["id"])

    def fetch(self, since: datetime | None, page: int) -> tuple[list[dict[str, Any]], int | None, bool]:
        params: dict[str, Any] = {
            "dates_are_gmt": "true",
            "orderby": "modified",
            "order": "asc",
            "per_page": self.page_size,
            "page": page,
        }
        if since is not None:
            # modified_after is exclusive and to the second: ask from a second earlier.
            params["modified_after"] = (since.astimezone(UTC) - timedelta(seconds=1)).strftime(
                "%Y-%m-%dT%H:%M:%S"
            )
        response = self.send("GET", self.path, params=params)
        payloads = self.json(response)
        if not isinstance(payloads, list):
            raise StoreRefused(
                f"{self.store.slug}: GET {self.path} answered something other than a list of orders"
            )
        total = int_header(response, "X-WP-Total")
        total_pages = int_header(response, "X-WP-TotalPages")
        last_page = total_pages is None or page >= total_pages or len(payloads) < self.page_size
        return payloads, total, last_page


class MagentoClient(RestartingPagesClient):
    """`GET /rest/V1/orders` with searchCriteria and `fields` (the fields stores.platforms.magento reads),
    `Authorization: Bearer` (an integration's access token)."""

    platform = "magento"
    path = "/rest/V1/orders"

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.store.access_token}"}

    def updated_at(self, payload: Mapping[str, Any]) -> datetime:
        return datetime.fromisoformat(str(payload["updated_at"])).replace(tzinfo=UTC)

    def external_id(self, payload: Mapping[str, Any]) -> str:
        return str(payload["entity_id"])

    def fetch(self, since: datetime | None, page: int) -> tuple[list[dict[str, Any]], int | None, bool]:
        params: dict[str, Any] = {
            "searchCriteria[sortOrders][0][field]": "updated_at",
            "searchCriteria[sortOrders][0][direction]": "ASC",
            "searchCriteria[pageSize]": self.page_size,
            "searchCriteria[currentPage]": page,
            # Only what the mapping reads (a partial response): an order is a few kB instead of some 32.
            "fields": magento.SEARCH_FIELDS,
        }
        if since is not None:
            prefix = "searchCriteria[filter_groups][0][filters][0]"
            params[f"{prefix}[field]"] = "updated_at"
            params[f"{prefix}[value]"] = since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
            params[f"{prefix}[condition_type]"] = "gteq"
        answer = self.json(self.send("GET", self.path, params=params))
        if not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
            raise StoreRefused(f"{self.store.slug}: GET {self.path} answered without a list of items")
        total = answer.get("total_count")
        total = total if isinstance(total, int) else None
        # Never by an empty page: Magento answers a page past the last with the last page again.
        last_page = total is None or page * self.page_size >= total
        return answer["items"], total, last_page


# The fields of a line that order_from_graphql reads.
SHOPIFY_LINE_FIELDS = """
          sku
          name
          quantity
          originalUnitPriceSet { shopMoney { amount currencyCode } }
          discountedTotalSet { shopMoney { amount currencyCode } }
"""
# The fields order_from_graphql reads (stores/platforms/shopify_graphql.py), and the count for the progress.
# An order's first `$lines` lines come with it; the rest, page by page, by SHOPIFY_ORDER_LINES_QUERY.
SHOPIFY_ORDERS_QUERY = (
    """
query OrdersUpdatedSince($first: Int!, $after: String, $query: String, $lines: Int!) {
  ordersCount(query: $query, limit: null) { count }
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes {
      id
      legacyResourceId
      name
      createdAt
      updatedAt
      cancelledAt
      closedAt
      displayFinancialStatus
      displayFulfillmentStatus
      currencyCode
      email
      phone
      note
      totalPriceSet { shopMoney { amount currencyCode } }
      subtotalPriceSet { shopMoney { amount currencyCode } }
      totalShippingPriceSet { shopMoney { amount currencyCode } }
      totalTaxSet { shopMoney { amount currencyCode } }
      totalDiscountsSet { shopMoney { amount currencyCode } }
      customer { displayName email phone }
      shippingAddress { name address1 address2 city zip countryCodeV2 phone }
      shippingLine { title }
      lineItems(first: $lines) {
        nodes {"""
    + SHOPIFY_LINE_FIELDS
    + """        }
        pageInfo { hasNextPage endCursor }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""
)
# The lines of one order after the first page of them (an order with more lines than came with it).
SHOPIFY_ORDER_LINES_QUERY = (
    """
query OrderLines($id: ID!, $lines: Int!, $after: String) {
  order(id: $id) {
    lineItems(first: $lines, after: $after) {
      nodes {"""
    + SHOPIFY_LINE_FIELDS
    + """      }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
)
# Lines read with each order of a page (a page of 100 orders stays within one query's cost), and a page of
# the rest of one order's lines (the most a connection gives).
SHOPIFY_LINES_WITH_ORDER = 100
SHOPIFY_LINES_PAGE = 250


class ShopifyClient(OrdersClient):
    """The GraphQL Admin API: `POST /admin/api/{version}/graphql.json`, `X-Shopify-Access-Token`."""

    platform = "shopify"

    def __init__(self, store: StoreCredentials, **options: Any) -> None:
        super().__init__(store, **options)
        self.path = f"/admin/api/{stores_setting('SHOPIFY_API_VERSION')}/graphql.json"
        self.page_size = min(self.page_size, 250)
        self.throttle_wait = 0.0  # what the last answer's throttle status asks before the next query

    def auth_headers(self) -> dict[str, str]:
        return {"X-Shopify-Access-Token": self.store.access_token}

    def updated_at(self, payload: Mapping[str, Any]) -> datetime:
        return datetime.fromisoformat(str(payload["updatedAt"]).replace("Z", "+00:00"))

    def external_id(self, payload: Mapping[str, Any]) -> str:
        return str(payload["legacyResourceId"])

    def pages(self, since: datetime | None) -> Iterator[OrdersPage]:
        search = None
        if since is not None:
            search = f"updated_at:>='{since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'"
        after: str | None = None
        total: int | None = None
        while True:
            data = self.query(
                SHOPIFY_ORDERS_QUERY,
                {
                    "first": self.page_size,
                    "after": after,
                    "query": search,
                    "lines": SHOPIFY_LINES_WITH_ORDER,
                },
            )
            if total is None:
                total = (data.get("ordersCount") or {}).get("count")
            orders = data.get("orders") or {}
            nodes = list(orders.get("nodes") or [])
            for node in nodes:
                self.lines_complete(node)
            yield OrdersPage(nodes, total)
            page_info = orders.get("pageInfo") or {}
            if not page_info.get("hasNextPage") or not page_info.get("endCursor"):
                return
            after = page_info["endCursor"]

    def lines_complete(self, node: dict[str, Any]) -> None:
        """Read the rest of an order's lines, page by page (`lineItems(first:, after:)` of the order), when
        more than came with it; the node then holds them all and says there are no more. A node that is not
        an order object is left for the mapping to refuse."""
        items = node.get("lineItems") if isinstance(node, dict) else None
        if not isinstance(items, dict) or not isinstance(items.get("nodes"), list):
            return
        page_info = items.get("pageInfo") or {}
        while page_info.get("hasNextPage") and page_info.get("endCursor") and node.get("id"):
            data = self.query(
                SHOPIFY_ORDER_LINES_QUERY,
                {"id": node["id"], "lines": SHOPIFY_LINES_PAGE, "after": page_info["endCursor"]},
            )
            more = ((data.get("order") or {}).get("lineItems")) or {}
            if not isinstance(more.get("nodes"), list) or not more["nodes"]:
                break  # the mapping refuses the order: its lines say there are more
            items["nodes"].extend(more["nodes"])
            page_info = more.get("pageInfo") or {}
            items["pageInfo"] = page_info

    def query(self, text: str, variables: dict[str, Any]) -> dict[str, Any]:
        """One GraphQL query's `data`, after the wait the previous answer's throttle status asked for; a
        THROTTLED answer waits until the bucket holds the query's cost and asks again."""
        what = f"{self.store.slug}: POST {self.path}"
        for _attempt in range(self.max_retries + 1):
            if self.throttle_wait:
                self.wait(self.throttle_wait, what)
                self.throttle_wait = 0.0
            answer = self.json(self.send("POST", self.path, json={"query": text, "variables": variables}))
            errors = answer.get("errors") or []
            throttled = any((error.get("extensions") or {}).get("code") == "THROTTLED" for error in errors)
            self.throttle_wait = throttle_seconds(answer.get("extensions"), throttled=throttled)
            if throttled:
                if not self.throttle_wait:
                    self.throttle_wait = self.backoff(_attempt)
                continue
            if errors:
                messages = "; ".join(str(error.get("message", error)) for error in errors)
                raise StoreRefused(f"{what}: GraphQL errors: {messages[:300]}")
            return answer.get("data") or {}
        raise StoreUnavailable(f"{what}: throttled {self.max_retries + 1} times; the next poll resumes")


def throttle_seconds(extensions: Any, *, throttled: bool) -> float:
    """How long to wait before the next query so that Shopify's bucket holds its cost: (cost - available) /
    restore rate, when the bucket is short of the cost of the last query (or of what was refused)."""
    cost = (extensions or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        available = float(status["currentlyAvailable"])
        restore = float(status["restoreRate"])
        needed = float(cost.get("requestedQueryCost") or 0)
    except (KeyError, TypeError, ValueError):
        return 0.0
    if restore <= 0 or (available >= needed and not throttled):
        return 0.0
    return max(0.0, (needed - available) / restore)


def int_header(response: httpx.Response, name: str) -> int | None:
    try:
        return int(response.headers[name])
    except (KeyError, ValueError):
        return None


CLIENTS: dict[str, type[OrdersClient]] = {
    "shopify": ShopifyClient,
    "woocommerce": WooCommerceClient,
    "magento": MagentoClient,
}


def client_for(store: StoreCredentials, **options: Any) -> OrdersClient:
    """The client of the store's platform."""
    return CLIENTS[str(store.platform)](store, **options)
