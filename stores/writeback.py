"""What goes back to a store when an operator changes its order: the outbox rows, written inside the change's
transaction, and the calls each platform receives for them (sent by stores/outbox.py).

The rows come from the domain events (orderops.events.domain_event_in_transaction), so the lower layers never
import stores, and a rolled-back change writes none. A change the store itself made (OrderChanged with source
"store") goes back nowhere: the store knows it already.

Nothing sent is customer-visible: WooCommerce notes are `customer_note: false`, Magento comments
`is_customer_notified: 0` and `is_visible_on_front: 0`, Shopify's tags are staff-only and its irreversible
operations always `notifyCustomer: false` unless the store's own setting (`notify_customer`) says otherwise.
The notes are written by orderops, in English (the store's staff read them there), and never carry what an
operator typed.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Subquery
from django.dispatch import receiver

from orderops.events import HoldChanged, OrderChanged, domain_event_in_transaction
from orders.models import Order, OrderChange, OrderStatus
from stores.models import SHOPIFY_ACTIONS, Platform, StoreChange

Kind = StoreChange.Kind

# The order's fields an address or phone edit sends back (where the platform's API takes them).
ADDRESS_FIELDS = (
    "customer_phone",
    "shipping_name",
    "shipping_street",
    "shipping_city",
    "shipping_postcode",
    "shipping_country",
)
# Platforms whose API takes an edited address back; Magento's REST API does not (the order page says so).
ADDRESS_PLATFORMS = frozenset({Platform.WOOCOMMERCE, Platform.SHOPIFY})
# Shopify: the tag that names the orderops status, and the one that names the holder.
STATUS_TAG_PREFIX = "orderops-status:"
HOLDER_TAG_PREFIX = "orderops:"
# What the store reports after each Shopify operation (stores.platforms.shopify.store_status): its echo.
SHOPIFY_ECHO = {"orderCancel": "cancelled", "fulfillmentCreate": "fulfilled"}


def person_name(user: Any) -> str:
    return (user.get_full_name() or user.get_username()).strip() or user.get_username()


def _people(ids: Iterable[int | None]) -> dict[int, tuple[str, str]]:
    """Each user's (display name, username), in one query."""
    wanted = {pk for pk in ids if pk}
    if not wanted:
        return {}
    return {
        user.pk: (person_name(user), user.get_username())
        for user in get_user_model().objects.filter(pk__in=wanted)
    }


