"""The golden mapping: what every platform's mapping makes of every real fixture payload (stores/fixtures/),
of the orders polling reads (stores.simulation's builders), of Magento's quirks, and of every field of each
fixture replaced by each of a few awkward values, pinned in tests/stores/golden/mappings.json, so that work
on a mapping's speed cannot change what it maps, nor which payloads it refuses and how it says so.

After a change that is meant to change a mapping,
`GOLDEN_REWRITE=1 pytest tests/stores/test_mapping_golden.py` rewrites the file; its diff is the change, to be
read before it is committed.
"""

import copy
import dataclasses
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from stores.exports import json_records, shopify_csv_records
from stores.incoming import IncomingOrder, PayloadError
from stores.platforms import MAPPINGS, POLL_MAPPINGS
from stores.platforms.magento import SEARCH_FIELDS
from stores.simulation import BUILDERS
from tests.stores.fake_store import fields_filtered
from tests.stores.payload_fuzz import json_paths

FIXTURES = Path(__file__).resolve().parent.parent.parent / "stores" / "fixtures"
GOLDEN = Path(__file__).resolve().parent / "golden" / "mappings.json"
# What each field of a fixture is replaced by, one at a time: nothing, blanks, the wrong types, a fraction.
AWKWARD_VALUES: tuple[Any, ...] = (None, "", 0, -1, 1.5, "x", True, [], {})
WHEN = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)


def outcome(mapping: Callable[[Mapping[str, Any]], IncomingOrder], payload: Any) -> Any:
    """The order a mapping makes of a payload, as JSON (money as its exact Decimal text, times in ISO with
    their offset), or the PayloadError's message. Any other exception propagates: a crash is no outcome."""
    try:
        order = mapping(payload)
    except PayloadError as error:
        return {"error": str(error)}
    return json.loads(json.dumps(dataclasses.asdict(order), default=_text))


def _text(value: Any) -> str:
    if isinstance(value, Decimal | datetime):
        return value.isoformat() if isinstance(value, datetime) else str(value)
    raise TypeError(type(value).__name__)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def fixture_cases() -> Iterator[tuple[str, Any]]:
    """Every order of every fixture file, read as import_orders reads the file (its JSON records, Shopify's
    CSV rows), and the legacy WooCommerce order in the webhook delivery's body."""
    for name, platform in (
        ("magento-order.json", "magento"),
        ("woocommerce-order.json", "woocommerce"),
        ("woocommerce-orders.json", "woocommerce"),
        ("shopify-order.json", "shopify"),
        ("shopify-orders.json", "shopify"),
    ):
        text = (FIXTURES / name).read_text(encoding="utf-8")
        for record in json_records(text, MAPPINGS[platform]):
            order = record.order
            yield (
                f"{name} record {record.record}",
                {"error": record.problem} if order is None else outcome(lambda _p, o=order: o, None),
            )
    text = (FIXTURES / "shopify-orders-export.csv").read_text(encoding="utf-8")
    for record in shopify_csv_records(io.StringIO(text, newline="")):
        order = record.order
        yield (
            f"shopify-orders-export.csv record {record.record}",
            {"error": record.problem} if order is None else outcome(lambda _p, o=order: o, None),
        )
    delivery = fixture("woocommerce-webhook-delivery.json")
    body = json.loads(delivery["request_body"])
    yield "woocommerce-webhook-delivery.json request_body", outcome(MAPPINGS["woocommerce"], body["order"])


def poll_cases() -> Iterator[tuple[str, Any]]:
    """The orders polling reads (what the fake store serves and the benchmark backfills), per platform."""
    for platform, build in BUILDERS.items():
        for n in (1001, 1002, 1234567):
            yield f"poll {platform} {n}", outcome(POLL_MAPPINGS[platform], build(n, WHEN))
    yield (
        "poll magento canceled",
        outcome(POLL_MAPPINGS["magento"], BUILDERS["magento"](7, WHEN, status="canceled")),
    )


def _magento_variant(change: Callable[[dict], None]) -> dict:
    payload = copy.deepcopy(fixture("magento-order.json"))
    change(payload)
    return payload


def _items(**values: Any) -> Callable[[dict], None]:
    def change(payload: dict) -> None:
        for item in payload["items"]:
            item.update(values)

    return change


def _shipped(indexes: tuple[int, ...], qty: Any = 1) -> Callable[[dict], None]:
    def change(payload: dict) -> None:
        for index in indexes:
            payload["items"][index]["qty_shipped"] = qty

    return change


