"""A local fake store for the tests and the benchmark: a small threaded HTTP server on 127.0.0.1 that answers
the platforms' documented order endpoints from the real fixture payloads (stores/fixtures/), with generated
variants (many orders, changing updated_at), the platforms' paging and their quirks, 429 with Retry-After,
Shopify's GraphQL cost throttle, and slow answers for time-outs.

- WooCommerce: `GET /wp-json/wc/v3/orders?modified_after=...&dates_are_gmt=true&orderby=modified&order=asc
  &per_page=N&page=P`, HTTP Basic (consumer key and secret); `X-WP-Total` and `X-WP-TotalPages`; a page past
  the last is an empty list; `modified_after` is exclusive (WordPress's `after`).
- Magento 2: `GET /rest/V1/orders?searchCriteria[...]` (updated_at gteq, sort by updated_at ASC, pageSize,
  currentPage), `Authorization: Bearer`; `{"items", "search_criteria", "total_count"}`; a page past the last
  answers the last page again; `fields=` answers with those fields alone, as Magento's partial responses do
  (fields_filtered).
- Shopify: `POST /admin/api/<version>/graphql.json` with `X-Shopify-Access-Token`; the client's `variables`
  (`first`, `after`, `query` as `updated_at:>='...'`) are read, the query text is not parsed; `orders` with
  `nodes` and `pageInfo { hasNextPage endCursor }`; `extensions.cost.throttleStatus` from a leaky bucket;
  a query the bucket cannot pay is answered 200 with a THROTTLED error, as Shopify does. An order's
  `lineItems` are paged as Shopify pages them: the orders query gives each order's first `lines` lines with
  `pageInfo`, and a query with the order's `id` (`order(id:) { lineItems(first: $lines, after:) }`) the rest.

Writes back (issue 23), recorded in `writes` (platform, order id, what, body) and applied to the order:
- WooCommerce: `PUT /wp-json/wc/v3/orders/{id}` (status, shipping, billing) and
  `POST /wp-json/wc/v3/orders/{id}/notes` (kept in `notes`).
- Magento: `POST /rest/V1/orders/{id}/comments` (`statusHistory`: its status set, its comment a note).
- Shopify GraphQL mutations `tagsAdd`, `tagsRemove`, `orderCancel`, `fulfillmentCreate`, `orderUpdate`,
  and the `fulfillmentOrders` query. Each write moves the order's updated_at to now, as the platforms do.
Faults for them: `fail(path, status=500)`, `delay=` (a time-out), `drop=True` (the connection closes without
an answer), 429 with `retry_after`.
"""

import base64
import contextlib
import copy
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from stores.simulation import BUILDERS, id_of, iso_z, updated_at_of

WOO_KEY, WOO_SECRET = "ck_fake", "cs_fake"
MAGENTO_TOKEN = "magento-fake-token"
SHOPIFY_TOKEN = "shpat_fake"
# What `touch` changes in every order of the benchmark's store (a field each mapping reads, top level).
RESYNC_CHANGES: dict[str, dict[str, Any]] = {
    "magento": {"customer_note": "Leave it with the neighbour"},
    "woocommerce": {"customer_note": "Leave it with the neighbour"},
    "shopify": {"note": "Leave it with the neighbour"},
}
SHOPIFY_QUERY_COST = 12  # what one page of orders costs in the fake bucket (Shopify computes it per query)


@dataclass
class Fault:
    """An answer the store gives instead of the real one, `times` times, to requests under `path`."""

    path: str
    status: int = 429
    retry_after: str | None = "1"
    delay: float = 0.0  # seconds before answering (a slow store: the client's time-out)
    times: int = 1
    after: int = 0  # let this many matching requests through first
    shopify_throttled: bool = False  # 200 with a THROTTLED error, as Shopify's GraphQL answers
    drop: bool = False  # close the connection without an answer
    apply: bool = False  # do the write first, then answer with the fault (the answer is lost, the write not)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int = 0


