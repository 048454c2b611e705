"""Writes of the connected stores: one apply path for every way an order comes in (webhook, poll, file,
replay), and the webhook inbox's writer."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.db.models import JSONField, OuterRef, Subquery
from django.utils.translation import gettext as _

from orderops.service_log import service_logged
from orders.models import Order
from orders.results import RequestRefused
from orders.services import (
    StoreNewOrder,
    StoreOrderUpdate,
    StoreWriter,
    order_store_write,
    orders_store_create,
    orders_store_update,
)
from stores.incoming import IncomingOrder, PayloadError
from stores.models import DEFAULT_STATUS_MAPS, DELETED, Store, StoreChange

logger = logging.getLogger("orderops")


class Via(StrEnum):
    WEBHOOK = "webhook"
    POLL = "poll"
    FILE = "file"
    REPLAY = "replay"


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class StoreApplyResult:
    """What an apply did to the store's order: `outcome`, the order's id and number, the fields it changed."""

    outcome: Outcome
    order_id: int
    number: str
    fields: tuple[str, ...] = ()


class UnmappedStatus(PayloadError):
    """The store's status is not in the store's status map: the delivery is kept as failed until the map
    names it (then replay_deliveries applies it)."""


class UnknownOrderDeleted(PayloadError):
    """The store deleted an order that never came here: there is nothing to keep (the inbox keeps the
    delivery as ignored)."""


def store_writer(store: Store) -> StoreWriter:
    return StoreWriter(store_id=store.pk, name=store.name)


def order_number(incoming: IncomingOrder) -> str:
    """The number as the console shows it after "#": Shopify's name "#1001" is 1001."""
    return incoming.number.strip().removeprefix("#").strip()


def _status_code(store: Store, incoming: IncomingOrder) -> str:
    key = DELETED if incoming.deleted else incoming.store_status
    code = store.status_for(key)
    if code is None:
        raise UnmappedStatus(
            _(
                "%(store)s order #%(number)s: the store's status %(status)r is not in the store's status "
                "map; add it (the stores admin) and replay the delivery."
            )
            % {"store": store.name, "number": order_number(incoming), "status": key}
        )
    return code


def store_status_code(store: Store, incoming: IncomingOrder) -> str:
    """The orderops status code the store's map names for the incoming order; UnmappedStatus when it names
    none (what a dry run checks before it says it would apply an order)."""
    return _status_code(store, incoming)


def _values(incoming: IncomingOrder) -> dict:
    """The order's fields from the store's copy (times in UTC, so that an offset is no change)."""
    return {
        "number": order_number(incoming),
        "external_id": incoming.external_id,
        "customer_name": incoming.customer_name,
        "customer_email": incoming.customer_email,
        "customer_phone": incoming.customer_phone,
        "grand_total": incoming.grand_total,
        "currency": incoming.currency.upper(),
        "shipping_name": incoming.shipping_name,
        "shipping_street": incoming.shipping_street,
        "shipping_city": incoming.shipping_city,
        "shipping_postcode": incoming.shipping_postcode,
        "shipping_country": incoming.shipping_country.upper(),
        "payment_status": incoming.payment_status,
        "fulfillment_status": incoming.fulfillment_status,
        "shipping_method": incoming.shipping_method,
        "shipping_total": incoming.shipping_total,
        "tax_total": incoming.tax_total,
        "discount_total": incoming.discount_total,
        "customer_note": incoming.customer_note,
        "created_at": incoming.created_at.astimezone(UTC),
        "store_updated_at": incoming.updated_at.astimezone(UTC),
    }


def _lines(incoming: IncomingOrder) -> list[dict]:
    return [
        {
            "sku": line.sku,
            "name": line.name,
            "qty": line.qty,
            "unit_price": line.unit_price,
            "line_total": line.line_total,
        }
        for line in incoming.lines
    ]


def _deleted_values(incoming: IncomingOrder) -> dict:
    """A deletion names only the order (Shopify's orders/delete body is {"id": ...}): keep what we have and
    take the status the map names for "deleted"."""
    return {"store_updated_at": incoming.updated_at.astimezone(UTC)}


def _store_orders_locking(store: Store):
    """The store's orders, to be locked for this transaction, each with the latest status change written
    back to the store (store_status_echo), in the same statement."""
    written_back = (
        StoreChange.objects.filter(order_id=OuterRef("pk"), kind=StoreChange.Kind.STATUS)
        .exclude(state=StoreChange.State.DEAD)
        .order_by("-id")
    )
    return (
        Order.objects.filter(store=store)
        .annotate(
            written_back_payload=Subquery(written_back.values("payload")[:1], output_field=JSONField()),
            written_back_store_status=Subquery(written_back.values("store_status")[:1]),
        )
        .select_for_update(no_key=True, of=("self",))
    )


