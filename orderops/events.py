"""The domain's events: a hold changed, an order changed, a comment was added.

The single writers send them (operators/log.py for holds, orders.services for edits, status changes and
comments, the import) through `event_send_on_commit`, which hands them to receivers only once the
transaction that made the change has committed: a rolled-back change is seen by nobody. Events carry ids,
the actor's id (None: the system), the action and the time, never model instances, so that a receiver
reads the committed state itself. Receivers connect to `domain_event` and get `event=`.

The same writers also send each event at once, inside the change's transaction, through
`event_send_in_transaction` to `domain_event_in_transaction`: for receivers that write rows belonging to the
change itself (notifications, invariant 11). Their errors propagate and roll the change back with them.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger("orderops")

# Sent after commit with one argument, event: HoldChanged | OrderChanged | CommentAdded.
domain_event = Signal()
# Sent inside the change's transaction, with the same argument; receivers' errors propagate.
domain_event_in_transaction = Signal()


@dataclass(frozen=True, slots=True)
class HoldEntry:
    """One assignment log row just written: its id, its order, whose hold it is (or was: released,
    expired), whose it was before (a take-over or a reassignment), and the order's connected store (None:
    the order came from no store), read by the statement that wrote the row, so that a receiver needs no
    look-up to know that most orders have none."""

    log_id: int
    order_id: int
    operator_id: int
    previous_operator_id: int | None
    store_id: int | None = None


@dataclass(frozen=True, slots=True)
class HoldChanged:
    """The holds of these orders changed: action is the assignment log's (assigned, released, taken_over,
    reassigned, auto_released, expired); `entries` are the log rows written, `reason` theirs."""

    order_ids: tuple[int, ...]
    action: str
    actor_id: int | None
    at: datetime
    entries: tuple[HoldEntry, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class OrderChanged:
    """These orders' fields changed (an edit, a status change, an import); `fields` names them, `source`
    says which writer when no person did it ("import", "store"); `store_name` names the connected store when
    it did. `store_order_ids`: those of the orders that came from a connected store, when the writer read
    them with the orders (None: not known, a receiver that needs them looks)."""

    order_ids: tuple[int, ...]
    fields: tuple[str, ...]
    actor_id: int | None
    at: datetime
    action: str = "changed"
    source: str = ""
    store_name: str = ""
    store_order_ids: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class CommentAdded:
    order_id: int
    comment_id: int
    actor_id: int
    at: datetime
    action: str = "commented"
    body: str = ""


Event = HoldChanged | OrderChanged | CommentAdded


def event_send_in_transaction(event: Event) -> None:
    """Send `event` now, inside the transaction that makes the change, to `domain_event_in_transaction`.
    A failing receiver's error propagates: the change rolls back with whatever the receivers wrote."""
    domain_event_in_transaction.send(sender=type(event), event=event)


def event_send_on_commit(event: Event) -> None:
    """Send `event` once the current transaction commits (at once outside a transaction); never on rollback.
    A failing receiver is logged, not raised: the change it reports has already happened."""

    def send() -> None:
        for receiver, error in domain_event.send_robust(sender=type(event), event=event):
            if isinstance(error, Exception):
                logger.error(
                    "event receiver %r failed on %s",
                    receiver,
                    type(event).__name__,
                    exc_info=(type(error), error, error.__traceback__),
                )

    transaction.on_commit(send)