@dataclass
class ShopifyBucket:
    """Shopify's GraphQL cost bucket: `maximum` points, restored at `restore_rate` a second."""

    maximum: float = 1000.0
    restore_rate: float = 50.0
    available: float = 1000.0
    at: float = field(default_factory=time.monotonic)

    def take(self, cost: float) -> bool:
        now = time.monotonic()
        self.available = min(self.maximum, self.available + (now - self.at) * self.restore_rate)
        self.at = now
        if self.available < cost:
            return False
        self.available -= cost
        return True

    def status(self) -> dict:
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": round(self.available, 1),
            "restoreRate": self.restore_rate,
        }


class FakeStore:
    """The three platforms' stores behind one local server; `url` is each store's base URL."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.orders: dict[str, dict[str, dict]] = {"woocommerce": {}, "magento": {}, "shopify": {}}
        self.faults: list[Fault] = []
        self.requests: list[Seen] = []
        # The writes back, in the order they arrived: (platform, order id, what, body).
        self.writes: list[tuple[str, str, str, Any]] = []
        self.notes: dict[tuple[str, str], list[dict]] = {}
        # Called with each write back as it arrives (the demo prints them).
        self.on_write: Callable[[tuple[str, str, str, Any]], None] | None = None
        self.bucket = ShopifyBucket()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else host
        return f"http://{name}:{port}"

    def start(self) -> "FakeStore":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- what the store holds -----------------------------------------------------------------------------

    def add(self, platform: str, order: dict) -> dict:
        with self.lock:
            self.orders[platform][id_of(platform, order)] = order
        return order

    def add_many(
        self,
        platform: str,
        count: int,
        *,
        first: int = 1001,
        start: datetime | None = None,
        step: timedelta = timedelta(seconds=1),
        **options: Any,
    ) -> list[dict]:
        """`count` orders numbered from `first`, updated `step` apart from `start` (default: a day ago)."""
        start = start or datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        built = [BUILDERS[platform](first + i, start + step * i, **options) for i in range(count)]
        with self.lock:
            for order in built:
                self.orders[platform][id_of(platform, order)] = order
        return built

    def touch(self, platform: str, external_id: str, updated_at: datetime, **changes: Any) -> dict:
        """The store changes an order: a new updated_at (and any fields given)."""
        with self.lock:
            order = copy.deepcopy(self.orders[platform][str(external_id)])
            order.update(changes)
            if platform == "woocommerce":
                order["date_modified_gmt"] = updated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
            elif platform == "magento":
                order["updated_at"] = updated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
            else:
                order["updatedAt"] = iso_z(updated_at)
            self.orders[platform][str(external_id)] = order
            return order

    def touch_all(self, platform: str, later: timedelta, **changes: Any) -> int:
        """The store changes every order it holds: each `later` than it was (the order of changes kept), with
        the fields given (top-level ones). Returns how many."""
        with self.lock:
            keys = list(self.orders[platform])
        for key in keys:
            self.touch(platform, key, updated_at_of(platform, self.orders[platform][key]) + later, **changes)
        return len(keys)

    def fail(self, path: str, **fault: Any) -> Fault:
        """The next request(s) under `path` get this answer instead (see Fault)."""
        added = Fault(path=path, **fault)
        with self.lock:
            self.faults.append(added)
        return added

    def requests_to(self, path: str) -> list[Seen]:
        with self.lock:
            return [seen for seen in self.requests if seen.path.startswith(path)]

    def _sorted(self, platform: str, since: datetime | None, *, inclusive: bool) -> list[dict]:
        # Each order's sort key is read once per request (a backfill asks for many pages of many orders).
        with self.lock:
            keyed = [
                ((updated_at_of(platform, order), int(key)), order)
                for key, order in self.orders[platform].items()
            ]
        if since is not None:
            keyed = [
                (key, order) for key, order in keyed if (key[0] >= since if inclusive else key[0] > since)
            ]
        # Ties in updated_at in the order the store keeps them: by id.
        keyed.sort(key=lambda pair: pair[0])
        return [order for _key, order in keyed]

    def _fault_for(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if path.startswith(fault.path) and fault.times > 0:
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    fault.times -= 1
                    return fault
        return None

    def writes_of(self, platform: str, external_id: str | None = None) -> list[tuple[str, str, str, Any]]:
        with self.lock:
            return [
                write
                for write in self.writes
                if write[0] == platform and (external_id is None or write[1] == str(external_id))
            ]

    # --- writes back --------------------------------------------------------------------------------------

    def _record(self, write: tuple[str, str, str, Any]) -> None:
        self.writes.append(write)
        if self.on_write is not None:
            self.on_write(write)

    def _touched(self, platform: str, order: dict) -> None:
        now = datetime.now(UTC)
        if platform == "woocommerce":
            order["date_modified_gmt"] = now.strftime("%Y-%m-%dT%H:%M:%S")
        elif platform == "magento":
            order["updated_at"] = now.strftime("%Y-%m-%d %H:%M:%S")
        else:
            order["updatedAt"] = iso_z(now)

    def write(self, platform: str, path: str, method: str, body: bytes) -> tuple[int, dict, Any] | None:
        """A write back, or None when `path` is not one."""
        parts = path.strip("/").split("/")
        data = json.loads(body or b"{}")
        if (
            platform == "woocommerce"
            and len(parts) in (5, 6)
            and parts[:4] == ["wp-json", "wc", "v3", "orders"]
        ):
            external_id, what = parts[4], ("note" if len(parts) == 6 and parts[5] == "notes" else "update")
            if (what == "note" and method != "POST") or (what == "update" and method != "PUT"):
                return None
        elif platform == "magento" and len(parts) == 5 and parts[:3] == ["rest", "V1", "orders"]:
            if parts[4] != "comments" or method != "POST":
                return None
            external_id, what = parts[3], "comment"
        else:
            return None
        with self.lock:
            order = self.orders[platform].get(external_id)
            if order is None:
                return 404, {}, {"code": "not_found", "message": "Invalid ID."}
            self._record((platform, external_id, what, data))
            if what == "note":
                self.notes.setdefault((platform, external_id), []).append(data)
                return 201, {}, {"id": len(self.writes), **data}
            if what == "comment":
                history = data.get("statusHistory") or {}
                self.notes.setdefault((platform, external_id), []).append(history)
                if history.get("status"):
                    order["status"] = history["status"]
                self._touched(platform, order)
                return 200, {}, True
            for name in ("status",):
                if name in data:
                    order[name] = data[name]
            for name in ("shipping", "billing"):
                if name in data:
                    order[name] = {**(order.get(name) or {}), **data[name]}
            self._touched(platform, order)
            return 200, {}, order

    def shopify_write(self, request: dict) -> tuple[int, dict, Any] | None:
        """A GraphQL mutation (or the fulfillment orders' query), or None when the request is a poll."""
        text = request.get("query") or ""
        variables = request.get("variables") or {}
        name = (
            text.split("(")[0].split()[-1] if text.startswith(("mutation", "query fulfillmentOrders")) else ""
        )
        if not name:
            return None
        gid = (
            variables.get("id") or variables.get("orderId") or (variables.get("input") or {}).get("id") or ""
        )
        external_id = str(gid).rsplit("/", 1)[-1]
        with self.lock:
            if name == "fulfillmentCreate":
                groups = (variables.get("fulfillment") or {}).get("lineItemsByFulfillmentOrder") or []
                external_id = str(groups[0]["fulfillmentOrderId"]).rsplit("/", 1)[-1] if groups else ""
            order = self.orders["shopify"].get(external_id)
            if order is None:
                return 200, {}, {"data": {name: None}, "errors": [{"message": f"order {gid} not found"}]}
            if name == "fulfillmentOrders":
                nodes = [{"id": f"gid://shopify/FulfillmentOrder/{external_id}", "status": "OPEN"}]
                return 200, {}, {"data": {"order": {"fulfillmentOrders": {"nodes": nodes}}}}
            self._record(("shopify", external_id, name, variables))
            tags = list(order.get("tags") or [])
            if name == "tagsAdd":
                order["tags"] = tags + [tag for tag in variables["tags"] if tag not in tags]
            elif name == "tagsRemove":
                order["tags"] = [tag for tag in tags if tag not in variables["tags"]]
            elif name == "orderCancel":
                order["cancelledAt"] = iso_z(datetime.now(UTC))
            elif name == "fulfillmentCreate":
                order["displayFulfillmentStatus"] = "FULFILLED"
            elif name == "orderUpdate":
                order["shippingAddress"] = {
                    **(order.get("shippingAddress") or {}),
                    **variables["input"]["shippingAddress"],
                }
            self._touched("shopify", order)
            errors_field = "orderCancelUserErrors" if name == "orderCancel" else "userErrors"
            return 200, {}, {"data": {name: {errors_field: []}}}

    # --- the platforms ------------------------------------------------------------------------------------

    def woocommerce(self, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, dict, Any]:
        expected = "Basic " + base64.b64encode(f"{WOO_KEY}:{WOO_SECRET}".encode()).decode()
        if headers.get("authorization") != expected:
            return (
                401,
                {},
                {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources."},
            )
        after = query.get("modified_after", [None])[0]
        since = datetime.fromisoformat(after.replace("Z", "+00:00")) if after else None
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        per_page = int(query.get("per_page", ["10"])[0])
        page = int(query.get("page", ["1"])[0])
        if per_page > 100:
            return 400, {}, {"code": "rest_invalid_param", "message": "per_page must be between 1 and 100"}
        orders = self._sorted("woocommerce", since, inclusive=False)
        pages = max(1, -(-len(orders) // per_page))
        headers_out = {"X-WP-Total": str(len(orders)), "X-WP-TotalPages": str(pages)}
        return 200, headers_out, orders[(page - 1) * per_page : page * per_page]

    def magento(self, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, dict, Any]:
        answer = self._magento(query, headers)
        if answer[0] == 200 and query.get("fields"):
            status, extra, payload = answer
            return status, extra, fields_filtered(payload, query["fields"][0])
        return answer

    def _magento(self, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, dict, Any]:
        if headers.get("authorization") != f"Bearer {MAGENTO_TOKEN}":
            return 401, {}, {"message": 'The consumer isn\'t authorized to access "%resources".'}
        prefix = "searchCriteria[filter_groups][0][filters][0]"
        since = None
        if query.get(f"{prefix}[field]") == ["updated_at"] and query.get(f"{prefix}[condition_type]") == [
            "gteq"
        ]:
            since = datetime.fromisoformat(query[f"{prefix}[value]"][0]).replace(tzinfo=UTC)
        size = int(query.get("searchCriteria[pageSize]", ["20"])[0])
        page = int(query.get("searchCriteria[currentPage]", ["1"])[0])
        orders = self._sorted("magento", since, inclusive=True)
        last = max(1, -(-len(orders) // size))
        # Magento's quirk: a page past the last answers the last page again.
        page = min(page, last)
        return (
            200,
            {},
            {
                "items": orders[(page - 1) * size : page * size],
                "search_criteria": {"page_size": size, "current_page": page},
                "total_count": len(orders),
            },
        )

    def shopify(self, body: bytes, headers: dict[str, str], *, throttled: bool) -> tuple[int, dict, Any]:
        if headers.get("x-shopify-access-token") != SHOPIFY_TOKEN:
            return (
                401,
                {},
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"},
            )
        request = json.loads(body or b"{}")
        variables = request.get("variables") or {}
        first = int(variables.get("first", 50))
        if first > 250:
            return 200, {}, {"errors": [{"message": "The 'first' argument must be at most 250"}]}
        cost = {"requestedQueryCost": SHOPIFY_QUERY_COST, "actualQueryCost": SHOPIFY_QUERY_COST}
        with self.lock:
            paid = not throttled and self.bucket.take(SHOPIFY_QUERY_COST)
            if throttled:
                self.bucket.available = 0.0
                self.bucket.at = time.monotonic()
            throttle = self.bucket.status()
        if not paid:
            return (
                200,
                {},
                {
                    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                    "extensions": {"cost": {**cost, "actualQueryCost": None, "throttleStatus": throttle}},
                },
            )
        extensions = {"cost": {**cost, "throttleStatus": throttle}}
        if "id" in variables:  # the rest of one order's lines (stores.clients.SHOPIFY_ORDER_LINES_QUERY)
            with self.lock:
                order = next(
                    (o for o in self.orders["shopify"].values() if o.get("id") == variables["id"]), None
                )
            items = (
                _lines_page(order, int(variables.get("lines", 50)), variables.get("after")) if order else None
            )
            return (
                200,
                {},
                {"data": {"order": {"lineItems": items} if items else None}, "extensions": extensions},
            )
        since = None
        text = variables.get("query") or ""
        if text.startswith("updated_at:>="):
            since = datetime.fromisoformat(
                text.removeprefix("updated_at:>=").strip("'\"").replace("Z", "+00:00")
            )
        orders = self._sorted("shopify", since, inclusive=True)
        start = 0
        if variables.get("after"):
            start = int(base64.b64decode(variables["after"]).decode().removeprefix("offset:"))
        chunk = orders[start : start + first]
        if "lines" in variables:  # an order's first `lines` lines come with it; lineItems.pageInfo says more
            chunk = [
                {**order, "lineItems": _lines_page(order, int(variables["lines"]), None)} for order in chunk
            ]
        end = start + len(chunk)
        page_info = {
            "hasNextPage": end < len(orders),
            "endCursor": base64.b64encode(f"offset:{end}".encode()).decode() if chunk else None,
        }
        return (
            200,
            {},
            {
                "data": {
                    "ordersCount": {"count": len(orders)},
                    "orders": {"nodes": chunk, "pageInfo": page_info},
                },
                "extensions": extensions,
            },
        )

    def _write_any(self, path: str, method: str, body: bytes) -> tuple[int, dict, Any] | None:
        if path.startswith("/wp-json/"):
            return self.write("woocommerce", path, method, body)
        if path.startswith("/rest/V1/"):
            return self.write("magento", path, method, body)
        if path.startswith("/admin/api/") and path.endswith("/graphql.json") and method == "POST":
            return self.shopify_write(json.loads(body or b"{}"))
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        store = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def do_PUT(self) -> None:
                self._answer()

            def _answer(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                seen = Seen(self.command, split.path, parse_qs(split.query), headers, body)
                with store.lock:
                    store.requests.append(seen)
                fault = store._fault_for(split.path)
                if fault and fault.delay:
                    time.sleep(fault.delay)
                status, extra, payload = 404, {}, {"message": f"no route {split.path}"}
                if fault and fault.apply:
                    store._write_any(split.path, self.command, body)
                if fault and fault.drop:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(2)
                    return
                if fault and not fault.shopify_throttled and fault.status:
                    status, payload = fault.status, {"errors": "Exceeded the request limit"}
                    if fault.retry_after is not None:
                        extra = {"Retry-After": fault.retry_after}
                elif (written := store._write_any(split.path, self.command, body)) is not None:
                    status, extra, payload = written
                elif split.path == "/wp-json/wc/v3/orders" and self.command == "GET":
                    status, extra, payload = store.woocommerce(seen.query, headers)
                elif split.path == "/rest/V1/orders" and self.command == "GET":
                    status, extra, payload = store.magento(seen.query, headers)
                elif split.path.startswith("/admin/api/") and split.path.endswith("/graphql.json"):
                    throttled = bool(fault and fault.shopify_throttled)
                    status, extra, payload = store.shopify(body, headers, throttled=throttled)
                seen.status = status
                content = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(content)))
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(content)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (its time-out)
                    pass

        return Handler


FieldSpec = dict[str, "FieldSpec | None"]


def fields_parsed(text: str) -> FieldSpec:
    """Magento's `fields` parameter as a tree, None for a whole field: `a,b[c,d[e]]` -> {"a": None, "b":
    {"c": None, "d": {"e": None}}}. Refuses brackets that do not pair (ValueError)."""
    spec: FieldSpec = {}
    stack: list[FieldSpec] = [spec]
    name = ""
    last: str | None = None  # the field just closed, for a "[" after it
    for char in text + ",":
        if char in ",[]":
            name = name.strip()
            if name:
                stack[-1][name] = None
                last = name
            name = ""
            if char == "[":
                if last is None:
                    raise ValueError(f"fields: '[' without a field before it in {text!r}")
                child: FieldSpec = {}
                stack[-1][last] = child
                stack.append(child)
                last = None
            elif char == "]":
                if len(stack) == 1:
                    raise ValueError(f"fields: unpaired ']' in {text!r}")
                stack.pop()
                last = None
        else:
            name += char
    if len(stack) != 1:
        raise ValueError(f"fields: unpaired '[' in {text!r}")
    return spec


def fields_filtered(value: Any, fields: "str | FieldSpec") -> Any:
    """An answer with only the fields asked for, as Magento's Webapi FieldsFilter gives it ("Retrieve filtered
    responses for REST endpoints"): a field named alone comes whole, `name[...]` with those of its fields; a
    list is filtered item by item; a field the answer does not have is left out."""
    spec = fields_parsed(fields) if isinstance(fields, str) else fields
    if isinstance(value, list):
        return [fields_filtered(item, spec) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        name: value[name] if inner is None else fields_filtered(value[name], inner)
        for name, inner in spec.items()
        if name in value
    }


def _lines_page(order: dict, first: int, after: str | None) -> dict:
    """A page of a Shopify order's `lineItems` connection: `first` lines after the cursor `after`."""
    nodes = (order.get("lineItems") or {}).get("nodes") or []
    start = int(base64.b64decode(after).decode().removeprefix("line:")) if after else 0
    chunk = nodes[start : start + first]
    end = start + len(chunk)
    return {
        "nodes": chunk,
        "pageInfo": {
            "hasNextPage": end < len(nodes),
            "endCursor": base64.b64encode(f"line:{end}".encode()).decode() if chunk else None,
        },
    }


def ids(platform: str, orders: Iterable[dict]) -> list[str]:
    return [id_of(platform, order) for order in orders]


def main() -> None:
    """`python -m tests.stores.fake_store PLATFORM COUNT`: serve COUNT generated orders of PLATFORM in a
    process of its own (the benchmark: the store's work then shares no interpreter lock with the sync it
    serves; the README's walk-through of the write-back); prints its URL on the first line, then a line per
    write back it receives, and serves until stdin closes. A line `touch` on stdin changes every order (a
    day later, RESYNC_CHANGES) and answers `touched N`."""
    import sys

    platform, count = sys.argv[1], int(sys.argv[2])
    store = FakeStore()
    store.add_many(platform, count, start=datetime(2026, 1, 1, tzinfo=UTC))
    store.bucket = ShopifyBucket(maximum=1e12, available=1e12)  # the benchmark measures us, not the throttle
    store.on_write = lambda write: print(
        f"{write[0]} order {write[1]}: {write[2]} {json.dumps(write[3])}", flush=True
    )
    store.start()
    print(store.url, flush=True)
    for line in sys.stdin:
        if line.strip() == "touch":
            touched = store.touch_all(platform, timedelta(days=1), **RESYNC_CHANGES[platform])
            print(f"touched {touched}", flush=True)
    store.stop()


if __name__ == "__main__":
    main()
