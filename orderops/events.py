"""The domain's events: a hold changed, an order changed, a comment was added.

The single writers send them (operators/log.py for holds, orders.services for edits, status changes and
comments, the import) through `event_send_on_commit`, which hands them to receivers only once the
transaction that made the change has committed: a rolled-back change is seen by nobody. Events carry ids,
the actor's id (None: the system), the action and the time, never model instances, so that a receiver
reads the committed state itself. Receivers connect to `domain_event` and get `event=`.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger("orderops")

# Sent after commit with one argument, event: HoldChanged | OrderChanged | CommentAdded.
domain_event = Signal()


@dataclass(frozen=True, slots=True)
class HoldChanged:
    """The holds of these orders changed: action is the assignment log's (assigned, released, taken_over,
    reassigned, auto_released, expired)."""

    order_ids: tuple[int, ...]
    action: str
    actor_id: int | None
    at: datetime


@dataclass(frozen=True, slots=True)
class OrderChanged:
    """These orders' fields changed (an edit, a status change, an import); `fields` names them."""

    order_ids: tuple[int, ...]
    fields: tuple[str, ...]
    actor_id: int | None
    at: datetime
    action: str = "changed"


@dataclass(frozen=True, slots=True)
class CommentAdded:
    order_id: int
    comment_id: int
    actor_id: int
    at: datetime
    action: str = "commented"


Event = HoldChanged | OrderChanged | CommentAdded


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
