"""Orders as the platforms send them, built from the real fixture payloads (stores/fixtures/) with their own
ids, numbers, customers and change times: what store_simulate sends to the webhook address, and what the
tests' fake store (tests/stores/fake_store.py) and the benchmark serve to polling.

Only the fields that make one order another are changed; every other field is the fixture's, byte for byte
in meaning: the platforms' quirks (WooCommerce's entities and zone-less local times, Magento's parent and
child items and zero-padded increment_id, Shopify's string money) stay.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Customers for the generated orders, so that a demo shows orders that differ at a glance.
CUSTOMERS = [
    ("Anna", "Müller", "Berlin", "10115", "DE"),
    ("Georgi", "Petrov", "Sofia", "1000", "BG"),
    ("Chloe", "Dubois", "Lyon", "69001", "FR"),
    ("Mateo", "Garcia", "Madrid", "28001", "ES"),
    ("Yuki", "Tanaka", "Vienna", "1010", "AT"),
    ("Oskar", "Lindqvist", "Warsaw", "00-001", "PL"),
]


@cache
def _fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def fixture(name: str) -> Any:
    """A fresh copy of a fixture's JSON (callers change it)."""
    return json.loads(_fixture_text(name))


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def customer(n: int) -> tuple[str, str, str, str, str]:
    return CUSTOMERS[n % len(CUSTOMERS)]


