"""Writes of the assignment domain: assign, release, take over, transfer, claim next, expire, auto-release.

Every function takes the acting user explicitly, runs in one transaction, writes its log rows in that
transaction (operators/log.py) and reports every requested order's outcome. A service that gives holds locks
the order rows first, in primary-key order (orders.locking), then the holds it changes (_holds.holds_locking);
a release locks only the holds it ends (_holds.holds_end_at_once, and the lock order when it must wait). So
every change to one order's hold is serialized, and a release never waits for an edit of the order. The unique
constraint on Assignment.order stays the last word on who holds what. Who may do what is decided by
operators.rules, the same functions every surface asks.
"""

from operators.services.assign import orders_assign, orders_reassign, orders_take_over, orders_transfer
from operators.services.claim import (
    CLAIM_ATTEMPTS,
    CLAIM_WINDOWS,
    ClaimResult,
    claim_candidate_sql,
    order_claim_next,
)
from operators.services.expiry import holds_auto_release, holds_expire, holds_touch
from operators.services.release import holds_release, orders_release
from operators.services.roles import roles_setup
from operators.services.selection import HoldSelection, holds_release_matching

__all__ = [
    "CLAIM_ATTEMPTS",
    "CLAIM_WINDOWS",
    "ClaimResult",
    "HoldSelection",
    "claim_candidate_sql",
    "holds_auto_release",
    "holds_expire",
    "holds_release",
    "holds_release_matching",
    "holds_touch",
    "order_claim_next",
    "orders_assign",
    "orders_reassign",
    "orders_release",
    "orders_take_over",
    "orders_transfer",
    "roles_setup",
]