def _store_order_locked(store: Store, external_id: str) -> Order | None:
    """The store's order with this id, locked for this transaction (one statement, as order_locked)."""
    return _store_orders_locking(store).filter(external_id=external_id).order_by().first()


def _store_orders_locked(store: Store, external_ids: Sequence[str]) -> dict[str, Order]:
    """The store's orders with these ids, locked for this transaction in one statement, in the order of
    their ids (a stable order: two writers of overlapping sets never wait for each other in a cycle)."""
    return {
        order.external_id: order
        for order in _store_orders_locking(store).filter(external_id__in=sorted(external_ids)).order_by("pk")
    }


@service_logged("store_order_apply")
@transaction.atomic
def store_order_apply(*, store: Store, incoming: IncomingOrder, via: str) -> StoreApplyResult:
    """Create or update the store's order from the store's copy, as the store, in one transaction (a
    savepoint inside the caller's: a refused order leaves the caller's transaction usable).

    Forward only: a copy older than the one applied last (`store_updated_at`) is `stale` and changes
    nothing; one as old is `unchanged` unless it differs. The status goes through the store's status map (an
    unmapped status raises UnmappedStatus, a PayloadError); a deletion keeps the order with the status the map
    names for "deleted". The write itself is the order domain's (orders.services.order_store_write): a held
    order is changed too, its holder notified, and a final status ends the hold, by the store.

    Two applies of one order at once (a webhook and a poll) run one after the other on the order's row lock;
    two creations of one new order at once: the second meets the unique (store, external id), and updates
    the order the first created.
    """
    return store_order_apply_in_transaction(store=store, incoming=incoming, via=via)


def store_order_apply_in_transaction(*, store: Store, incoming: IncomingOrder, via: str) -> StoreApplyResult:
    """store_order_apply for a caller that holds the transaction and rolls it back whole when this raises
    (the webhook inbox): no savepoint of its own."""
    Via(via)  # one of the four ways in; a typo is a bug, not a payload error
    if not incoming.external_id:
        raise PayloadError(_("%(store)s sent an order without its id.") % {"store": store.name})
    status_code = _status_code(store, incoming)
    writer = store_writer(store)
    order = _store_order_locked(store, incoming.external_id)
    if order is None:
        if incoming.deleted:
            raise UnknownOrderDeleted(
                _("%(store)s deleted order id %(id)s, which never came here: nothing to keep.")
                % {"store": store.name, "id": incoming.external_id}
            )
        try:
            with transaction.atomic():
                written = order_store_write(
                    store=writer,
                    order=None,
                    values=_values(incoming),
                    status_code=status_code,
                    lines=_lines(incoming),
                )
            return StoreApplyResult(Outcome.CREATED, written.order.pk, written.order.number)
        except IntegrityError:
            # Another connection created it meanwhile (and has committed: the unique index waited for it),
            # or the number belongs to another order of this store.
            order = _store_order_locked(store, incoming.external_id)
            if order is None:
                raise PayloadError(
                    _("%(store)s order #%(number)s (id %(id)s): another order of the store has that number.")
                    % {"store": store.name, "number": order_number(incoming), "id": incoming.external_id}
                ) from None

    incoming_at = incoming.updated_at.astimezone(UTC)
    if order.store_updated_at is not None and incoming_at < order.store_updated_at:
        return StoreApplyResult(Outcome.STALE, order.pk, order.number)
    if status_code != order.status_id and not incoming.deleted and store_status_echo(store, order, incoming):
        # The store repeats what we wrote back to it (issue 23): the status stays ours.
        status_code = order.status_id
    values = _deleted_values(incoming) if incoming.deleted else _values(incoming)
    lines = None if incoming.deleted else _lines(incoming)
    written = order_store_write(
        store=writer, order=order, values=values, status_code=status_code, lines=lines
    )
    outcome = Outcome.UPDATED if written.fields else Outcome.UNCHANGED
    return StoreApplyResult(outcome, order.pk, written.order.number, written.fields)