# Magento's quirks, each a change of the real order (the mapping the speed work rewrites).
MAGENTO_VARIANTS: dict[str, Callable[[dict], None]] = {
    "paid": lambda p: p.update(total_paid=165),
    "partly paid": lambda p: p.update(total_paid="100.5"),
    "refunded": lambda p: p.update(total_paid=165, total_refunded=165),
    "partly refunded": lambda p: p.update(total_paid=165, total_refunded=20),
    "free and processing": lambda p: p.update(grand_total=0, state="processing"),
    "free and new": lambda p: p.update(grand_total=0),
    "discount": lambda p: (
        p.update(discount_amount=-16, grand_total=149),
        p["items"][0].update(discount_amount=2.2),
    ),
    "tee shipped": _shipped((0,)),
    "bundle parts shipped": _shipped((3, 4, 5, 6)),
    "two bundle parts shipped": _shipped((3, 4)),
    "everything shipped": _shipped((0, 2, 7)),
    "bundle parent shipped": _shipped((2,)),
    "shipped as text": _shipped((0, 2, 7), "1.0000"),
    "canceled items": _items(qty_canceled=1),
    "virtual only": lambda p: p.update(items=[p["items"][1]]),
    "no items": lambda p: p.update(items=[]),
    "items null": lambda p: p.update(items=None),
    "no row_total": lambda p: [item.pop("row_total", None) for item in p["items"]],
    "quantities as text": _items(qty_ordered="1.0000"),
    "two of each": _items(qty_ordered=2),
    "parent ids as text": lambda p: [
        item.update(parent_item_id=str(item["parent_item_id"]))
        for item in p["items"]
        if item.get("parent_item_id")
    ],
    "parent id 0 and blank": lambda p: (
        p["items"][0].update(parent_item_id=0),
        p["items"][1].update(parent_item_id=""),
    ),
    "is_virtual true": lambda p: p["items"][0].update(is_virtual=True),
    "product type virtual": lambda p: p["items"][0].update(product_type="virtual", is_virtual=0),
    "offset times and text money": lambda p: p.update(
        updated_at="2017-08-22T00:22:20+02:00", grand_total="165.0000"
    ),
    "no updated_at": lambda p: p.pop("updated_at"),
    "status null, state kept": lambda p: p.update(status=None),
    "order currency missing": lambda p: p.pop("order_currency_code"),
    "lower-case currency": lambda p: p.update(order_currency_code="usd"),
    "guest named by billing": lambda p: (
        p.update(customer_firstname=None, customer_lastname=None, customer_email=None),
        p["billing_address"].update(firstname="Ann", lastname="Lee"),
    ),
    "guest named by shipping": lambda p: (
        p.update(customer_firstname=None, customer_lastname=None, customer_email=None, billing_address={}),
    ),
    "no shipping assignments": lambda p: p.update(extension_attributes={}),
    "billing address as []": lambda p: p.update(billing_address=[]),
    "street as text": lambda p: p["extension_attributes"]["shipping_assignments"][0]["shipping"][
        "address"
    ].update(street="1 Elm St"),
    "street of three lines": lambda p: p["extension_attributes"]["shipping_assignments"][0]["shipping"][
        "address"
    ].update(street=["1 Elm St", "", 7]),
    "postcode as a number": lambda p: p["extension_attributes"]["shipping_assignments"][0]["shipping"][
        "address"
    ].update(postcode=10577),
    "lower-case country": lambda p: p["extension_attributes"]["shipping_assignments"][0]["shipping"][
        "address"
    ].update(country_id="us"),
    "customer note": lambda p: p.update(customer_note="  ring twice  "),
    "float amounts": lambda p: p.update(grand_total=165.005, subtotal=0.1, shipping_amount=4.995),
    "entity id as text": lambda p: p.update(entity_id="3"),
    "increment id as a number": lambda p: p.update(increment_id=3),
    # refusals: the message names the order and the field
    "increment id blank": lambda p: p.update(increment_id=""),
    "grand total not an amount": lambda p: p.update(grand_total="lots"),
    "grand total missing": lambda p: p.pop("grand_total"),
    "created_at not a date": lambda p: p.update(created_at="21.08.2017"),
    "items not a list": lambda p: p.update(items="none"),
    "entity id missing": lambda p: p.update(entity_id=None),
    "no status nor state": lambda p: p.update(status=None, state=None),
    "decimal quantity": lambda p: p["items"][0].update(qty_ordered=1.5),
    "zero quantity": lambda p: p["items"][0].update(qty_ordered=0),
    "huge amount": lambda p: p.update(grand_total=1e12),
    "bad country": lambda p: p["extension_attributes"]["shipping_assignments"][0]["shipping"][
        "address"
    ].update(country_id="USA"),
    "name missing on a line": lambda p: p["items"][0].update(name=""),
    "billing address a list of text": lambda p: p.update(billing_address=["x"]),
    "not an object": lambda p: p.clear(),
}


