"""What a service reports: one outcome per requested order, and the refusal of a whole request."""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from django.utils.translation import gettext as _

from orderops.conf import orderops_setting
from orderops.types import Actor


class Code(StrEnum):
    """The one vocabulary of outcomes and refusals: every per-order outcome and every refused request carries
    one of these, for machines (the API's problem `code`, tests); the sentence beside it is for people."""

    # Outcomes that are not refusals.
    DONE = "done"
    ALREADY_YOURS = "already_yours"
    UNCHANGED = "unchanged"
    # Refusals of one order, or of a whole request.
    HELD_BY = "held_by"
    NOT_HELD = "not_held"
    NOT_FOUND = "not_found"
    FINAL_STATUS = "final_status"
    NOT_ALLOWED = "not_allowed"
    AT_CAPACITY = "at_capacity"
    INVALID_INPUT = "invalid_input"
    TOO_MANY = "too_many"
    TOO_LONG = "too_long"
    INACTIVE = "inactive"
    NEEDS_REASON = "needs_reason"
    NOT_CONFIGURED = "not_configured"
    STALE = "stale"


# A per-order outcome is one of the codes: the name the services have always used for them.
Outcome = Code


def user_display_name(user: Actor | None) -> str:
    if user is None:
        return _("the system")
    return user.get_full_name() or user.get_username()


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """The outcome for one requested order. `holder` is who holds it when that matters to the outcome."""

    order_id: int
    outcome: Outcome
    number: str | None = None
    holder: Actor | None = None
    detail: str = ""

    @property
    def code(self) -> Code:
        return self.outcome

    @property
    def label(self) -> str:
        return f"#{self.number}" if self.number else _("order id %(id)s") % {"id": self.order_id}

    @property
    def message(self) -> str:
        """One sentence naming the order and what happened to it, for people."""
        holder = user_display_name(self.holder) if self.holder is not None else ""
        texts = {
            Outcome.DONE: _("%(order)s: done"),
            Outcome.ALREADY_YOURS: _("%(order)s is already held by %(holder)s"),
            Outcome.HELD_BY: _("%(order)s is held by %(holder)s"),
            Outcome.NOT_HELD: _("%(order)s is not held by anyone"),
            Outcome.NOT_FOUND: _("%(order)s does not exist"),
            Outcome.FINAL_STATUS: _("%(order)s is %(detail)s: an order in a final status cannot be held"),
            Outcome.NOT_ALLOWED: _("%(order)s: %(detail)s"),
            Outcome.AT_CAPACITY: _("%(order)s was not taken: %(detail)s"),
            Outcome.UNCHANGED: _("%(order)s is already %(detail)s"),
        }
        if self.outcome == Outcome.NOT_HELD and self.detail:
            return _("%(order)s: %(detail)s") % {"order": self.label, "detail": self.detail}
        text = texts.get(self.outcome, _("%(order)s: %(detail)s"))
        return text % {"order": self.label, "holder": holder, "detail": self.detail}


@dataclass
class BulkResult:
    """Every requested order's outcome, in the order they were requested (duplicates removed)."""

    outcomes: list[OrderOutcome] = field(default_factory=list)

    def __iter__(self) -> Iterator[OrderOutcome]:
        return iter(self.outcomes)

    def __len__(self) -> int:
        return len(self.outcomes)

    def of(self, *outcomes: Outcome) -> list[OrderOutcome]:
        return [item for item in self.outcomes if item.outcome in outcomes]

    @property
    def done(self) -> list[OrderOutcome]:
        return self.of(Outcome.DONE)

    @property
    def done_ids(self) -> list[int]:
        return [item.order_id for item in self.done]

    @property
    def not_done(self) -> list[OrderOutcome]:
        return [item for item in self.outcomes if item.outcome != Outcome.DONE]

    def counts(self) -> Counter:
        return Counter(item.outcome for item in self.outcomes)

    def by_order(self) -> dict[int, OrderOutcome]:
        return {item.order_id: item for item in self.outcomes}


class RequestRefused(Exception):
    """The whole request is refused before anything changed: bad input, or the actor may not do this."""

    def __init__(self, message: str, *, code: Code = Code.INVALID_INPUT) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class OrderLocked(RequestRefused):
    """A change to one order is refused by the edit guard."""

    def __init__(self, refusal: OrderOutcome) -> None:
        super().__init__(refusal.message, code=refusal.outcome)
        self.refusal = refusal


# Ids are 64-bit: anything larger is no id (and overflows the database driver).
MAX_ID = 2**63 - 1


def is_order_id(value) -> bool:
    """A positive whole number that fits an id column: 7 or "7", not "7.0", "0x7", True, -1 or 2**70."""
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        value = value.strip()
        if not value.isascii() or not value.isdigit():
            return False
        value = int(value)
    return isinstance(value, int) and 1 <= value <= MAX_ID


def unique_ids(order_ids) -> list[int]:
    """The requested ids as ints, duplicates dropped, request order kept.

    Refuses anything that is not an id, and more orders than ORDEROPS["BULK_MAX_ORDERS"].
    """
    seen: dict[int, None] = {}
    for raw in order_ids:
        if type(raw) is int and 1 <= raw <= MAX_ID:  # the usual case, without is_order_id's call
            seen[raw] = None
            continue
        if not is_order_id(raw):
            raise RequestRefused(
                _("%(value)r is not an order id. Nothing was changed.") % {"value": raw},
                code=Code.INVALID_INPUT,
            )
        seen.setdefault(int(raw), None)
    limit = orderops_setting("BULK_MAX_ORDERS")
    if len(seen) > limit:
        raise RequestRefused(
            _("%(count)s orders were selected; at most %(limit)s can be changed at once.")
            % {"count": len(seen), "limit": limit},
            code=Code.TOO_MANY,
        )
    return list(seen)


def reason_checked(reason: str | None, *, required: bool, refused: str, missing: str = "") -> str:
    """A take-over, transfer or release reason, stripped; refused (naming what was refused) when it is
    missing but required, or longer than ORDEROPS["REASON_MAX_LENGTH"]."""
    text = (reason or "").strip()
    if required and not text:
        raise RequestRefused(
            missing or _("%(refused)s: a reason is needed.") % {"refused": refused}, code=Code.NEEDS_REASON
        )
    limit = orderops_setting("REASON_MAX_LENGTH")
    if len(text) > limit:
        raise RequestRefused(
            _("%(refused)s: the reason can have at most %(limit)s characters; this one has %(length)s.")
            % {"refused": refused, "limit": limit, "length": len(text)},
            code=Code.TOO_LONG,
        )
    return text