@dataclass(frozen=True, slots=True)
class StoreOrdersApplied:
    """What store_orders_apply did to each order it was given, in the order given: a StoreApplyResult, or
    the exception that kept the order out (a PayloadError, a refusal of the order domain, a bug)."""

    results: list[StoreApplyResult | Exception]

    @property
    def outcomes(self) -> list[StoreApplyResult]:
        return [result for result in self.results if isinstance(result, StoreApplyResult)]


@service_logged("store_orders_apply")
@transaction.atomic
def store_orders_apply(*, store: Store, incomings: Sequence[IncomingOrder], via: str) -> StoreOrdersApplied:
    """Apply many orders of one store (a poll's page), each with exactly the outcome store_order_apply gives
    it, in fewer statements: the page's known orders are read in one query; the new ones are created
    together (orders.services.orders_store_create: one INSERT of orders, one of lines); an order older than
    the copy we hold is `stale` without a lock (store_updated_at only moves forward); the other known ones
    (an update, a copy as old as ours) are locked together in one statement, checked again under the lock
    (forward only: a webhook may have applied a newer copy meanwhile) and written together
    (orders.services.orders_store_update); a second copy of an order in the same page and a deletion go
    through store_order_apply in the page's order, after the others.

    One order that cannot be applied is that order's result, never the page's: the creations run in a
    savepoint, and when it fails (another connection created one of them meanwhile, a number the store
    already has, a bug) each of them is applied on its own by store_order_apply, which says which one and
    why. Raises only for `via` not being a way in.
    """
    Via(via)
    results: list[StoreApplyResult | Exception | None] = [None] * len(incomings)
    updating: list[int] = []
    writer = store_writer(store)
    ids = {incoming.external_id for incoming in incomings if incoming.external_id}
    known = {
        external_id: (pk, number, store_updated_at)
        for external_id, pk, number, store_updated_at in Order.objects.filter(
            store=store, external_id__in=sorted(ids)
        ).values_list("external_id", "pk", "number", "store_updated_at")
    }
    creating: list[tuple[int, StoreNewOrder]] = []
    one_by_one: list[int] = []
    seen: set[str] = set()
    for index, incoming in enumerate(incomings):
        external_id = incoming.external_id
        first_copy = external_id not in seen
        seen.add(external_id)
        if not external_id or incoming.deleted or not first_copy:
            one_by_one.append(index)
            continue
        if external_id in known:
            pk, number, held_at = known[external_id]
            if held_at is not None and incoming.updated_at.astimezone(UTC) < held_at:
                results[index] = StoreApplyResult(Outcome.STALE, pk, number)
            else:
                updating.append(index)
            continue
        try:
            new = StoreNewOrder(
                values=_values(incoming), status_code=_status_code(store, incoming), lines=_lines(incoming)
            )
        except Exception as error:  # an unmapped status (PayloadError), or a bug: that order's result
            results[index] = error
            continue
        creating.append((index, new))
    if creating:
        try:
            with transaction.atomic():
                created = orders_store_create(store=writer, orders=[new for _index, new in creating])
        except Exception as error:  # one of them is the cause: each on its own says which, and why
            logger.info(
                "store_orders_apply %s: %s new orders created one by one (%s: %s)",
                store.slug,
                len(creating),
                type(error).__name__,
                error,
            )
            one_by_one.extend(index for index, _new in creating)
            one_by_one.sort()
        else:
            for (index, _new), written in zip(creating, created, strict=True):
                results[index] = (
                    StoreApplyResult(Outcome.CREATED, written.order.pk, written.order.number)
                    if not isinstance(written, Exception)
                    else written
                )
    if updating:
        try:
            with transaction.atomic():
                applied = _known_orders_apply(
                    store, writer, [(index, incomings[index]) for index in updating]
                )
        except Exception as error:  # one of them is the cause: each on its own says which, and why
            logger.info(
                "store_orders_apply %s: %s known orders applied one by one (%s: %s)",
                store.slug,
                len(updating),
                type(error).__name__,
                error,
            )
            one_by_one.extend(updating)
        else:
            for index, result in applied.items():
                if result is None:  # no longer ours to update together (see _known_orders_apply)
                    one_by_one.append(index)
                else:
                    results[index] = result
        one_by_one.sort()
    for index in one_by_one:
        try:
            results[index] = store_order_apply(store=store, incoming=incomings[index], via=via)
        except Exception as error:  # that order's result; its savepoint undid it alone
            results[index] = error
    assert all(result is not None for result in results)
    return StoreOrdersApplied([result for result in results if result is not None])


