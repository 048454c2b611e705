"""Writes of the connected stores: one apply path for every way an order comes in (webhook, poll, file,
replay)."""

from dataclasses import dataclass
from enum import StrEnum

from django.db import transaction

from stores.incoming import IncomingOrder
from stores.models import Store


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
    outcome: Outcome
    order_id: int
    number: str
    fields: tuple[str, ...] = ()


@transaction.atomic
def store_order_apply(*, store: Store, incoming: IncomingOrder, via: str) -> StoreApplyResult:
    """Create or update the store's order from what the store sent, as the store."""
    raise NotImplementedError
