"""Writes of the order domain: status changes, edits and internal comments, all behind the edit guard.

Each write to an order row increments its version and records its field changes (orders/history.py) in the
same transaction, and sends OrderChanged inside it (before any auto-release) and once it commits
(orderops/events.py).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from orderops.conf import orderops_setting
from orderops.db import id_set
from orderops.events import CommentAdded, OrderChanged, event_send_in_transaction, event_send_on_commit
from orderops.service_log import service_logged
from orderops.types import Actor
from orders import history
from orders.guard import GuardedOrder, orders_change_refusals
from orders.locking import guarded, order_locked, orders_locked
from orders.models import Order, OrderChange, OrderComment, OrderLine, OrderStatus, order_search_write
from orders.results import (
    BulkResult,
    Code,
    OrderLocked,
    OrderOutcome,
    RequestRefused,
    unique_ids,
    user_display_name,
)
from orders.search_text import SEARCH_SOURCE_FIELDS, search_text_of
from orders.signals import order_activity, order_status_changed
from orders.validators import currency_normalised


@service_logged("orders_status_set")
@transaction.atomic
def orders_status_set(
    *, actor: Actor | None, order_ids: Iterable[int], status_code: str, reason: str = ""
) -> BulkResult:
    """Set the status of many orders at once, each one guarded; entering a releasing status releases holds.

    `actor` None is the system (commands, imports): the guard lets it change any order, and the log names
    no person.

    Set-based: the history rows in one INSERT ... SELECT, one UPDATE for all allowed orders (each one's
    version + 1), then `order_status_changed` in the same transaction.
    """
    ids = unique_ids(order_ids)
    new_status = OrderStatus.objects.filter(code=status_code).first()
    if new_status is None:
        raise RequestRefused(
            _("There is no order status %(code)r.") % {"code": status_code}, code=Code.INVALID_INPUT
        )
    locked = orders_locked(ids)
    refusals = orders_change_refusals(user=actor, orders=guarded(locked))

    outcomes, changing = [], []
    for pk in ids:
        if pk not in locked:
            outcomes.append(OrderOutcome(pk, Code.NOT_FOUND))
            continue
        number, status_code_now = locked[pk].number, locked[pk].status
        if pk in refusals:
            outcomes.append(refusals[pk])
        elif status_code_now == new_status.code:
            outcomes.append(OrderOutcome(pk, Code.UNCHANGED, number, detail=new_status.label))
        else:
            outcomes.append(OrderOutcome(pk, Code.DONE, number))
            changing.append(pk)

    if changing:
        now = timezone.now()
        history.status_changes_record(order_ids=changing, status_code=new_status.code, actor=actor, at=now)
        # update() sends no signal of its own: this function is the bulk path, and it sends the signal.
        Order.objects.filter(pk__in=id_set(changing)).update(
            status=new_status, updated_at=now, version=F("version") + 1, updated_by=actor
        )
        event = OrderChanged(
            order_ids=tuple(changing),
            fields=("status",),
            actor_id=actor.pk if actor else None,
            at=now,
            store_order_ids=tuple(pk for pk in changing if locked[pk].store_id is not None),
        )
        # Before the auto-release: in-transaction receivers still see who held the orders.
        event_send_in_transaction(event)
        order_status_changed.send(
            sender=Order,
            order_ids=changing,
            old_status_codes={pk: locked[pk].status for pk in changing},
            new_status=new_status,
            actor=actor,
            reason=reason,
        )
        event_send_on_commit(event)
    return BulkResult(outcomes)


# --- one order's edit ---------------------------------------------------------------------------------------

# What the edit service accepts: the order's own fields, by name, and its lines.
EDITABLE = frozenset(history.FIELDS) - {"created_at"}
LINE_FIELDS = ("sku", "name", "qty", "unit_price")
# The store's own data: what it sold, for how much. People correct it only as superusers; the store (imports,
# the API's ingest) sends it.
STORE_OWNED = frozenset(
    {"number", "grand_total", "currency", "shipping_total", "tax_total", "discount_total"}
)


@dataclass(frozen=True)
class LinesChange:
    """Changes to an order's lines: new lines, changed lines by id, deleted line ids (values by field name:
    sku, name, qty, unit_price)."""

    added: Sequence[Mapping[str, Any]] = field(default_factory=list)
    changed: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    deleted: Sequence[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.deleted)

    @classmethod
    def replacing(cls, order_id: int, lines: Sequence[Mapping[str, Any]]) -> "LinesChange":
        """The change that makes `lines` the order's lines: a line with an `id` keeps (and updates) that
        line, one without is new, the order's lines not listed are deleted. Reads the order's lines: the
        edit service calls it under the order's row lock (order_update's `replace_lines`), so that they are
        still the order's when it writes."""
        current = {line.pk: line for line in OrderLine.objects.filter(order_id=order_id)}
        added, changed = [], {}
        for line in lines:
            values = {name: line[name] for name in LINE_FIELDS}
            pk = line.get("id")
            if pk is None:
                added.append(values)
            elif pk not in current or any(
                getattr(current[pk], name) != value for name, value in values.items()
            ):
                changed[pk] = values  # an id the order does not have: order_update refuses it, naming it
        kept = {line["id"] for line in lines if "id" in line}
        return cls(added=added, changed=changed, deleted=sorted(set(current) - kept))