def _known_orders_apply(
    store: Store, writer: StoreWriter, known: list[tuple[int, IncomingOrder]]
) -> dict[int, StoreApplyResult | Exception | None]:
    """store_order_apply of orders we hold (first copies, none a deletion), together: locked in one
    statement, each checked as store_order_apply checks it (stale under the lock, the status map, the echo
    of our own write-back), the rest written by orders_store_update. By index: the result, or None for an
    order not found under the lock (the caller applies it alone)."""
    locked = _store_orders_locked(store, [incoming.external_id for _index, incoming in known])
    results: dict[int, StoreApplyResult | Exception | None] = {}
    writing: list[tuple[int, StoreOrderUpdate]] = []
    for index, incoming in known:
        order = locked.get(incoming.external_id)
        if order is None:
            results[index] = None
            continue
        if (
            order.store_updated_at is not None
            and incoming.updated_at.astimezone(UTC) < order.store_updated_at
        ):
            results[index] = StoreApplyResult(Outcome.STALE, order.pk, order.number)
            continue
        try:
            status_code = _status_code(store, incoming)
        except PayloadError as error:
            results[index] = error
            continue
        if status_code != order.status_id and store_status_echo(store, order, incoming):
            status_code = order.status_id  # the store repeats what we wrote back to it (issue 23)
        writing.append((index, StoreOrderUpdate(order, _values(incoming), status_code, _lines(incoming))))
    written = orders_store_update(store=writer, updates=[update for _index, update in writing])
    for (index, _update), write in zip(writing, written, strict=True):
        if isinstance(write, RequestRefused):
            results[index] = write
        else:
            outcome = Outcome.UPDATED if write.fields else Outcome.UNCHANGED
            results[index] = StoreApplyResult(outcome, write.order.pk, write.order.number, write.fields)
    return results


def store_status_echo(store: Store, order: Order, incoming: IncomingOrder) -> bool:
    """Whether the store's status in `incoming` is the echo of our own write-back rather than a change made
    in the store: the order's status is still the one our latest status change for it sent (nothing has
    moved it since), and the store reports either the status we set there, or the status it had before our
    change (it has not taken our write yet, or our change set no store status: a Shopify tag, an unmapped
    status). `order` comes from _store_order_locked, which read its latest status change written back."""
    payload = getattr(order, "written_back_payload", None)
    if not isinstance(payload, dict) or payload.get("status") != order.status_id:
        return False
    sent = getattr(order, "written_back_store_status", None) or ""
    if sent and incoming.store_status == sent:
        return True
    previous = payload.get("previous_status")
    return bool(previous) and store.status_for(incoming.store_status) == previous


# --- connecting a store -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoreConnectResult:
    store: Store
    created: bool
    # The secrets this call set (by field name; never their values).
    secrets_set: tuple[str, ...] = ()


@transaction.atomic
def store_connect(
    *,
    platform: str,
    slug: str,
    name: str,
    base_url: str,
    webhook_secret: str | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
    access_token: str | None = None,
) -> StoreConnectResult:
    """Create the store, or update the one with this slug (it becomes active again). A secret left None
    keeps its stored value. Invalid values (an http:// address that is not this machine, an unknown
    platform, a bad slug) are refused with every reason, and nothing is saved (ValidationError)."""
    store = Store.objects.select_for_update().filter(slug=slug).first()
    created = store is None
    if store is None:
        store = Store(slug=slug)
    elif store.platform != platform:
        # Another platform's statuses mean nothing here: start from the new platform's map.
        store.status_map = dict(DEFAULT_STATUS_MAPS.get(platform, {}))
    store.platform = platform
    store.name = name
    store.base_url = base_url
    store.active = True
    secrets = {
        "webhook_secret": webhook_secret,
        "api_key": api_key,
        "api_secret": api_secret,
        "access_token": access_token,
    }
    for field, value in secrets.items():
        if value is not None:
            setattr(store, field, value)
    if created:
        store.status_map = dict(DEFAULT_STATUS_MAPS.get(platform, {}))
    store.full_clean()
    store.save()
    return StoreConnectResult(
        store, created, tuple(field for field, value in secrets.items() if value is not None)
    )


@transaction.atomic
def store_disconnect(*, slug: str) -> Store:
    """Set the store inactive: its webhook address answers 404 and polling skips it; its orders and
    deliveries stay. Raises Store.DoesNotExist for an unknown slug."""
    store = Store.objects.select_for_update().get(slug=slug)
    if store.active:
        store.active = False
        store.save(update_fields=["active"])
    return store
