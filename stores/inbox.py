"""The webhook inbox: a signed delivery is kept (stores.Delivery) in the transaction of its effect, applied
once however often it arrives, and kept as failed, with the reason, when it cannot be applied.

`delivery_receive` is what the webhook view calls once the signature is valid; `delivery_replay` applies a
kept delivery again (replay_deliveries, the admin's replay button). Both go through the one apply path,
stores.services.store_order_apply.
"""

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from orderops.db import db_datetime
from stores.incoming import IncomingOrder, PayloadError
from stores.models import Delivery, Platform, Store
from stores.platforms import order_mapping, poll_mapping
from stores.services import (
    Outcome,
    StoreApplyResult,
    UnknownOrderDeleted,
    Via,
    store_order_apply_in_transaction,
)

logger = logging.getLogger("orderops.stores")

State = Delivery.State
STATE_OF = {
    Outcome.CREATED: State.APPLIED,
    Outcome.UPDATED: State.APPLIED,
    Outcome.UNCHANGED: State.UNCHANGED,
    Outcome.STALE: State.STALE,
}
# The topics whose body is only the order's id: the order is kept, with the status the map names for
# "deleted".
DELETE_TOPICS = frozenset({"orders/delete", "order.deleted"})
SHOPIFY_ORDER_EDITED = "orders/edited"
# The topic of an order a poll read and could not apply (stores.sync): its body is the order as the store's
# API gave it (Shopify: the GraphQL node), kept failed until replay_deliveries applies it.
POLL_TOPIC = "poll"
# The longest error kept with a failed delivery.
ERROR_MAX_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """What became of one delivery: its row's id (None for a duplicate that was not kept again), its state,
    whether it was a duplicate of one applied before, the apply's result, and the error of a failed one."""

    delivery_id: int | None
    state: str
    duplicate: bool = False
    result: StoreApplyResult | None = None
    error: str = ""


def is_order_topic(platform: str, topic: str) -> bool:
    """Whether the topic carries an order: Shopify orders/*, WooCommerce order.*; anything else (a product, a
    customer) is kept and not applied."""
    if platform == Platform.SHOPIFY:
        return topic.startswith("orders/")
    return topic.startswith("order.")


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def delivery_key(*, store: Store, topic: str, body: bytes, headers: dict[str, str]) -> str:
    """The delivery's key, unique per store: what makes a repeat a duplicate.

    Shopify: X-Shopify-Event-Id (the same for every retry of one event), else X-Shopify-Webhook-Id.
    WooCommerce: its delivery id hashes the webhook id and the second, so two changes in one second share
    it: the order's id with its date_modified_gmt instead (a deletion: the id). A body without them: its
    SHA-256.
    """
    if store.platform == Platform.SHOPIFY:
        if event_id := headers.get("event_id"):
            return f"event:{event_id}"[:200]
        if webhook_id := headers.get("webhook_id"):
            return f"webhook:{webhook_id}"[:200]
    else:
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("order"), dict):
            payload = payload["order"]  # WooCommerce's legacy v3 payload
        if isinstance(payload, dict) and payload.get("id") not in (None, ""):
            order_id = str(payload["id"])
            if topic == "order.deleted":
                # The body is only the id: the delivery id (the webhook and the second) tells a second
                # deletion (after a restore) from a retry.
                return f"deleted:{order_id}:{headers.get('delivery_id', '')}"[:200]
            modified = payload.get("date_modified_gmt") or payload.get("updated_at")
            if modified:
                return f"order:{order_id}:{modified}"[:200]
    return f"body:{topic}:{body_digest(body)}"[:200]


def _deleted(platform: str, payload: Any, received_at: datetime) -> IncomingOrder:
    """A deletion's body names the order by its id only ({"id": 450789469}); it happened when it arrived."""
    if not isinstance(payload, dict) or payload.get("id") in (None, ""):
        raise PayloadError(_("The deletion names no order: its body has no id."))
    zero = Decimal("0")
    return IncomingOrder(
        external_id=str(payload["id"]),
        number="",
        store_status="",
        created_at=received_at,
        updated_at=received_at,
        currency="",
        grand_total=zero,
        subtotal=zero,
        shipping_total=zero,
        tax_total=zero,
        discount_total=zero,
        customer_name="",
        deleted=True,
    )


def incoming_from_body(*, store: Store, topic: str, body: str, received_at: datetime) -> IncomingOrder:
    """The order a delivery's body holds, through the platform's mapping; PayloadError when it holds none."""
    try:
        payload = json.loads(body)
    except ValueError as error:
        raise PayloadError(_("The body is not JSON: %(error)s") % {"error": error}) from None
    if topic in DELETE_TOPICS:
        return _deleted(store.platform, payload, received_at)
    if isinstance(payload, dict) and isinstance(payload.get("order"), dict):
        payload = payload["order"]  # {"order": {...}}: WooCommerce's legacy v3 payload, Shopify's REST answer
    if not isinstance(payload, dict):
        raise PayloadError(_("The body is not an order object."))
    return order_mapping(store.platform)(payload)