def _store_orders(order_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The orders of active stores among these, with what their rows need: one statement (the order's status
    before this change comes from the history row the change wrote at its current version)."""
    previous_status = OrderChange.objects.filter(
        order_id=OuterRef("pk"), version=OuterRef("version"), field="status"
    ).values("old_value")[:1]
    return list(
        Order.objects.filter(pk__in=list(order_ids), store__isnull=False, store__active=True)
        .annotate(previous_status=Subquery(previous_status))
        .order_by("pk")
        .values(
            "pk",
            "store_id",
            "status_id",
            "status__label",
            "previous_status",
            "store__platform",
            "store__reverse_status_map",
            "store__hold_notes",
            *ADDRESS_FIELDS,
        )
    )


def _status_row(order: dict, actor: tuple[str, str] | None, event: OrderChanged) -> StoreChange:
    mapped = (order["store__reverse_status_map"] or {}).get(order["status_id"])
    mapped = mapped if isinstance(mapped, str) and mapped else ""
    if order["store__platform"] == Platform.SHOPIFY:
        action = mapped if mapped in SHOPIFY_ACTIONS else ""
        payload = {"action": action}
        echo = SHOPIFY_ECHO.get(action, "")
    else:
        payload = {"store_status": mapped}
        echo = mapped
    payload |= {
        "status": order["status_id"],
        "label": str(order["status__label"]),
        "previous_status": order["previous_status"] or "",
        "actor": actor[0] if actor else "",
    }
    return StoreChange(
        order_id=order["pk"],
        store_id=order["store_id"],
        kind=Kind.STATUS,
        payload=payload,
        store_status=echo,
        created_at=event.at,
        next_attempt_at=event.at,
    )


def _address_row(order: dict, event: OrderChanged) -> StoreChange:
    return StoreChange(
        order_id=order["pk"],
        store_id=order["store_id"],
        kind=Kind.ADDRESS,
        payload={name: order[name] for name in ADDRESS_FIELDS},
        created_at=event.at,
        next_attempt_at=event.at,
    )


def order_change_rows(event: OrderChanged) -> list[StoreChange]:
    """The rows an operator's edit or status change of store orders calls for."""
    if event.source == "store":
        return []
    status = "status" in event.fields
    address = bool(set(ADDRESS_FIELDS) & set(event.fields))
    if not (status or address):
        return []
    # The writer read the orders' stores with the orders: none of them came from a store, nothing to send.
    order_ids = event.order_ids if event.store_order_ids is None else event.store_order_ids
    if not order_ids:
        return []
    orders = _store_orders(order_ids)
    if not orders:
        return []
    people = _people([event.actor_id]) if status else {}
    actor = people.get(event.actor_id) if event.actor_id else None
    rows = []
    for order in orders:
        if status:
            rows.append(_status_row(order, actor, event))
        if address and order["store__platform"] in ADDRESS_PLATFORMS:
            rows.append(_address_row(order, event))
    return rows


def hold_change_rows(event: HoldChanged) -> list[StoreChange]:
    """A hold note (or tag) for each changed hold of an order whose store keeps them (hold_notes)."""
    # Each log row came back with its order's store: orders from no store (most) need no look-up.
    store_order_ids = {entry.order_id for entry in event.entries if entry.store_id is not None}
    if not store_order_ids:
        return []
    orders = {order["pk"]: order for order in _store_orders(store_order_ids) if order["store__hold_notes"]}
    if not orders:
        return []
    people = _people(
        [event.actor_id]
        + [entry.operator_id for entry in event.entries]
        + [entry.previous_operator_id for entry in event.entries]
    )

    def named(pk: int | None) -> dict[str, str]:
        name, username = people.get(pk, ("", "")) if pk else ("", "")
        return {"name": name, "username": username}

    return [
        StoreChange(
            order_id=entry.order_id,
            store_id=orders[entry.order_id]["store_id"],
            kind=Kind.HOLD,
            payload={
                "action": event.action,
                "operator": named(entry.operator_id),
                "previous": named(entry.previous_operator_id),
                "actor": named(event.actor_id),
            },
            created_at=event.at,
            next_attempt_at=event.at,
        )
        for entry in event.entries
        if entry.order_id in orders
    ]


@receiver(domain_event_in_transaction, dispatch_uid="stores.writeback")
def changes_queue(sender, event, **kwargs) -> None:
    """Queue what the stores must learn of this change, inside its transaction (an error rolls it back)."""
    if isinstance(event, OrderChanged):
        rows = order_change_rows(event)
    elif isinstance(event, HoldChanged):
        rows = hold_change_rows(event)
    else:
        return
    if rows:
        StoreChange.objects.bulk_create(rows)


# --- what each platform receives ---------------------------------------------------------------------------


def status_note(payload: dict) -> str:
    """ "Status set to Complete by Anna in orderops"."""
    if payload.get("actor"):
        return f"Status set to {payload['label']} by {payload['actor']} in orderops"
    return f"Status set to {payload['label']} in orderops"


def hold_note(payload: dict) -> str:
    """The private note of a hold change: who holds the order now, and who did it."""
    action = payload["action"]
    operator = payload["operator"]["name"]
    previous = payload["previous"]["name"]
    actor = payload["actor"]["name"]
    if action == "assigned":
        if actor and actor != operator:
            return f"Assigned to {operator} by {actor} in orderops"
        return f"Taken by {operator} in orderops"
    if action == "reassigned":
        return (
            f"Transferred from {previous} to {operator}" + (f" by {actor}" if actor else "") + " in orderops"
        )
    if action == "taken_over":
        return f"Taken over from {previous} by {operator} in orderops"
    if action == "released":
        if actor and actor != operator:
            return f"Released by {actor} in orderops (held by {operator})"
        return f"Released by {operator} in orderops"
    if action == "auto_released":
        return f"Released in orderops: the order's status ended {operator}'s hold"
    return f"{operator}'s hold ended in orderops (expired)"


@dataclass(frozen=True)
class Call:
    """One call to the store: REST (method, path, json) or, for Shopify, a GraphQL mutation (query,
    variables, the field whose userErrors say whether it worked)."""

    method: str
    path: str
    json: dict
    graphql_field: str = ""
    # Shopify's fulfillmentCreate: the order (its GraphQL id) whose open fulfillment orders are read just
    # before it, to name them in the call.
    fulfillment_orders_of: str = ""


SHOPIFY_GID = "gid://shopify/Order/{id}"
USER_ERRORS = "{ userErrors { field message } }"
TAGS_ADD = (
    "mutation tagsAdd($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) " + USER_ERRORS + " }"
)
TAGS_REMOVE = (
    "mutation tagsRemove($id: ID!, $tags: [String!]!) { tagsRemove(id: $id, tags: $tags) "
    + USER_ERRORS
    + " }"
)
ORDER_CANCEL = (
    "mutation orderCancel($orderId: ID!, $notifyCustomer: Boolean, $staffNote: String) {"
    " orderCancel(orderId: $orderId, reason: OTHER, refund: false, restock: false,"
    " notifyCustomer: $notifyCustomer, staffNote: $staffNote) { orderCancelUserErrors { field message } } }"
)
FULFILLMENT_ORDERS = (
    "query fulfillmentOrders($id: ID!) { order(id: $id) {"
    ' fulfillmentOrders(first: 20, query: "status:open") { nodes { id status } } } }'
)
FULFILLMENT_CREATE = (
    "mutation fulfillmentCreate($fulfillment: FulfillmentInput!) {"
    " fulfillmentCreate(fulfillment: $fulfillment) " + USER_ERRORS + " }"
)
ORDER_UPDATE = "mutation orderUpdate($input: OrderInput!) { orderUpdate(input: $input) " + USER_ERRORS + " }"


def _graphql(query: str, variables: dict, field: str, **options: Any) -> Call:
    return Call("POST", "", {"query": query, "variables": variables}, graphql_field=field, **options)


def _split_name(name: str) -> tuple[str, str]:
    first, _space, last = name.strip().partition(" ")
    return first, last


def woocommerce_calls(change: StoreChange, external_id: str) -> list[Call]:
    path = f"/wp-json/wc/v3/orders/{external_id}"
    payload = change.payload
    if change.kind == Kind.STATUS:
        calls = (
            [Call("PUT", path, {"status": payload["store_status"]})] if payload.get("store_status") else []
        )
        return [*calls, Call("POST", f"{path}/notes", {"note": status_note(payload), "customer_note": False})]
    if change.kind == Kind.HOLD:
        return [Call("POST", f"{path}/notes", {"note": hold_note(payload), "customer_note": False})]
    first, last = _split_name(payload["shipping_name"])
    return [
        Call(
            "PUT",
            path,
            {
                "shipping": {
                    "first_name": first,
                    "last_name": last,
                    "address_1": payload["shipping_street"],
                    "city": payload["shipping_city"],
                    "postcode": payload["shipping_postcode"],
                    "country": payload["shipping_country"],
                    "phone": payload["customer_phone"],
                },
                "billing": {"phone": payload["customer_phone"]},
            },
        )
    ]


def magento_calls(change: StoreChange, external_id: str) -> list[Call]:
    path = f"/rest/V1/orders/{external_id}/comments"
    payload = change.payload
    history: dict[str, Any] = {"is_customer_notified": 0, "is_visible_on_front": 0}
    if change.kind == Kind.STATUS:
        history["comment"] = status_note(payload)
        if payload.get("store_status"):
            history["status"] = payload["store_status"]
    elif change.kind == Kind.HOLD:
        history["comment"] = hold_note(payload)
    else:
        return []  # Magento's REST API takes no edit of an order's address: it stays in orderops
    return [Call("POST", path, {"statusHistory": history})]


def shopify_calls(change: StoreChange, external_id: str, *, notify_customer: bool) -> list[Call]:
    gid = SHOPIFY_GID.format(id=external_id)
    payload = change.payload
    if change.kind == Kind.STATUS:
        # The other statuses' tags go: the order carries the one tag of its status.
        others = sorted(
            STATUS_TAG_PREFIX + code
            for code in OrderStatus.objects.exclude(code=payload["status"]).values_list("code", flat=True)
        )
        calls = [
            _graphql(TAGS_REMOVE, {"id": gid, "tags": others}, "tagsRemove"),
            _graphql(TAGS_ADD, {"id": gid, "tags": [STATUS_TAG_PREFIX + payload["status"]]}, "tagsAdd"),
        ]
        if payload.get("action") == "orderCancel":
            variables = {"orderId": gid, "notifyCustomer": notify_customer, "staffNote": status_note(payload)}
            calls.append(_graphql(ORDER_CANCEL, variables, "orderCancel"))
        elif payload.get("action") == "fulfillmentCreate":
            fulfillment = {"lineItemsByFulfillmentOrder": [], "notifyCustomer": notify_customer}
            calls.append(
                _graphql(
                    FULFILLMENT_CREATE,
                    {"fulfillment": fulfillment},
                    "fulfillmentCreate",
                    fulfillment_orders_of=gid,
                )
            )
        return calls
    if change.kind == Kind.HOLD:
        operator = HOLDER_TAG_PREFIX + payload["operator"]["username"]
        previous = (
            HOLDER_TAG_PREFIX + payload["previous"]["username"] if payload["previous"]["username"] else ""
        )
        if payload["action"] in ("assigned",):
            return [_graphql(TAGS_ADD, {"id": gid, "tags": [operator]}, "tagsAdd")]
        if payload["action"] in ("reassigned", "taken_over"):
            calls = [_graphql(TAGS_REMOVE, {"id": gid, "tags": [previous]}, "tagsRemove")] if previous else []
            return [*calls, _graphql(TAGS_ADD, {"id": gid, "tags": [operator]}, "tagsAdd")]
        return [_graphql(TAGS_REMOVE, {"id": gid, "tags": [operator]}, "tagsRemove")]
    first, last = _split_name(payload["shipping_name"])
    address = {
        "firstName": first,
        "lastName": last,
        "address1": payload["shipping_street"],
        "city": payload["shipping_city"],
        "zip": payload["shipping_postcode"],
        "countryCode": payload["shipping_country"] or None,
        "phone": payload["customer_phone"],
    }
    return [_graphql(ORDER_UPDATE, {"input": {"id": gid, "shippingAddress": address}}, "orderUpdate")]


def store_calls(change: StoreChange, *, platform: str, external_id: str, notify_customer: bool) -> list[Call]:
    """The calls that write this change to the store, in their order (a retry skips the ones done)."""
    if platform == Platform.WOOCOMMERCE:
        return woocommerce_calls(change, external_id)
    if platform == Platform.MAGENTO:
        return magento_calls(change, external_id)
    return shopify_calls(change, external_id, notify_customer=notify_customer)