def _local(moment: datetime) -> str:
    # The fixture's WooCommerce site is three hours behind UTC (date_created 16:28:02, its _gmt 19:28:02).
    return (moment.astimezone(UTC) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S")


def _gmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def woocommerce_order(
    n: int, updated_at: datetime, *, status: str = "processing", created_at: datetime | None = None
) -> dict:
    """woocommerce-order.json as order `n`: its own id and number and customer, created at `created_at`
    and modified at `updated_at` (zone-less site-local times beside their `_gmt` twins, as WooCommerce
    sends them)."""
    order = fixture("woocommerce-order.json")
    first, last, city, postcode, country = customer(n)
    order.update(id=n, number=str(n), status=status)
    created_at = created_at or updated_at
    order["date_created"], order["date_created_gmt"] = _local(created_at), _gmt(created_at)
    order["date_modified"], order["date_modified_gmt"] = _local(updated_at), _gmt(updated_at)
    for address in ("billing", "shipping"):
        order[address].update(first_name=first, last_name=last, city=city, postcode=postcode, country=country)
    order["billing"]["email"] = f"{first}.{last}@example.com".lower().replace("ü", "ue")
    return order


def magento_order(
    n: int, updated_at: datetime, *, status: str = "pending", created_at: datetime | None = None
) -> dict:
    """magento-order.json as entity `n`, increment_id zero-padded as Magento does, with its own customer,
    created at `created_at` and updated at `updated_at` (zone-less UTC, space-separated)."""
    order = fixture("magento-order.json")
    first, last, city, postcode, country = customer(n)
    order.update(entity_id=n, increment_id=f"{n:09d}", status=status)
    order["created_at"] = (created_at or updated_at).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    order["updated_at"] = updated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    order.update(customer_firstname=first, customer_lastname=last)
    order["customer_email"] = f"{first}.{last}@example.com".lower().replace("ü", "ue")
    addresses = [order["billing_address"]] + [
        assignment["shipping"]["address"]
        for assignment in order.get("extension_attributes", {}).get("shipping_assignments", [])
        if "address" in assignment.get("shipping", {})
    ]
    for address in addresses:
        address.update(firstname=first, lastname=last, city=city, postcode=postcode, country_id=country)
    return order


def shopify_rest_order(
    n: int, updated_at: datetime, *, financial_status: str = "paid", created_at: datetime | None = None
) -> dict:
    """shopify-order.json's order as order `n` (#n) with its own customer: the body of an orders/create or
    orders/updated webhook (the REST Admin order, not wrapped)."""
    order = fixture("shopify-order.json")["order"]
    first, last, city, postcode, country = customer(n)
    order.update(id=n, name=f"#{n}", order_number=n, number=n - 1000, financial_status=financial_status)
    order["created_at"] = (created_at or updated_at).astimezone(UTC).isoformat()
    order["updated_at"] = updated_at.astimezone(UTC).isoformat()
    order["email"] = f"{first}.{last}@example.com".lower().replace("ü", "ue")
    for address in ("billing_address", "shipping_address"):
        order[address].update(
            first_name=first,
            last_name=last,
            name=f"{first} {last}",
            city=city,
            zip=postcode,
            country_code=country,
        )
    order["customer"].update(first_name=first, last_name=last, email=order["email"])
    return order


def money(amount: Any, currency: str) -> dict:
    value = Decimal(str(amount or "0"))
    return {"shopMoney": {"amount": str(value), "currencyCode": currency}}


def shopify_graphql_node(rest: dict) -> dict:
    """The GraphQL Admin API's `Order` node for a REST Admin order (shopify-order.json's fields, renamed and
    shaped as the GraphQL schema has them: money in `*Set { shopMoney }`, enums in upper case)."""
    currency = rest["currency"]
    financial = (rest.get("financial_status") or "pending").upper()
    fulfillment = {None: "UNFULFILLED", "partial": "PARTIALLY_FULFILLED"}.get(
        rest.get("fulfillment_status"), (rest.get("fulfillment_status") or "").upper()
    )
    address = rest.get("shipping_address") or {}
    person = rest.get("customer") or {}
    return {
        "id": f"gid://shopify/Order/{rest['id']}",
        "legacyResourceId": str(rest["id"]),
        "name": rest["name"],
        "createdAt": iso_z(datetime.fromisoformat(rest["created_at"])),
        "updatedAt": iso_z(datetime.fromisoformat(rest["updated_at"])),
        "cancelledAt": rest.get("cancelled_at"),
        "closedAt": rest.get("closed_at"),
        "displayFinancialStatus": financial,
        "displayFulfillmentStatus": fulfillment,
        "currencyCode": currency,
        "email": rest.get("email"),
        "phone": rest.get("phone"),
        "note": rest.get("note"),
        "totalPriceSet": money(rest.get("total_price"), currency),
        "subtotalPriceSet": money(rest.get("subtotal_price"), currency),
        "totalShippingPriceSet": money(
            sum(Decimal(line["price"]) for line in rest.get("shipping_lines", [])), currency
        ),
        "totalTaxSet": money(rest.get("total_tax"), currency),
        "totalDiscountsSet": money(rest.get("total_discounts"), currency),
        "customer": {
            "displayName": f"{person.get('first_name', '')} {person.get('last_name', '')}".strip(),
            "email": person.get("email"),
            "phone": person.get("phone"),
        }
        if person
        else None,
        "shippingAddress": {
            "name": address.get("name"),
            "address1": address.get("address1"),
            "address2": address.get("address2"),
            "city": address.get("city"),
            "zip": address.get("zip"),
            "countryCodeV2": address.get("country_code"),
            "phone": address.get("phone"),
        }
        if address
        else None,
        "shippingLine": {"title": rest["shipping_lines"][0]["title"]} if rest.get("shipping_lines") else None,
        "lineItems": {
            "nodes": [
                {
                    "sku": line.get("sku"),
                    "name": line.get("name"),
                    "quantity": line["quantity"],
                    "originalUnitPriceSet": money(line["price"], currency),
                    "discountedTotalSet": money(Decimal(line["price"]) * line["quantity"], currency),
                }
                for line in rest.get("line_items", [])
            ],
            "pageInfo": {"hasNextPage": False, "endCursor": None},
        },
    }


def shopify_order(
    n: int, updated_at: datetime, *, financial_status: str = "paid", created_at: datetime | None = None
) -> dict:
    """shopify_rest_order as the GraphQL Admin API's `Order` node (what polling reads)."""
    return shopify_graphql_node(
        shopify_rest_order(n, updated_at, financial_status=financial_status, created_at=created_at)
    )


def updated_at_of(platform: str, order: dict) -> datetime:
    if platform == "woocommerce":
        return datetime.fromisoformat(order["date_modified_gmt"]).replace(tzinfo=UTC)
    if platform == "magento":
        return datetime.fromisoformat(order["updated_at"]).replace(tzinfo=UTC)
    return datetime.fromisoformat(order["updatedAt"].replace("Z", "+00:00"))


def id_of(platform: str, order: dict) -> str:
    if platform == "woocommerce":
        return str(order["id"])
    if platform == "magento":
        return str(order["entity_id"])
    return order["legacyResourceId"]


# platform -> build(n, updated_at, **options): one order as that platform's poll reads it.
BUILDERS: dict[str, Callable[..., dict]] = {
    "woocommerce": woocommerce_order,
    "magento": magento_order,
    "shopify": shopify_order,
}