INSERT_SQL = f"""
INSERT INTO {Delivery._meta.db_table}
    (store_id, key, topic, received_at, state, error, body, headers, order_number, attempts)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 1)
ON CONFLICT (store_id, key) DO UPDATE SET attempts = {Delivery._meta.db_table}.attempts + 1
    {{set_more}}
    WHERE {Delivery._meta.db_table}.state = %s
RETURNING id
"""
# Claims the key: a new row, or the row of a delivery that failed before (a platform's retry is a free
# replay). A key applied before returns nothing: a duplicate. A second connection with the same key waits
# on the unique index until the first commits or rolls back.
CLAIM_SQL = INSERT_SQL.format(set_more="")
# Keeps a delivery that could not be applied: a new row, or the failed row again with the latest error;
# never over a row that a concurrent duplicate applied meanwhile.
FAILED_SQL = INSERT_SQL.format(set_more=", error = EXCLUDED.error")


def _row(sql: str, params: list) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _store_touched(store_id: int, at: datetime) -> None:
    """The store's last delivery, after commit and at most once a second: deliveries of one store never wait
    on each other for the store's row."""
    Store.objects.filter(pk=store_id).exclude(last_delivery_at__gte=at - timedelta(seconds=1)).update(
        last_delivery_at=at
    )


def _failed_keep(
    *,
    store: Store,
    key: str,
    topic: str,
    body: str,
    headers: dict[str, str],
    received_at: datetime,
    error: BaseException,
) -> DeliveryReceipt:
    reason = f"{type(error).__name__}: {error}" if not isinstance(error, PayloadError) else str(error)
    reason = reason[:ERROR_MAX_LENGTH]
    with transaction.atomic():
        delivery_id = _row(
            FAILED_SQL,
            [
                store.pk,
                key,
                topic,
                db_datetime(received_at),
                State.FAILED,
                reason,
                body,
                json.dumps(headers),
                "",
                State.FAILED,
            ],
        )
    logger.warning(
        "store delivery failed: %s %s %s: %s",
        store.slug,
        topic,
        key,
        reason,
        extra={"store": store.slug, "topic": topic, "key": key, "state": "failed"},
        exc_info=not isinstance(error, PayloadError),
    )
    return DeliveryReceipt(delivery_id, State.FAILED, error=reason)


def _is_order_edit(body: str) -> bool:
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    return isinstance(payload, dict) and "order_edit" in payload


def _apply_body(
    *, store: Store, topic: str, body: str, received_at: datetime, via: Via
) -> tuple[str, StoreApplyResult | None]:
    """Apply the body when its topic carries an order: the delivery's state and the apply's result."""
    if topic == POLL_TOPIC:
        try:
            payload = json.loads(body)
        except ValueError as error:
            raise PayloadError(_("The body is not JSON: %(error)s") % {"error": error}) from None
        if not isinstance(payload, dict):
            raise PayloadError(_("The body is not an order object."))
        result = store_order_apply_in_transaction(
            store=store, incoming=poll_mapping(store.platform)(payload), via=via
        )
        return STATE_OF[result.outcome], result
    if not is_order_topic(store.platform, topic):
        return State.IGNORED, None
    if topic == SHOPIFY_ORDER_EDITED and _is_order_edit(body):
        # Shopify's orders/edited names the edit's changes, not the order; the orders/updated delivery that
        # follows it carries the edited order.
        return State.IGNORED, None
    incoming = incoming_from_body(store=store, topic=topic, body=body, received_at=received_at)
    try:
        result = store_order_apply_in_transaction(store=store, incoming=incoming, via=via)
    except UnknownOrderDeleted:
        return State.IGNORED, None
    return STATE_OF[result.outcome], result


