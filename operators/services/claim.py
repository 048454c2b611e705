"""Claim next: the oldest unassigned order in a claimable status, taken by the clicker."""

from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from operators import log, rules
from operators.models import Assignment
from operators.services._holds import capacity_left, check_logged, holds_insert
from orderops.conf import orderops_setting
from orderops.service_log import service_logged
from orderops.types import Actor
from orders.models import Order
from orders.results import Code

# How often claim next retries when a concurrent claimer committed the same order between its snapshot
# and its insert; each retry sees that commit. Under heavy contention a quarter of attempts can collide, so
# the budget is generous: giving up would tell the operator "nothing to take" while orders wait.
CLAIM_ATTEMPTS = 50
# Candidates per claimable status that claim next considers before skipping locked rows; raised when all of
# them are being claimed by others at that moment.
CLAIM_WINDOWS = (16, 256, 4096, None)


@dataclass(frozen=True)
class ClaimResult:
    outcome: Code
    order: Order | None = None
    message: str = ""


def _claim_candidate(statuses: list[str], window: int | None) -> int | None:
    """The oldest unassigned order in a claimable status that no other transaction has locked, locked."""
    sql, params = claim_candidate_sql(statuses, window)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def claim_candidate_sql(statuses: list[str], window: int | None) -> tuple[str, list]:
    """Claim next's candidate statement for this connection's database, and its parameters."""
    assignment, order = Assignment._meta.db_table, Order._meta.db_table
    if connection.vendor != "postgresql":
        # SQLite runs one writing transaction at a time: the plain oldest free order is ours.
        placeholders = ", ".join(["%s"] * len(statuses))
        sql = (
            f"SELECT o.id FROM {order} o WHERE o.status_id IN ({placeholders})"
            f" AND NOT EXISTS (SELECT 1 FROM {assignment} a WHERE a.order_id = o.id)"
            " ORDER BY o.created_at, o.id LIMIT 1"
        )
        params: list = list(statuses)
    else:
        # For each claimable status, the oldest few free orders through (status, created_at, id); of those,
        # the oldest row that nobody else is claiming right now. SKIP LOCKED: eight operators clicking at
        # once get eight different orders, with no waiting. The status is checked again on the locked row.
        limit = "" if window is None else "LIMIT %s"
        sql = (
            # The candidates, oldest first, are computed once (an init plan) and numbered; the outer query
            # fetches them by primary key and locks the first one it can, in that order. Left to sort by
            # o.created_at itself, the planner may walk every order by created_at and semi-join each to
            # the candidates: a walk past every older order (bench/RESULTS.md has the figures).
            "SELECT o.id FROM unnest(ARRAY("
            "  SELECT candidate.id FROM unnest(%s::varchar[]) AS claimable(code)"
            "  CROSS JOIN LATERAL ("
            f"    SELECT c.id, c.created_at FROM {order} c WHERE c.status_id = claimable.code"
            # A correlated subquery the planner keeps as a per-row index probe of the unique index on
            # order_id (index-only: it reads no column but the key): NOT EXISTS would become a hash
            # anti-join that reads the whole holds table whenever its statistics are stale (a table that
            # churns like this one), many times slower per claim.
            f"    AND (SELECT 1 FROM {assignment} a WHERE a.order_id = c.id) IS NULL"
            f"    ORDER BY c.created_at, c.id {limit}"
            "  ) AS candidate"
            "  ORDER BY candidate.created_at, candidate.id"
            ")) WITH ORDINALITY AS queue(id, position)"
            f" JOIN {order} o ON o.id = queue.id"
            " WHERE o.status_id = ANY(%s::varchar[])"
            " ORDER BY queue.position LIMIT 1"
            " FOR NO KEY UPDATE OF o SKIP LOCKED"
        )
        params = [statuses, *([] if window is None else [window]), statuses]
    return sql, params


@service_logged("order_claim_next")
@transaction.atomic
def order_claim_next(*, actor: Actor) -> ClaimResult:
    """Take the oldest unassigned order whose status is in ORDEROPS["CLAIMABLE_STATUSES"]."""
    refusal = rules.actor_refusal(actor) or rules.holder_refusal(actor)
    if refusal is not None:
        return ClaimResult(Code.NOT_ALLOWED, message=_("No order was taken: %(why)s.") % {"why": refusal})
    capacity = capacity_left(actor)
    if capacity == 0:
        return ClaimResult(
            Code.AT_CAPACITY,
            message=_("No order was taken: you already hold %(cap)s orders, the most allowed.")
            % {"cap": orderops_setting("MAX_HELD_PER_OPERATOR")},
        )
    statuses = list(orderops_setting("CLAIMABLE_STATUSES"))
    windows = CLAIM_WINDOWS if connection.vendor == "postgresql" else (None,)
    for _attempt in range(CLAIM_ATTEMPTS):
        order_id = None
        for window in windows:
            order_id = _claim_candidate(statuses, window)
            if order_id is not None:
                break
        if order_id is None:
            return ClaimResult(Code.NOT_FOUND, message=_("There is no unassigned order to take right now."))
        now = timezone.now()
        if holds_insert(order_ids=[order_id], holder=actor, assigned_by=actor, at=now):
            check_logged(log.log_assigned(order_ids=[order_id], actor=actor, at=now), 1)
            order = Order.objects.select_related("status").get(pk=order_id)
            return ClaimResult(
                Code.DONE, order, _("Order #%(number)s is now yours.") % {"number": order.number}
            )
        # Another claimer committed this order after our snapshot: look again with a fresh one.
    return ClaimResult(Code.NOT_FOUND, message=_("Every free order was being taken at once; try again."))