@dataclass(frozen=True)
class ChangeSince:
    """A field that changed after the editor loaded the order: who changed it last, when, and its value then
    and now."""

    field: str
    label: str
    actor: Actor | None
    at: datetime
    loaded_value: str
    current_value: str
    # The connected store that changed it last ("Shopify"), when no person did.
    store_name: str = ""


class OrderStale(RequestRefused):
    """A save made from an older version of the order: refused, nothing saved.

    `changes` lists the fields that now differ from what the editor loaded, each with who changed it last
    and when; `changed_by` and `changed_at` are the latest write's.
    """

    def __init__(
        self,
        *,
        number: str,
        loaded_version: int,
        current_version: int,
        changed_by: Actor | None,
        changed_at: datetime,
        changes: list[ChangeSince],
        changed_by_store: str = "",
    ) -> None:
        labels = ", ".join(change.label for change in changes) or _("nothing you can see")
        who = changed_by_store or user_display_name(changed_by)
        super().__init__(
            _(
                "#%(number)s was changed by %(who)s after you opened it (%(fields)s). Your changes were not "
                "saved: check them and save again."
            )
            % {"number": number, "who": who, "fields": labels},
            code=Code.STALE,
        )
        # The connected store that wrote the latest version ("Shopify"), when no person did.
        self.changed_by_store = changed_by_store
        self.number = number
        self.loaded_version = loaded_version
        self.current_version = current_version
        self.changed_by = changed_by
        self.changed_at = changed_at
        self.changes = changes


def field_label(name: str) -> str:
    if name == history.LINES:
        return _("lines")
    return str(getattr(Order._meta.get_field(name), "verbose_name", name))


def changes_since(order: Order, version: int) -> list[ChangeSince]:
    """The fields whose value now differs from what they were at `version`, from the history rows."""
    rows = list(
        OrderChange.objects.filter(order=order, version__gt=version)
        .select_related("actor", "store")
        .order_by("version", "id")
    )
    first_old: dict[str, str] = {}
    last: dict[str, OrderChange] = {}
    for row in rows:
        first_old.setdefault(row.field, row.old_value)
        last[row.field] = row
    result = []
    for name, row in last.items():
        if first_old[name] != row.new_value:
            store_name = row.store.name if row.store is not None else ""
            result.append(
                ChangeSince(
                    name, field_label(name), row.actor, row.at, first_old[name], row.new_value, store_name
                )
            )
    return result


def _store_of_version(order: Order) -> str:
    """The name of the connected store that wrote the order's current version, or ""."""
    if order.store_id is None:
        return ""
    name = (
        OrderChange.objects.filter(order=order, version=order.version, store__isnull=False)
        .values_list("store__name", flat=True)
        .first()
    )
    return name or ""


def _as_text(name: str, value: Any) -> str:
    """A submitted value as the history writes it (an amount typed as "42.5" is 42.50), or as it was sent
    when it is no value of the field at all (validation then says so)."""
    try:
        field = Order._meta.get_field(name)
        return history.value_text(field.to_python(value) if hasattr(field, "to_python") else value)
    except ValidationError:
        return str(value)


def _invalid(number: str, name: str, error: ValidationError) -> RequestRefused:
    label = field_label(name) if name in EDITABLE else name
    messages = "; ".join(error.messages)
    return RequestRefused(
        _("#%(number)s was not saved: %(field)s: %(error)s")
        % {"number": number, "field": label, "error": messages},
        code=Code.INVALID_INPUT,
    )