def magento_variant_cases() -> Iterator[tuple[str, Any]]:
    for name, change in MAGENTO_VARIANTS.items():
        yield f"magento variant: {name}", outcome(MAPPINGS["magento"], _magento_variant(change))


def replaced(document: Any, path: tuple, value: Any) -> Any:
    """`document` with the value at `path` replaced: only the containers along the path copied (the mapping
    changes nothing it reads; a deep copy of Magento's 46 kB order for each of its 1,437 fields is slow)."""
    if not path:
        return value
    head, *rest = path
    changed = copy.copy(document)
    changed[head] = replaced(document[head], tuple(rest), value)
    return changed


def awkward_value_cases() -> Iterator[tuple[str, Any]]:
    """Each field of each platform's fixture replaced by each of AWKWARD_VALUES: one digest per field (over
    the outcomes of every value), so that a mapping reading any field differently, or refusing it with
    other words, is seen."""
    for name, platform, unwrap in (
        ("magento-order.json", "magento", None),
        ("woocommerce-order.json", "woocommerce", None),
        ("shopify-order.json", "shopify", "order"),
    ):
        document = fixture(name)
        if unwrap:
            document = document[unwrap]
        mapping = MAPPINGS[platform]
        for path in json_paths(document):
            outcomes = [outcome(mapping, replaced(document, path, value)) for value in AWKWARD_VALUES]
            digest = hashlib.sha256(json.dumps(outcomes, sort_keys=True).encode()).hexdigest()[:16]
            yield f"{name} {'.'.join(map(str, path))}", digest


def all_cases() -> dict[str, Any]:
    cases: dict[str, Any] = {}
    for source in (fixture_cases, poll_cases, magento_variant_cases, awkward_value_cases):
        for key, value in source():
            assert key not in cases, f"two golden cases named {key!r}"
            cases[key] = value
    return cases


def test_every_mapping_of_every_fixture_payload_is_the_golden_one():
    cases = all_cases()
    if os.environ.get("GOLDEN_REWRITE"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(
            json.dumps(cases, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
        )
        pytest.skip(f"rewrote {GOLDEN.name}: read its diff")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    differ = sorted(key for key in golden.keys() | cases.keys() if golden.get(key) != cases.get(key))
    assert not differ, f"{len(differ)} of {len(golden)} golden cases differ, e.g.: " + "; ".join(
        f"{key}: golden {json.dumps(golden.get(key))[:300]} != now {json.dumps(cases.get(key))[:300]}"
        for key in differ[:3]
    )


def test_the_golden_file_pins_every_platform_and_refusal():
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    mapped = [value for value in golden.values() if isinstance(value, dict) and "number" in value]
    refused = [value for value in golden.values() if isinstance(value, dict) and "error" in value]
    assert {key.split()[0] for key in golden} >= {
        "magento-order.json",
        "woocommerce-order.json",
        "woocommerce-orders.json",
        "shopify-order.json",
        "shopify-orders.json",
        "shopify-orders-export.csv",
        "woocommerce-webhook-delivery.json",
        "poll",
    }
    assert len(mapped) >= 40 and len(refused) >= 10
    # The Magento fixture's lines add up to its subtotal (parents and children counted once).
    magento = golden["magento-order.json record 1"]
    assert (
        sum(Decimal(line["line_total"]) for line in magento["lines"]) == Decimal(magento["subtotal"]) == 160
    )


def _as_polled(order: Any) -> Any:
    """The order as a poll is given it: within a search page, with only SEARCH_FIELDS."""
    return fields_filtered({"items": [order], "total_count": 1}, SEARCH_FIELDS)["items"][0]


def test_magento_maps_the_fields_a_poll_asks_for_as_it_maps_the_whole_order():
    """SEARCH_FIELDS names every field the mapping reads: the real order, each quirk, each order polling
    reads, and each field of the order replaced by a value the mapping reads differently or refuses map the
    same with only those fields."""
    mapping = MAPPINGS["magento"]
    whole = fixture("magento-order.json")
    payloads = {"fixture": whole}
    payloads |= {f"variant {name}": _magento_variant(change) for name, change in MAGENTO_VARIANTS.items()}
    payloads |= {f"poll {n}": BUILDERS["magento"](n, WHEN) for n in (1001, 1002)}
    for path in json_paths(whole):
        for n, value in enumerate(("x", 1.5, None)):
            payloads[f"{'.'.join(map(str, path))} as value {n}"] = replaced(whole, path, value)
    differ = [
        name
        for name, payload in payloads.items()
        if not isinstance(payload, dict) or outcome(mapping, _as_polled(payload)) != outcome(mapping, payload)
    ]
    assert not differ, f"{len(differ)} of {len(payloads)} differ: {differ[:5]}"
