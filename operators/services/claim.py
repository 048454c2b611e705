"""Claim next: the oldest unassigned order in a claimable status, taken by the clicker."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from operators import log, rules
from operators.models import Assignment
from operators.services._holds import capacity_left, check_logged, holds_insert
from orderops.conf import orderops_setting
from orderops.db import db_datetime, id_set_sql
from orderops.service_log import service_logged
from orderops.types import Actor
from orders.models import Order, OrderStatus
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


def _claim_candidate(statuses: list[str], window: int | None, avoid: Collection[int] = ()) -> int | None:
    """The oldest unassigned order in a claimable status that no other transaction has locked, locked."""
    sql, params = claim_candidate_sql(statuses, window, avoid)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _claim_taken(
    statuses: list[str], window: int | None, actor: Actor, at: datetime, avoid: Collection[int] = ()
) -> tuple[int | None, bool]:
    """PostgreSQL: pick the candidate and insert its hold in one statement. Returns (the candidate, whether
    its hold was inserted): no candidate means none in this window; a candidate without a hold means a
    writer that bypassed the order's row lock took it first (the unique constraint refused ours)."""
    candidate, candidate_params = claim_candidate_sql(statuses, window, avoid)
    when = db_datetime(at)
    # The same hold row as _holds.holds_insert writes, from the candidate locked by the same statement.
    sql = (
        f"WITH picked AS ({candidate}), claimed AS ("
        f"  INSERT INTO {Assignment._meta.db_table}"
        "  (order_id, operator_id, assigned_by_id, assigned_at, last_activity_at, order_created_at)"
        "  SELECT id, %s, %s, %s, %s, created_at FROM picked"
        "  ON CONFLICT (order_id) DO NOTHING RETURNING order_id"
        ") SELECT (SELECT id FROM picked), (SELECT order_id FROM claimed)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*candidate_params, actor.pk, actor.pk, when, when])
        picked, claimed = cursor.fetchone()
    return picked, claimed is not None


def _claimed_order(order_id: int) -> Order:
    """The claimed order with its status, in one query (a fraction of the ORM's select_related get)."""
    order_table, status_table = Order._meta.db_table, OrderStatus._meta.db_table
    sql = (
        f"SELECT o.*, s.label AS claimed_status_label, s.position AS claimed_status_position,"
        f" s.releases_assignment AS claimed_status_releases FROM {order_table} o"
        f" JOIN {status_table} s ON s.code = o.status_id WHERE o.id = %s"
    )
    order = next(iter(Order.objects.raw(sql, [order_id])))
    values = [order.status_id, *(order.__dict__.pop(f"claimed_status_{name}") for name in STATUS_EXTRAS)]
    values[-1] = bool(values[-1])  # SQLite returns the flag as 0 or 1
    status = OrderStatus.from_db(
        order._state.db, ["code", "label", "position", "releases_assignment"], values
    )
    Order.status.field.set_cached_value(order, status)
    return order


STATUS_EXTRAS = ("label", "position", "releases")


def claim_candidate_sql(
    statuses: list[str], window: int | None, avoid: Collection[int] = ()
) -> tuple[str, list]:
    """Claim next's candidate statement for this connection's database, and its parameters.

    The free orders are found through order_free_idx, a partial index of the orders whose hold marker
    (Order.held, kept in step with the holds by triggers) is off: a claim reads the front of the queue of
    free orders and never steps over held ones, however many there are. Orders in `avoid` are passed over
    (one parameter, whatever their number: the statement's text does not depend on it).
    """
    order = Order._meta.db_table
    avoiding, avoid_params = ("", []) if not avoid else id_set_sql(avoid)
    if connection.vendor != "postgresql":
        # SQLite runs one writing transaction at a time: the plain oldest free order is ours.
        placeholders = ", ".join(["%s"] * len(statuses))
        sql = (
            f"SELECT o.id FROM {order} o WHERE o.status_id IN ({placeholders}) AND NOT o.held"
            + (f" AND o.id NOT IN ({avoiding})" if avoiding else "")
            + " ORDER BY o.created_at, o.id LIMIT 1"
        )
        params: list = [*statuses, *avoid_params]
    else:
        # For each claimable status, the oldest few free orders (the front of order_free_idx); of those,
        # the oldest row that nobody else is claiming right now. SKIP LOCKED: eight operators clicking at
        # once get eight different orders, with no waiting. The candidates, oldest first, are computed once
        # (an init plan) and numbered; the outer query fetches them by primary key and locks the first one
        # it can, in that order. The status and the marker are checked again on the locked row: a claim
        # committed since this statement's snapshot shows there as held.
        limit = "" if window is None else "LIMIT %s"
        passed_over = f" AND c.id NOT IN ({avoiding})" if avoiding else ""
        sql = (
            "SELECT o.id, o.created_at FROM unnest(ARRAY("
            "  SELECT candidate.id FROM unnest(%s::varchar[]) AS claimable(code)"
            "  CROSS JOIN LATERAL ("
            f"    SELECT c.id, c.created_at FROM {order} c WHERE c.status_id = claimable.code AND NOT c.held"
            f"{passed_over}"
            f"    ORDER BY c.created_at, c.id {limit}"
            "  ) AS candidate"
            "  ORDER BY candidate.created_at, candidate.id"
            ")) WITH ORDINALITY AS queue(id, position)"
            f" JOIN {order} o ON o.id = queue.id"
            " WHERE o.status_id = ANY(%s::varchar[]) AND NOT o.held"
            " ORDER BY queue.position LIMIT 1"
            " FOR NO KEY UPDATE OF o SKIP LOCKED"
        )
        params = [statuses, *avoid_params, *([] if window is None else [window]), statuses]
    return sql, params


@service_logged("order_claim_next")
@transaction.atomic
def order_claim_next(*, actor: Actor, avoid_order_ids: Collection[int] = ()) -> ClaimResult:
    """Take the oldest unassigned order whose status is in ORDEROPS["CLAIMABLE_STATUSES"].

    `avoid_order_ids` (the orders a colleague has open right now, say) are passed over while any other order
    is free; when none is, the oldest of them is taken after all. The exclusion is one parameter of the same
    statements, so a claim costs the same statements whatever their number (one more look when it falls
    back)."""
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
    postgresql = connection.vendor == "postgresql"
    windows = CLAIM_WINDOWS if postgresql else (None,)
    avoid = frozenset(avoid_order_ids)
    for _attempt in range(CLAIM_ATTEMPTS):
        now = timezone.now()
        order_id, taken = None, False
        for passing_over in (avoid, frozenset()) if avoid else (avoid,):
            for window in windows:
                if postgresql:
                    order_id, taken = _claim_taken(statuses, window, actor, now, passing_over)
                else:
                    order_id = _claim_candidate(statuses, window, passing_over)
                    if order_id is not None:
                        taken = bool(
                            holds_insert(order_ids=[order_id], holder=actor, assigned_by=actor, at=now)
                        )
                if order_id is not None:
                    break
            if order_id is not None:
                break
        if order_id is None:
            return ClaimResult(Code.NOT_FOUND, message=_("There is no unassigned order to take right now."))
        if taken:
            check_logged(log.log_assigned(order_ids=[order_id], actor=actor, at=now), 1)
            order = _claimed_order(order_id)
            return ClaimResult(
                Code.DONE, order, _("Order #%(number)s is now yours.") % {"number": order.number}
            )
        # Another writer committed this order's hold without its row lock: look again with a fresh snapshot.
    return ClaimResult(Code.NOT_FOUND, message=_("Every free order was being taken at once; try again."))