def _validated_fields(order: Order, changes: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Apply `changes` to the locked `order` after validating each named field; return what differs."""
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise RequestRefused(
            _("#%(number)s was not saved: %(fields)s cannot be changed here.")
            % {"number": order.number, "fields": ", ".join(unknown)},
            code=Code.INVALID_INPUT,
        )
    before = Order(**{f.attname: getattr(order, f.attname) for f in Order._meta.concrete_fields})
    for name, value in changes.items():
        if name == "status":
            code = value.code if isinstance(value, OrderStatus) else value
            if not OrderStatus.objects.filter(code=code).exists():
                raise RequestRefused(
                    _("#%(number)s was not saved: there is no order status %(code)r.")
                    % {"number": order.number, "code": code},
                    code=Code.INVALID_INPUT,
                )
            order.status_id = code
        else:
            setattr(order, name, value)
    names = [name for name in changes if name != "status"]
    try:
        order.clean_fields(exclude=[f.name for f in Order._meta.fields if f.name not in names])
        if "number" in changes:
            order.validate_unique(exclude=[f.name for f in Order._meta.fields if f.name != "number"])
    except ValidationError as error:
        name = next(iter(error.message_dict), "")
        raise _invalid(order.number if "number" not in changes else before.number, name, error) from None
    return history.field_changes(before, {name: getattr(order, name) for name in changes})


def _line_values(number: str, values: Mapping[str, Any], line: OrderLine) -> OrderLine:
    unknown = sorted(set(values) - set(LINE_FIELDS))
    if unknown:
        raise RequestRefused(
            _("#%(number)s was not saved: a line has no field %(fields)s.")
            % {"number": number, "fields": ", ".join(unknown)},
            code=Code.INVALID_INPUT,
        )
    for name, value in values.items():
        setattr(line, name, value)
    try:
        line.full_clean(exclude=["order"])
    except ValidationError as error:
        raise RequestRefused(
            _("#%(number)s was not saved: line %(sku)s: %(error)s")
            % {"number": number, "sku": line.sku or "?", "error": "; ".join(error.messages)},
            code=Code.INVALID_INPUT,
        ) from None
    return line


def _lines_apply(order: Order, lines: LinesChange) -> tuple[str, str] | None:
    """Validate and write the lines' changes; return (old text, new text) when they differ."""
    current = {line.pk: line for line in OrderLine.objects.filter(order=order).order_by("id")}
    before = history.lines_text((line.sku, line.name, line.qty, line.unit_price) for line in current.values())
    missing = sorted((set(lines.changed) | set(lines.deleted)) - set(current))
    if missing:
        raise RequestRefused(
            _("#%(number)s was not saved: it has no line with id %(ids)s.")
            % {"number": order.number, "ids": ", ".join(str(pk) for pk in missing)},
            code=Code.INVALID_INPUT,
        )
    changed = [_line_values(order.number, values, current[pk]) for pk, values in lines.changed.items()]
    added = [_line_values(order.number, values, OrderLine(order=order)) for values in lines.added]
    if lines.deleted:
        OrderLine.objects.filter(order=order, pk__in=list(lines.deleted)).delete()
    if changed:
        OrderLine.objects.bulk_update(changed, list(LINE_FIELDS))
    if added:
        OrderLine.objects.bulk_create(added)
    after = history.lines_text(
        OrderLine.objects.filter(order=order).order_by("id").values_list("sku", "name", "qty", "unit_price")
    )
    return (before, after) if before != after else None


@service_logged("order_update")
@transaction.atomic
def order_update(
    *,
    actor: Actor,
    order_id: int,
    version: int,
    changes: Mapping[str, Any],
    lines: LinesChange | None = None,
    replace_lines: Sequence[Mapping[str, Any]] | None = None,
) -> Order:
    """Save one person's changes to one order: the one edit path, for every surface.

    Locks the order once, guards once (the holder or a supervisor), refuses a save made from an older
    version than the current one (OrderStale, nothing saved), validates every changed field and line,
    writes them with the next version, records each field's change, and, when the status changed, sends
    `order_status_changed` with the old status read under the lock (auto-release). Returns the order as
    saved. The lines change either as `lines` (what to add, change and delete) or as `replace_lines` (the
    order's lines as they are to be: LinesChange.replacing, read under the lock).
    """
    if "currency" in changes:  # "eur" is EUR, whoever sends it (orders.validators.currency_normalised)
        changes = {**changes, "currency": currency_normalised(changes["currency"])}
    order = order_locked(order_id)
    if order is None:
        raise RequestRefused(_("Order id %(id)s does not exist.") % {"id": order_id}, code=Code.NOT_FOUND)
    refusal = orders_change_refusals(
        user=actor, orders=[GuardedOrder(order.pk, order.number, order.status_id)]
    ).get(order.pk)
    if refusal is not None:
        raise OrderLocked(refusal)
    if version != order.version:
        raise OrderStale(
            number=order.number,
            loaded_version=version,
            current_version=order.version,
            changed_by=order.updated_by,
            changed_at=order.updated_at,
            changes=changes_since(order, version),
            changed_by_store=_store_of_version(order) if order.updated_by_id is None else "",
        )
    store_owned = sorted(
        name
        for name in STORE_OWNED & set(changes)
        if history.field_text(order, name) != _as_text(name, changes[name])
    )
    if store_owned and not actor.is_superuser:
        raise RequestRefused(
            _(
                "#%(number)s was not saved: the store's own data (%(fields)s) can only be corrected by a "
                "superuser."
            )
            % {"number": order.number, "fields": ", ".join(field_label(name) for name in store_owned)},
            code=Code.NOT_ALLOWED,
        )
    old_status = order.status_id
    field_changes = _validated_fields(order, changes)
    if replace_lines is not None:
        lines = LinesChange.replacing(order.pk, replace_lines)
    if lines:
        lines_change = _lines_apply(order, lines)
        if lines_change is not None:
            field_changes[history.LINES] = lines_change
    if not field_changes:
        return order

    now = timezone.now()
    order.version += 1
    order.updated_at = now
    order.updated_by = actor
    written = [name for name in field_changes if name != history.LINES]
    # The search row with the columns it is made of, and only then (orders.models.OrderSearch).
    Order.objects.filter(pk=order.pk).update_searched(
        {order.pk: search_text_of(order)} if set(written) & set(SEARCH_SOURCE_FIELDS) else {},
        **{
            ("status_id" if name == "status" else name): getattr(
                order, "status_id" if name == "status" else name
            )
            for name in written
        },
        version=order.version,
        updated_at=now,
        updated_by=actor,
    )
    history.changes_record(
        order_id=order.pk, version=order.version, actor=actor, at=now, changes=field_changes
    )
    event = OrderChanged(
        order_ids=(order.pk,),
        fields=tuple(field_changes),
        actor_id=actor.pk,
        at=now,
        store_order_ids=(order.pk,) if order.store_id is not None else (),
    )
    # Before the auto-release: in-transaction receivers still see who held the order.
    event_send_in_transaction(event)
    if "status" in field_changes:
        order_status_changed.send(
            sender=Order,
            order_ids=[order.pk],
            old_status_codes={order.pk: old_status},
            new_status=OrderStatus.objects.get(code=order.status_id),
            actor=actor,
            reason="",
        )
    order_activity.send(sender=Order, order_ids=[order.pk], actor=actor)
    event_send_on_commit(event)
    return order


# --- comments ---------------------------------------------------------------------------------------------


@service_logged("order_comment_add")
@transaction.atomic
def order_comment_add(*, actor: Actor, order_id: int, body: str) -> OrderComment:
    """Add an internal comment. Anyone who may view orders may comment on any order, held or not."""
    order = Order.objects.filter(pk=order_id).only("pk", "number").first()
    if order is None:
        raise RequestRefused(_("Order id %(id)s does not exist.") % {"id": order_id}, code=Code.NOT_FOUND)
    if not actor.is_active:
        raise RequestRefused(
            _("#%(number)s: you may not view this order: the account %(user)s is inactive.")
            % {"number": order.number, "user": actor.get_username()},
            code=Code.INACTIVE,
        )
    if not actor.has_perm("orders.view_order"):
        raise RequestRefused(
            _("#%(number)s: you may not view this order.") % {"number": order.number}, code=Code.NOT_ALLOWED
        )
    text = (body or "").strip()
    if not text:
        raise RequestRefused(
            _("#%(number)s: a comment cannot be empty.") % {"number": order.number}, code=Code.INVALID_INPUT
        )
    limit = orderops_setting("COMMENT_MAX_LENGTH")
    if len(text) > limit:
        raise RequestRefused(
            _("#%(number)s: a comment can have at most %(limit)s characters; this one has %(length)s.")
            % {"number": order.number, "limit": limit, "length": len(text)},
            code=Code.TOO_LONG,
        )
    comment = OrderComment.objects.create(order=order, author=actor, body=text)
    order_activity.send(sender=OrderComment, order_ids=[order.pk], actor=actor)
    event = CommentAdded(
        order_id=order.pk, comment_id=comment.pk, actor_id=actor.pk, at=comment.created_at, body=text
    )
    event_send_in_transaction(event)
    event_send_on_commit(event)
    return comment


# --- the store's copy ---------------------------------------------------------------------------------------

# What a connected store sends and the order keeps as the store's truth (stores.services.store_order_apply).
STORE_FIELDS = (*(name for name in history.FIELDS if name != "status"), "external_id", "store_updated_at")
STORE_LINE_FIELDS = ("sku", "name", "qty", "unit_price", "line_total")


@dataclass(frozen=True, slots=True)
class StoreWriter:
    """A connected store writing its orders: its id, and its name as the history and notifications say it
    ("Shopify changed status: Pending → Cancelled")."""

    store_id: int
    name: str


@dataclass(frozen=True, slots=True)
class StoreWrite:
    """What a store's write did: the order as written, whether it is new, and the fields that changed."""

    order: Order
    created: bool
    fields: tuple[str, ...]


def _store_invalid(number: str, store: StoreWriter, error: ValidationError) -> RequestRefused:
    problems = "; ".join(
        f"{field_label(name) if name in history.FIELDS else name}: {' '.join(messages)}"
        for name, messages in error.message_dict.items()
    )
    return RequestRefused(
        _("%(store)s order #%(number)s was not saved: %(problems)s")
        % {"store": store.name, "number": number, "problems": problems},
        code=Code.INVALID_INPUT,
    )


def _store_lines(order: Order, store: StoreWriter, lines: Sequence[Mapping[str, Any]]) -> list[OrderLine]:
    built = []
    for values in lines:
        line = OrderLine(order=order, **{name: values[name] for name in STORE_LINE_FIELDS if name in values})
        try:
            # Stores sell lines without a SKU (WooCommerce's simple products often have none).
            line.full_clean(exclude=["order", "sku"] if line.sku == "" else ["order"])
        except ValidationError as error:
            raise RequestRefused(
                _("%(store)s order #%(number)s was not saved: line %(sku)s: %(error)s")
                % {
                    "store": store.name,
                    "number": order.number,
                    "sku": line.sku or line.name or "?",
                    "error": "; ".join(error.messages),
                },
                code=Code.INVALID_INPUT,
            ) from None
        built.append(line)
    return built


def _store_unchecked(order: Order) -> list[str]:
    """The fields a store's order is not validated on: the ones it does not send, and a customer's name it
    sends empty (Shopify's draft orders often have no customer)."""
    return ["status", "store", "updated_by", *(["customer_name"] if order.customer_name == "" else [])]


@dataclass(slots=True)
class _StoreUpdatePlan:
    """What a store's copy changes in one order (order_store_write, orders_store_update): the fields'
    changes as the history records them, the lines that replace the order's (None: they stay), whether only
    the store's time moved, the status before."""

    field_changes: dict[str, tuple[str, str]]
    new_lines: list[OrderLine] | None
    store_time_moved: bool
    old_status: str


def _store_update_plan(
    order: Order,
    store: StoreWriter,
    values: Mapping[str, Any],
    status: OrderStatus,
    current_lines: list[OrderLine] | None,
    lines: Sequence[Mapping[str, Any]] | None,
) -> _StoreUpdatePlan:
    """Set the store's copy on `order` (in memory) and say what changed; RequestRefused (the order left as
    it was read) when a value is one the order cannot hold."""
    before = Order(**{f.attname: getattr(order, f.attname) for f in Order._meta.concrete_fields})
    old_status = order.status_id
    for name, value in values.items():
        setattr(order, name, value)
    order.status_id = status.code
    try:
        order.clean_fields(exclude=_store_unchecked(order))
    except ValidationError as error:
        for f in Order._meta.concrete_fields:
            setattr(order, f.attname, getattr(before, f.attname))
        raise _store_invalid(before.number, store, error) from None
    recorded = {name: getattr(order, name) for name in values if name in history.FIELDS}
    field_changes = history.field_changes(before, {**recorded, "status": status})
    replacing = None
    if lines is not None and current_lines is not None:
        try:
            new_lines = _store_lines(order, store, lines)
        except RequestRefused:
            for f in Order._meta.concrete_fields:
                setattr(order, f.attname, getattr(before, f.attname))
            raise
        old_text = history.lines_text(
            (line.sku, line.name, line.qty, line.unit_price) for line in current_lines
        )
        new_text = history.lines_text((line.sku, line.name, line.qty, line.unit_price) for line in new_lines)
        same_totals = [line.line_total for line in current_lines] == [line.line_total for line in new_lines]
        if old_text != new_text or not same_totals:
            replacing = new_lines
            if old_text != new_text:
                field_changes[history.LINES] = (old_text, new_text)
    return _StoreUpdatePlan(
        field_changes, replacing, before.store_updated_at != order.store_updated_at, old_status
    )


@transaction.atomic(savepoint=False)
def order_store_write(
    *,
    store: StoreWriter,
    order: Order | None,
    values: Mapping[str, Any],
    status_code: str,
    lines: Sequence[Mapping[str, Any]] | None,
) -> StoreWrite:
    """Write a connected store's copy of one order, as the store: create it (`order` None) or update `order`,
    which the caller has locked (orders.locking.order_locked) in this transaction.

    The store's copy is the truth for what it sends, so the edit guard is not asked: a held order is changed
    too, its hold stays, and its holder is notified (OrderChanged, inside the transaction). An update
    increments the version (a form loaded before is then refused as stale), records each changed field with
    the store as the actor, replaces the lines when they differ, and sends `order_status_changed` with the
    store, so that a final status ends the hold (auto_released, by the store). `values` are Order fields by
    name (STORE_FIELDS); lines are mappings of STORE_LINE_FIELDS (None keeps the order's lines: a deletion
    names none). A value the order cannot hold (an invalid email, a negative amount) refuses the whole write
    with a message naming the order.
    """
    unknown = sorted(set(values) - set(STORE_FIELDS))
    if unknown:
        raise RequestRefused(
            f"order_store_write: unknown fields {', '.join(unknown)}", code=Code.INVALID_INPUT
        )
    if "currency" in values:
        values = {**values, "currency": currency_normalised(values["currency"])}
    status = OrderStatus.objects.filter(code=status_code).first()
    number = str(values.get("number", ""))
    if status is None:
        raise RequestRefused(
            _("%(store)s order #%(number)s was not saved: there is no order status %(code)r.")
            % {"store": store.name, "number": number, "code": status_code},
            code=Code.INVALID_INPUT,
        )
    now = timezone.now()
    if order is None:
        order = Order(store_id=store.store_id, status=status, **values)
        try:
            order.clean_fields(exclude=_store_unchecked(order))
        except ValidationError as error:
            raise _store_invalid(number, store, error) from None
        order.save()
        OrderLine.objects.bulk_create(_store_lines(order, store, lines or ()))
        written = tuple(name for name in values if name != "store_updated_at")
        event = OrderChanged(
            order_ids=(order.pk,),
            fields=(*written, "status"),
            actor_id=None,
            at=now,
            source="store",
            store_name=store.name,
        )
        # Not in the transaction: a new order has no holder to notify.
        event_send_on_commit(event)
        return StoreWrite(order, True, ())

    current_lines = list(OrderLine.objects.filter(order=order).order_by("id")) if lines is not None else None
    plan = _store_update_plan(order, store, values, status, current_lines, lines)
    field_changes, old_status = plan.field_changes, plan.old_status
    if plan.new_lines is not None:
        OrderLine.objects.filter(order=order).delete()
        OrderLine.objects.bulk_create(plan.new_lines)
    if not field_changes:
        if plan.store_time_moved:
            # The store touched the order without changing anything we keep: remember how far we are,
            # without a new version (nothing a person sees changed).
            Order.objects.filter(pk=order.pk).update(store_updated_at=order.store_updated_at)
        return StoreWrite(order, False, ())

    order.version += 1
    order.updated_at = now
    order.updated_by = None
    # The search row with the columns it is made of, when one of them changed (the manager would re-read
    # the row and write it otherwise).
    Order.objects.filter(pk=order.pk).update_searched(
        {order.pk: search_text_of(order)} if set(field_changes) & set(SEARCH_SOURCE_FIELDS) else {},
        **{name: getattr(order, name) for name in values},
        status_id=order.status_id,
        version=order.version,
        updated_at=now,
        updated_by=None,
    )
    history.changes_record(
        order_id=order.pk,
        version=order.version,
        actor=None,
        store_id=store.store_id,
        at=now,
        changes=field_changes,
    )
    event = OrderChanged(
        order_ids=(order.pk,),
        fields=tuple(field_changes),
        actor_id=None,
        at=now,
        source="store",
        store_name=store.name,
    )
    # Before the auto-release: in-transaction receivers (the holder's notification) still see the hold.
    event_send_in_transaction(event)
    if "status" in field_changes:
        order_status_changed.send(
            sender=Order,
            order_ids=[order.pk],
            old_status_codes={order.pk: old_status},
            new_status=status,
            actor=None,
            reason="",
            store_id=store.store_id,
        )
    event_send_on_commit(event)
    return StoreWrite(order, False, tuple(field_changes))


@dataclass(frozen=True, slots=True)
class StoreNewOrder:
    """One new order of a connected store, as order_store_write takes it: its fields, status and lines."""

    values: Mapping[str, Any]
    status_code: str
    lines: Sequence[Mapping[str, Any]]


@transaction.atomic(savepoint=False)
def orders_store_create(
    *, store: StoreWriter, orders: Sequence[StoreNewOrder]
) -> list[StoreWrite | RequestRefused]:
    """Create many new orders of a connected store at once (a poll's page), each exactly as
    order_store_write creates one: validated the same way (a refusal names the order, and that order alone
    is not written), version 1, no history row, its lines with their totals, and OrderChanged from the store
    once the transaction commits (one event naming them all, as an import sends).

    Set-based: the statuses read once, the orders in one INSERT, their lines in one INSERT. The caller has
    made sure none of them exists yet; a unique index that says otherwise (another connection created one
    meanwhile, a number the store already has) raises IntegrityError and writes nothing (the caller's
    savepoint), and the caller then applies them one by one. Returns, in the order given, each order's
    StoreWrite or the RequestRefused that kept it out.
    """
    for new in orders:
        unknown = sorted(set(new.values) - set(STORE_FIELDS))
        if unknown:
            raise RequestRefused(
                f"orders_store_create: unknown fields {', '.join(unknown)}", code=Code.INVALID_INPUT
            )
    codes = {new.status_code for new in orders}
    statuses = {status.code: status for status in OrderStatus.objects.filter(code__in=codes)}
    results: list[StoreWrite | RequestRefused] = []
    built: list[tuple[StoreNewOrder, Order, list[OrderLine]]] = []
    for new in orders:
        number = str(new.values.get("number", ""))
        status = statuses.get(new.status_code)
        if status is None:
            results.append(
                RequestRefused(
                    _("%(store)s order #%(number)s was not saved: there is no order status %(code)r.")
                    % {"store": store.name, "number": number, "code": new.status_code},
                    code=Code.INVALID_INPUT,
                )
            )
            continue
        order = Order(store_id=store.store_id, status=status, **new.values)
        try:
            order.clean_fields(exclude=_store_unchecked(order))
            lines = _store_lines(order, store, new.lines)
        except ValidationError as error:
            results.append(_store_invalid(number, store, error))
            continue
        except RequestRefused as refusal:
            results.append(refusal)
            continue
        built.append((new, order, lines))
        results.append(StoreWrite(order, True, ()))
    if not built:
        return results
    Order.objects.bulk_create([order for _new, order, _lines in built])
    for _new, order, lines in built:
        for line in lines:
            line.order_id = order.pk
    OrderLine.objects.bulk_create([line for _new, _order, lines in built for line in lines])
    written = tuple(
        dict.fromkeys(name for new, _o, _l in built for name in new.values if name != "store_updated_at")
    )
    event = OrderChanged(
        order_ids=tuple(order.pk for _new, order, _lines in built),
        fields=(*written, "status"),
        actor_id=None,
        at=timezone.now(),
        source="store",
        store_name=store.name,
    )
    # Not in the transaction: a new order has no holder to notify.
    event_send_on_commit(event)
    return results


# Rows of one UPDATE ... FROM VALUES (a page of a poll fits in one; SQLite's limit on parameters is far off).
ROWS_UPDATE_CHUNK = 250


def _orders_rows_update(orders: Sequence[Order], names: Sequence[str]) -> None:
    """Write the columns `names` of these orders, each row its own values, in one UPDATE ... FROM a VALUES
    list (a chunk of ROWS_UPDATE_CHUNK rows). Django's bulk_update writes a CASE over every row for every
    column, which costs more to build than the write itself. PostgreSQL reads the VALUES untyped (text):
    each column is cast to its own type; SQLite (3.33 and later) takes them as they come."""
    fields = [field for field in Order._meta.concrete_fields if field.name in names]
    assert len(fields) == len(names), f"not columns of an order: {sorted(names)}"
    quote = connection.ops.quote_name
    table, pk = quote(Order._meta.db_table), quote("id")
    columns = [quote(field.column or field.name) for field in fields]
    if connection.vendor == "postgresql":
        values = [
            f"CAST(v.{column} AS {field.db_type(connection)})"
            for field, column in zip(fields, columns, strict=True)
        ]
    else:
        values = [f"v.{column}" for column in columns]
    assignments = ", ".join(f"{column} = {value}" for column, value in zip(columns, values, strict=True))
    row = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
    for start in range(0, len(orders), ROWS_UPDATE_CHUNK):
        chunk = orders[start : start + ROWS_UPDATE_CHUNK]
        params: list[Any] = []
        for order in chunk:
            params.append(order.pk)
            params.extend(
                field.get_db_prep_save(getattr(order, field.attname), connection) for field in fields
            )
        sql = (
            f"WITH v({pk}, {', '.join(columns)}) AS (VALUES {', '.join([row] * len(chunk))})"
            f" UPDATE {table} SET {assignments} FROM v WHERE {table}.{pk} = v.{pk}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


@dataclass(frozen=True, slots=True)
class StoreOrderUpdate:
    """One known order of a connected store and its store's copy, as order_store_write takes them: the order
    (locked by the caller in this transaction), its fields, status and lines (None keeps the lines)."""

    order: Order
    values: Mapping[str, Any]
    status_code: str
    lines: Sequence[Mapping[str, Any]] | None


@transaction.atomic(savepoint=False)
def orders_store_update(
    *, store: StoreWriter, updates: Sequence[StoreOrderUpdate]
) -> list[StoreWrite | RequestRefused]:
    """Write a connected store's copies of many known orders at once (a poll's page of orders we hold), each
    exactly as order_store_write writes one: the same checks (a refusal names the order, and that order alone
    is not written), a new version and the history rows only where something a person sees changed, the
    lines replaced where they differ, the store's time moved alone where only it moved, the holders
    notified, and a new status through `order_status_changed` (a final one ends the hold, by the store).

    Set-based: the statuses in one query, the orders' lines in one, then one UPDATE of the changed orders,
    one of the orders whose store time alone moved, one DELETE and one INSERT of the replaced lines, one
    INSERT of the history; one OrderChanged per set of changed fields (its receivers are set-based), one
    status signal per new status. Returns, in the order given, each order's StoreWrite or the
    RequestRefused that kept it out.
    """
    for update in updates:
        unknown = sorted(set(update.values) - set(STORE_FIELDS))
        if unknown:
            raise RequestRefused(
                f"orders_store_update: unknown fields {', '.join(unknown)}", code=Code.INVALID_INPUT
            )
    codes = {update.status_code for update in updates}
    statuses = {status.code: status for status in OrderStatus.objects.filter(code__in=codes)}
    with_lines = [update.order.pk for update in updates if update.lines is not None]
    current: dict[int, list[OrderLine]] = {pk: [] for pk in with_lines}
    if with_lines:
        for line in OrderLine.objects.filter(order_id__in=id_set(with_lines)).order_by("order_id", "id"):
            current[line.order_id].append(line)
    now = timezone.now()
    results: list[StoreWrite | RequestRefused] = []
    changed: list[tuple[Order, _StoreUpdatePlan, OrderStatus]] = []
    time_moved: list[Order] = []
    replaced_lines: list[tuple[Order, list[OrderLine]]] = []
    written_fields: set[str] = set()
    for update in updates:
        order, values = update.order, update.values
        if "currency" in values:
            values = {**values, "currency": currency_normalised(values["currency"])}
        status = statuses.get(update.status_code)
        if status is None:
            results.append(
                RequestRefused(
                    _("%(store)s order #%(number)s was not saved: there is no order status %(code)r.")
                    % {"store": store.name, "number": values.get("number", ""), "code": update.status_code},
                    code=Code.INVALID_INPUT,
                )
            )
            continue
        try:
            plan = _store_update_plan(
                order,
                store,
                values,
                status,
                current.get(order.pk) if update.lines is not None else None,
                update.lines,
            )
        except RequestRefused as refusal:
            results.append(refusal)
            continue
        if plan.new_lines is not None:
            replaced_lines.append((order, plan.new_lines))
        if plan.field_changes:
            order.version += 1
            order.updated_at = now
            order.updated_by = None
            changed.append((order, plan, status))
            written_fields.update(values)
            results.append(StoreWrite(order, False, tuple(plan.field_changes)))
        else:
            if plan.store_time_moved:
                time_moved.append(order)
            results.append(StoreWrite(order, False, ()))
    if replaced_lines:
        OrderLine.objects.filter(order_id__in=id_set([order.pk for order, _lines in replaced_lines])).delete()
        OrderLine.objects.bulk_create([line for _order, lines in replaced_lines for line in lines])
    if time_moved:
        _orders_rows_update(time_moved, ["store_updated_at"])
    if not changed:
        return results
    # One UPDATE of every changed order, of the columns any of them changed: each row its own values.
    names = {
        name for _order, plan, _status in changed for name in plan.field_changes if name != history.LINES
    }
    _orders_rows_update(
        [order for order, _plan, _status in changed],
        sorted({*names, "store_updated_at", "version", "updated_at", "updated_by"}),
    )
    # The search rows of the orders whose searched columns changed, in one statement.
    order_search_write(
        {
            order.pk: search_text_of(order)
            for order, plan, _status in changed
            if set(plan.field_changes) & set(SEARCH_SOURCE_FIELDS)
        }
    )
    history.changes_record_many(
        changes=[
            history.OrderFieldChange(order.pk, order.version, name, old, new)
            for order, plan, _status in changed
            for name, (old, new) in plan.field_changes.items()
        ],
        actor=None,
        at=now,
        store_id=store.store_id,
    )
    by_fields: dict[tuple[str, ...], list[int]] = {}
    for order, plan, _status in changed:
        by_fields.setdefault(tuple(plan.field_changes), []).append(order.pk)
    events = [
        OrderChanged(
            order_ids=tuple(ids),
            fields=fields,
            actor_id=None,
            at=now,
            source="store",
            store_name=store.name,
        )
        for fields, ids in by_fields.items()
    ]
    # Before the auto-release: in-transaction receivers (the holders' notifications) still see the holds.
    for event in events:
        event_send_in_transaction(event)
    by_status: dict[str, list[tuple[Order, _StoreUpdatePlan, OrderStatus]]] = {}
    for entry in changed:
        if "status" in entry[1].field_changes:
            by_status.setdefault(entry[2].code, []).append(entry)
    for entries in by_status.values():
        order_status_changed.send(
            sender=Order,
            order_ids=[order.pk for order, _plan, _status in entries],
            old_status_codes={order.pk: plan.old_status for order, plan, _status in entries},
            new_status=entries[0][2],
            actor=None,
            reason="",
            store_id=store.store_id,
        )
    for event in events:
        event_send_on_commit(event)
    return results