def delivery_receive(
    *, store: Store, topic: str, key: str, body: bytes, headers: dict[str, str]
) -> DeliveryReceipt:
    """Keep and apply one delivery whose signature is valid. Never raises for what the body holds: a delivery
    that cannot be applied (not JSON, no order, an unmapped status, a bug) is rolled back and kept as failed
    with the reason, in a transaction of its own; the caller answers 2xx either way."""
    received_at = timezone.now()
    text = body.decode("utf-8", errors="replace")
    try:
        with transaction.atomic():
            delivery_id = _row(
                CLAIM_SQL,
                [
                    store.pk,
                    key,
                    topic,
                    db_datetime(received_at),
                    State.APPLIED,
                    "",
                    text,
                    json.dumps(headers),
                    "",
                    State.FAILED,
                ],
            )
            if delivery_id is None:
                logger.info(
                    "store delivery duplicate: %s %s %s",
                    store.slug,
                    topic,
                    key,
                    extra={"store": store.slug, "topic": topic, "key": key, "state": "duplicate"},
                )
                return DeliveryReceipt(None, "duplicate", duplicate=True)
            state, result = _apply_body(
                store=store, topic=topic, body=text, received_at=received_at, via=Via.WEBHOOK
            )
            Delivery.objects.filter(pk=delivery_id).update(
                state=state,
                error="",
                order_id=result.order_id if result else None,
                order_number=result.number if result else "",
                applied_at=timezone.now(),
            )
            last = store.last_delivery_at
            if last is None or last < received_at - timedelta(seconds=1):
                transaction.on_commit(lambda: _store_touched(store.pk, received_at))
    except Exception as error:  # a signed delivery is never lost: kept as failed, answered 2xx
        return _failed_keep(
            store=store,
            key=key,
            topic=topic,
            body=text,
            headers=headers,
            received_at=received_at,
            error=error,
        )
    logger.info(
        "store delivery %s: %s %s %s",
        state,
        store.slug,
        topic,
        key,
        extra={"store": store.slug, "topic": topic, "key": key, "state": str(state)},
    )
    return DeliveryReceipt(delivery_id, state, result=result)


def poll_failure_keep(
    *,
    store: Store,
    payload: Mapping[str, Any],
    external_id: str,
    number: str,
    updated_at: datetime | None,
    error: BaseException,
) -> int | None:
    """Keep an order a poll read and could not apply as a failed delivery (topic "poll"), in the caller's
    transaction (the page's, with the cursor's move past it): replay_deliveries applies it once its cause is
    fixed. The key names the order and its change, so the same copy failing again in a later poll is one row
    (its attempts and latest error); a later change of the order is another. Returns the row's id (None when
    that copy's row was applied meanwhile: nothing to keep)."""
    body = json.dumps(payload, ensure_ascii=False)
    changed = updated_at.isoformat() if updated_at is not None else body_digest(body.encode())
    key = f"poll:{external_id or body_digest(body.encode())}:{changed}"[:200]
    reason = f"{type(error).__name__}: {error}" if not isinstance(error, PayloadError) else str(error)
    return _row(
        FAILED_SQL,
        [
            store.pk,
            key,
            POLL_TOPIC,
            db_datetime(timezone.now()),
            State.FAILED,
            reason[:ERROR_MAX_LENGTH],
            body,
            json.dumps({}),
            number[:64],
            State.FAILED,
        ],
    )


def delivery_replay(*, delivery_id: int) -> DeliveryReceipt:
    """Apply a kept delivery again (a failed one after its cause was fixed), through the same apply path;
    its row says the new state, or the new error. Two replays of one delivery at once run one after the
    other on its row lock."""
    try:
        with transaction.atomic():
            delivery = (
                Delivery.objects.select_for_update(of=("self",))
                .select_related("store")
                .filter(pk=delivery_id)
                .first()
            )
            if delivery is None:
                return DeliveryReceipt(
                    None, "missing", error=_("There is no delivery %(id)s.") % {"id": delivery_id}
                )
            state, result = _apply_body(
                store=delivery.store,
                topic=delivery.topic,
                body=delivery.body,
                received_at=delivery.received_at,
                via=Via.REPLAY,
            )
            if delivery.state == State.FAILED or state == State.APPLIED:
                Delivery.objects.filter(pk=delivery.pk).update(
                    state=state,
                    error="",
                    order_id=result.order_id if result else None,
                    order_number=result.number if result else "",
                    applied_at=timezone.now(),
                    attempts=delivery.attempts + 1,
                )
            else:
                # A delivery applied before that changes nothing now keeps what it did then.
                Delivery.objects.filter(pk=delivery.pk).update(attempts=delivery.attempts + 1)
    except Exception as error:  # the delivery stays failed, with the new reason
        reason = f"{type(error).__name__}: {error}" if not isinstance(error, PayloadError) else str(error)
        with transaction.atomic():
            Delivery.objects.filter(pk=delivery_id).update(
                state=State.FAILED, error=reason[:ERROR_MAX_LENGTH], attempts=F("attempts") + 1
            )
        logger.warning("store delivery replay failed: %s: %s", delivery_id, reason)
        return DeliveryReceipt(delivery_id, State.FAILED, error=reason)
    return DeliveryReceipt(delivery_id, state, result=result)
