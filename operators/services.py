"""Writes of the assignment domain: assign, release, take over, reassign, claim next, expire, auto-release.

Every function takes the acting user explicitly, runs in one transaction, writes its log rows in that
transaction (operators/log.py) and reports every requested order's outcome. Order rows are locked first, in
primary-key order (orders.selectors.orders_locked), so that every change to one order's hold is serialized;
the unique constraint on Assignment.order stays the last word on who holds what.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from operators import log, rules
from operators.models import Assignment
from operators.roles import ROLE_PERMISSIONS
from operators.selectors import held_count, holds_of, users_by_id
from orderops.conf import orderops_setting
from orderops.db import db_datetime, id_set, id_set_sql
from orders.models import Order, OrderStatus
from orders.results import BulkResult, OrderOutcome, Outcome, RequestRefused, unique_ids, user_display_name
from orders.selectors import final_status_labels, orders_locked

# How often claim next retries when a concurrent claimer committed the same order between its snapshot
# and its insert; each retry sees that commit. Under heavy contention a quarter of attempts can collide, so
# the budget is generous: giving up would tell the operator "nothing to take" while orders wait.
CLAIM_ATTEMPTS = 50
# Candidates per claimable status that claim next considers before skipping locked rows; raised when all of
# them are being claimed by others at that moment.
CLAIM_WINDOWS = (16, 256, 4096, None)


def _capacity_left(holder: AbstractBaseUser) -> int | None:
    """How many more orders `holder` may take under MAX_HELD_PER_OPERATOR (None: no cap).

    Locks the holder's user row until the transaction ends, so that concurrent assigns to one operator
    count one after the other and the cap holds under concurrency.
    """
    cap = orderops_setting("MAX_HELD_PER_OPERATOR")
    if cap is None:
        return None
    list(get_user_model().objects.filter(pk=holder.pk).select_for_update(no_key=True).values_list("pk"))
    return max(cap - held_count(holder), 0)


def _at_capacity(pk: int, number: str, holder: AbstractBaseUser) -> OrderOutcome:
    cap = orderops_setting("MAX_HELD_PER_OPERATOR")
    return OrderOutcome(
        pk,
        Outcome.AT_CAPACITY,
        number,
        holder=holder,
        detail=_("%(holder)s already holds %(cap)s orders, the most allowed")
        % {"holder": user_display_name(holder), "cap": cap},
    )


def _holds_insert(
    *, order_ids: list[int], holder: AbstractBaseUser, assigned_by: AbstractBaseUser, at: datetime
) -> set[int]:
    """Insert holds; the unique constraint refuses orders someone else holds. Returns the ids inserted."""
    if not order_ids:
        return set()
    ids_sql, ids_params = id_set_sql(order_ids)
    when = db_datetime(at)
    sql = (
        f"INSERT INTO {Assignment._meta.db_table}"
        " (order_id, operator_id, assigned_by_id, assigned_at, last_activity_at, order_created_at)"
        f" SELECT id, %s, %s, %s, %s, created_at FROM {Order._meta.db_table} WHERE id IN ({ids_sql})"
        " ON CONFLICT (order_id) DO NOTHING RETURNING order_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [holder.pk, assigned_by.pk, when, when, *ids_params])
        return {row[0] for row in cursor.fetchall()}


def _holds_delete(order_ids: list[int]) -> int:
    if not order_ids:
        return 0
    deleted, _by_model = Assignment.objects.filter(order_id__in=id_set(order_ids)).delete()
    return deleted


def _check_logged(written: int, changed: int) -> None:
    # Invariant 2: exactly one log row per change, in the same transaction. A mismatch rolls it all back.
    if written != changed:
        raise RuntimeError(f"assignment log out of step: {written} log rows for {changed} changes")


def _assign_free(
    *,
    order_ids: list[int],
    holder: AbstractBaseUser,
    actor: AbstractBaseUser,
    numbers: dict[int, str],
    at: datetime,
    reason: str,
) -> dict[int, OrderOutcome]:
    """Insert and log holds on orders believed free; any that someone holds after all report the holder."""
    inserted = _holds_insert(order_ids=order_ids, holder=holder, assigned_by=actor, at=at)
    _check_logged(log.log_assigned(order_ids=inserted, actor=actor, at=at, reason=reason), len(inserted))
    outcomes = {pk: OrderOutcome(pk, Outcome.DONE, numbers[pk]) for pk in inserted}
    lost = [pk for pk in order_ids if pk not in inserted]
    if lost:
        # Only a writer that bypassed the order lock can get here; report who won.
        holds = holds_of(lost)
        holders = users_by_id(hold.operator_id for hold in holds.values())
        for pk in lost:
            holder_now = holders.get(holds[pk].operator_id) if pk in holds else None
            outcomes[pk] = OrderOutcome(pk, Outcome.HELD_BY, numbers[pk], holder=holder_now)
    return outcomes


@transaction.atomic
def orders_assign(
    *,
    actor: AbstractBaseUser,
    order_ids: Iterable[int],
    operator: AbstractBaseUser | None = None,
    reason: str = "",
) -> BulkResult:
    """Assign orders to the actor, or to another operator (needs assign_others).

    Outcomes: done, already yours (held by the new holder), held by someone else, final status, not found,
    at capacity. A bounded number of statements, whatever the number of orders.
    """
    ids = unique_ids(order_ids)
    holder = operator or actor
    refusal = rules.actor_refusal(actor)
    if refusal is None and holder.pk != actor.pk and not rules.may_assign_others(actor):
        refusal = _("%(user)s may not assign orders to other operators") % {"user": actor.get_username()}
    if refusal is None:
        refusal = rules.holder_refusal(holder)
    if refusal is not None:
        raise RequestRefused(_("Nothing was assigned: %(why)s.") % {"why": refusal})

    capacity = _capacity_left(holder)
    locked = orders_locked(ids)
    holds = holds_of(locked)
    holders = users_by_id(hold.operator_id for hold in holds.values())
    holders[holder.pk] = holder
    finals = final_status_labels()
    numbers = {pk: number for pk, (number, _status) in locked.items()}

    outcomes: dict[int, OrderOutcome] = {}
    free: list[int] = []
    for pk in ids:
        if pk not in locked:
            outcomes[pk] = OrderOutcome(pk, Outcome.NOT_FOUND)
        elif pk in holds:
            held_by = holders[holds[pk].operator_id]
            same = held_by.pk == holder.pk
            outcomes[pk] = OrderOutcome(
                pk, Outcome.ALREADY_YOURS if same else Outcome.HELD_BY, numbers[pk], held_by
            )
        elif locked[pk][1] in finals:
            outcomes[pk] = OrderOutcome(pk, Outcome.FINAL_STATUS, numbers[pk], detail=finals[locked[pk][1]])
        elif capacity is not None and len(free) >= capacity:
            outcomes[pk] = _at_capacity(pk, numbers[pk], holder)
        else:
            free.append(pk)
    outcomes.update(
        _assign_free(
            order_ids=free, holder=holder, actor=actor, numbers=numbers, at=timezone.now(), reason=reason
        )
    )
    return BulkResult([outcomes[pk] for pk in ids])


@transaction.atomic
def orders_release(*, actor: AbstractBaseUser, order_ids: Iterable[int], reason: str = "") -> BulkResult:
    """Release holds. Allowed to the holder, to whoever assigned the hold, and to supervisors.

    Outcomes: done, not held, not allowed (naming the holder), not found. Set-based.
    """
    ids = unique_ids(order_ids)
    if not actor.is_active:
        raise RequestRefused(_("Nothing was released: the account %(user)s is inactive.") % {"user": actor})
    locked = orders_locked(ids)
    holds = holds_of(locked)
    holders = users_by_id(hold.operator_id for hold in holds.values())

    outcomes: dict[int, OrderOutcome] = {}
    releasing: list[int] = []
    for pk in ids:
        if pk not in locked:
            outcomes[pk] = OrderOutcome(pk, Outcome.NOT_FOUND)
            continue
        number = locked[pk][0]
        hold = holds.get(pk)
        if hold is None:
            outcomes[pk] = OrderOutcome(pk, Outcome.NOT_HELD, number)
        elif rules.may_release(actor, holder_id=hold.operator_id, assigned_by_id=hold.assigned_by_id):
            outcomes[pk] = OrderOutcome(pk, Outcome.DONE, number, holder=holders[hold.operator_id])
            releasing.append(pk)
        else:
            holder = holders[hold.operator_id]
            outcomes[pk] = OrderOutcome(
                pk,
                Outcome.NOT_ALLOWED,
                number,
                holder=holder,
                detail=_(
                    "held by %(holder)s; only the holder, whoever assigned it, or a supervisor may release it"
                )
                % {"holder": user_display_name(holder)},
            )
    now = timezone.now()
    _check_logged(log.log_released(order_ids=releasing, actor=actor, at=now, reason=reason), len(releasing))
    _check_logged(_holds_delete(releasing), len(releasing))
    return BulkResult([outcomes[pk] for pk in ids])


@transaction.atomic
def holds_release(
    *, order_ids: Iterable[int], reason: str, actor: AbstractBaseUser | None = None
) -> BulkResult:
    """Release holds on behalf of the system (management commands, incident clean-up): no permission check,
    logged as released with `actor` (None: the system) and the reason. Outcomes: done (with the holder whose
    hold ended), not held, not found. Set-based."""
    ids = unique_ids(order_ids)
    locked = orders_locked(ids)
    holds = holds_of(locked)
    holders = users_by_id(hold.operator_id for hold in holds.values())
    outcomes: dict[int, OrderOutcome] = {}
    for pk in ids:
        if pk not in locked:
            outcomes[pk] = OrderOutcome(pk, Outcome.NOT_FOUND)
        elif pk not in holds:
            outcomes[pk] = OrderOutcome(pk, Outcome.NOT_HELD, locked[pk][0])
        else:
            outcomes[pk] = OrderOutcome(
                pk, Outcome.DONE, locked[pk][0], holder=holders[holds[pk].operator_id]
            )
    releasing = [pk for pk in ids if outcomes[pk].outcome == Outcome.DONE]
    now = timezone.now()
    _check_logged(log.log_released(order_ids=releasing, actor=actor, at=now, reason=reason), len(releasing))
    _check_logged(_holds_delete(releasing), len(releasing))
    return BulkResult([outcomes[pk] for pk in ids])


def _move(
    *,
    actor: AbstractBaseUser,
    ids: list[int],
    new_holder: AbstractBaseUser,
    reason: str,
    taking_over: bool,
) -> BulkResult:
    """Give holds to `new_holder` in one UPDATE per batch: held orders move (no moment when they are free),
    free orders are assigned. Shared by take over (new holder = actor) and reassign."""
    capacity = _capacity_left(new_holder)
    locked = orders_locked(ids)
    holds = holds_of(locked)
    holders = users_by_id(hold.operator_id for hold in holds.values())
    finals = final_status_labels()
    numbers = {pk: number for pk, (number, _status) in locked.items()}

    outcomes: dict[int, OrderOutcome] = {}
    moving: list[int] = []
    free: list[int] = []
    for pk in ids:
        hold = holds.get(pk)
        if pk not in locked:
            outcomes[pk] = OrderOutcome(pk, Outcome.NOT_FOUND)
        elif locked[pk][1] in finals:
            outcomes[pk] = OrderOutcome(pk, Outcome.FINAL_STATUS, numbers[pk], detail=finals[locked[pk][1]])
        elif hold is not None and hold.operator_id == new_holder.pk:
            outcomes[pk] = OrderOutcome(pk, Outcome.ALREADY_YOURS, numbers[pk], holder=new_holder)
        elif hold is not None and not rules.may_release(
            actor, holder_id=hold.operator_id, assigned_by_id=hold.assigned_by_id
        ):
            holder = holders[hold.operator_id]
            outcomes[pk] = OrderOutcome(
                pk,
                Outcome.NOT_ALLOWED,
                numbers[pk],
                holder=holder,
                detail=_("held by %(holder)s; moving it needs the holder, its assigner or a supervisor")
                % {"holder": user_display_name(holder)},
            )
        elif capacity is not None and len(moving) + len(free) >= capacity:
            outcomes[pk] = _at_capacity(pk, numbers[pk], new_holder)
        elif hold is not None:
            outcomes[pk] = OrderOutcome(pk, Outcome.DONE, numbers[pk], holder=holders[hold.operator_id])
            moving.append(pk)
        else:
            free.append(pk)

    now = timezone.now()
    if taking_over:
        written = log.log_taken_over(order_ids=moving, actor=actor, at=now, reason=reason)
    else:
        written = log.log_reassigned(
            order_ids=moving, new_operator=new_holder, actor=actor, at=now, reason=reason
        )
    _check_logged(written, len(moving))
    if moving:
        moved = Assignment.objects.filter(order_id__in=id_set(moving)).update(
            operator=new_holder, assigned_by=actor, assigned_at=now, last_activity_at=now
        )
        _check_logged(moved, len(moving))
    outcomes.update(
        _assign_free(order_ids=free, holder=new_holder, actor=actor, numbers=numbers, at=now, reason=reason)
    )
    return BulkResult([outcomes[pk] for pk in ids])


@transaction.atomic
def orders_take_over(*, actor: AbstractBaseUser, order_ids: Iterable[int], reason: str) -> BulkResult:
    """A supervisor takes orders held by others, in one step, with a reason; free orders are simply taken.

    Logged as taken_over with the previous holder. Outcomes: done (holder = previous holder, if any),
    already yours, final status, not found, at capacity.
    """
    ids = unique_ids(order_ids)
    reason = (reason or "").strip()
    if not reason:
        raise RequestRefused(_("Nothing was taken over: a take-over needs a reason."))
    if not rules.may_override(actor):
        raise RequestRefused(
            _("Nothing was taken over: %(user)s is not a supervisor.") % {"user": user_display_name(actor)}
        )
    return _move(actor=actor, ids=ids, new_holder=actor, reason=reason, taking_over=True)


@transaction.atomic
def orders_reassign(
    *, actor: AbstractBaseUser, order_ids: Iterable[int], operator: AbstractBaseUser, reason: str = ""
) -> BulkResult:
    """Move holds to another operator (needs assign_others; moving someone else's hold needs the release
    right over it). Logged as reassigned with the previous holder; free orders are assigned."""
    ids = unique_ids(order_ids)
    refusal = rules.actor_refusal(actor)
    if refusal is None and not rules.may_assign_others(actor):
        refusal = _("%(user)s may not assign orders to other operators") % {"user": actor.get_username()}
    if refusal is None:
        refusal = rules.holder_refusal(operator)
    if refusal is not None:
        raise RequestRefused(_("Nothing was reassigned: %(why)s.") % {"why": refusal})
    return _move(actor=actor, ids=ids, new_holder=operator, reason=(reason or "").strip(), taking_over=False)


@dataclass(frozen=True)
class ClaimResult:
    outcome: Outcome
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
            # the candidates: a walk past every older order, 2.5x slower per claim at 1M orders.
            "SELECT o.id FROM unnest(ARRAY("
            "  SELECT candidate.id FROM unnest(%s::varchar[]) AS claimable(code)"
            "  CROSS JOIN LATERAL ("
            f"    SELECT c.id, c.created_at FROM {order} c WHERE c.status_id = claimable.code"
            # A correlated subquery the planner keeps as a per-row index probe of the unique index on
            # order_id (index-only: it reads no column but the key): NOT EXISTS would become a hash
            # anti-join that reads the whole holds table whenever its statistics are stale (a table that
            # churns like this one), ~40x slower per claim.
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


@transaction.atomic
def order_claim_next(*, actor: AbstractBaseUser) -> ClaimResult:
    """Take the oldest unassigned order whose status is in ORDEROPS["CLAIMABLE_STATUSES"]."""
    refusal = rules.actor_refusal(actor) or rules.holder_refusal(actor)
    if refusal is not None:
        return ClaimResult(Outcome.NOT_ALLOWED, message=_("No order was taken: %(why)s.") % {"why": refusal})
    capacity = _capacity_left(actor)
    if capacity == 0:
        return ClaimResult(
            Outcome.AT_CAPACITY,
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
            return ClaimResult(
                Outcome.NOT_FOUND, message=_("There is no unassigned order to take right now.")
            )
        now = timezone.now()
        if _holds_insert(order_ids=[order_id], holder=actor, assigned_by=actor, at=now):
            _check_logged(log.log_assigned(order_ids=[order_id], actor=actor, at=now), 1)
            order = Order.objects.select_related("status").get(pk=order_id)
            return ClaimResult(
                Outcome.DONE, order, _("Order #%(number)s is now yours.") % {"number": order.number}
            )
        # Another claimer committed this order after our snapshot: look again with a fresh one.
    return ClaimResult(Outcome.NOT_FOUND, message=_("Every free order was being taken at once; try again."))


@transaction.atomic
def holds_expire(
    *, idle: timedelta | None = None, now: datetime | None = None, limit: int | None = None
) -> BulkResult:
    """Release holds whose last activity is older than `idle` (default ORDEROPS["HOLD_IDLE_TIMEOUT"]).

    Logged as expired, by the system. Outcomes: done, with the holder whose hold expired.
    """
    idle = idle if idle is not None else orderops_setting("HOLD_IDLE_TIMEOUT")
    if idle is None:
        raise RequestRefused(
            _("No hold expired: no idle timeout is configured (ORDEROPS HOLD_IDLE_TIMEOUT).")
        )
    if idle < timedelta(0):
        raise RequestRefused(_("No hold expired: the idle timeout cannot be negative."))
    cutoff = (now or timezone.now()) - idle
    candidates = Assignment.objects.filter(last_activity_at__lt=cutoff).order_by("order_id")
    candidate_ids = list(candidates.values_list("order_id", flat=True)[:limit])
    locked = orders_locked(candidate_ids)
    # Activity may have moved between the first read and the lock: decide on the locked state.
    expiring = list(
        Assignment.objects.filter(order_id__in=id_set(locked), last_activity_at__lt=cutoff)
        .order_by("order_id")
        .values_list("order_id", "operator_id")
    )
    holders = users_by_id(operator_id for _order_id, operator_id in expiring)
    expiring_ids = [order_id for order_id, _operator_id in expiring]
    reason = _("idle for more than %(idle)s") % {"idle": idle}
    logged_at = max(now or timezone.now(), timezone.now())  # never before a change made while we waited
    _check_logged(log.log_expired(order_ids=expiring_ids, at=logged_at, reason=reason), len(expiring_ids))
    _check_logged(_holds_delete(expiring_ids), len(expiring_ids))
    return BulkResult(
        [
            OrderOutcome(order_id, Outcome.DONE, locked[order_id][0], holder=holders[operator_id])
            for order_id, operator_id in expiring
        ]
    )


def holds_auto_release(
    *, order_ids: list[int], status: OrderStatus, actor: AbstractBaseUser | None, reason: str = ""
) -> int:
    """Release the holds of orders that entered a releasing status. Runs inside the status change's
    transaction, on rows the status change has locked or updated. Returns how many holds ended."""
    held = list(holds_of(order_ids))
    if not held:
        return 0
    why = _("status set to %(status)s") % {"status": status.label}
    if reason:
        why = f"{why}: {reason}"
    now = timezone.now()
    _check_logged(log.log_auto_released(order_ids=held, actor=actor, at=now, reason=why), len(held))
    _check_logged(_holds_delete(held), len(held))
    return len(held)


def holds_touch(*, actor: AbstractBaseUser | None, order_ids: list[int]) -> int:
    """The holder worked on these orders: move their holds' last activity to now (expiry counts from it)."""
    if actor is None or not order_ids:
        return 0
    return Assignment.objects.filter(order_id__in=id_set(order_ids), operator_id=actor.pk).update(
        last_activity_at=timezone.now()
    )


@transaction.atomic
def roles_setup() -> dict[str, Group]:
    """Create the role groups (idempotent) and give each exactly its permissions, removing any others."""
    groups = {}
    for group_name, permission_names in ROLE_PERMISSIONS.items():
        wanted = Q(pk__in=[])
        for name in permission_names:
            app_label, codename = name.split(".")
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        permissions = list(Permission.objects.filter(wanted).select_related("content_type"))
        missing = set(permission_names) - {f"{p.content_type.app_label}.{p.codename}" for p in permissions}
        if missing:
            raise LookupError(f"Permissions missing from the database (run migrate first): {sorted(missing)}")
        group, _created = Group.objects.get_or_create(name=group_name)
        group.permissions.set(permissions)
        groups[group_name] = group
    return groups
