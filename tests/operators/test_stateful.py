"""Random sequences of everything that touches holds keep the assignment engine's invariants (hypothesis).

The state machine keeps its own model of every order's status, holder and assigner, written from the rules in
DESIGN.md and the services' docstrings, never read back from the database or a service's result. After each
step the database must match the model, every per-order outcome must be the one the model predicts, and the
log must have grown by exactly the entries the model expects, with no earlier row changed.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from unittest.mock import ANY

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from operators.models import Assignment, AssignmentLog
from operators.services import (
    holds_expire,
    holds_release,
    order_claim_next,
    orders_assign,
    orders_reassign,
    orders_release,
    orders_take_over,
)
from orders.models import Order, OrderComment, OrderStatus
from orders.results import OrderLocked, Outcome, RequestRefused
from orders.services import order_comment_add, order_update, orders_status_set
from tests.factories import OperatorFactory, OrderFactory
from tests.replay import assert_log_replays_to_holds

Action = AssignmentLog.Action

ORDERS = 6  # orders per example; the pick ORDERS stands for an id that does not exist
MISSING_ID = 2**31 - 1
STATUS_CODES = ["pending", "processing", "on_hold", "complete", "closed", "canceled"]
RELEASING = {"complete", "closed", "canceled"}  # DESIGN.md: the default statuses that release the hold
CLAIMABLE = {"pending", "processing"}  # ORDEROPS["CLAIMABLE_STATUSES"] by default
COMMENT_MAX_LENGTH = 5000


@dataclass(frozen=True)
class Powers:
    """What a user may do, written out from the roles in DESIGN.md (not asked of operators.rules)."""

    active: bool = True
    works: bool = False  # has an operator role: view, change and comment on orders, take them
    holds: bool = False  # may be given holds: an active Operator or Supervisor, or a superuser
    overrides: bool = False  # override_hold: change, release and take over orders held by anyone
    assigns: bool = False  # assign_others: assign and reassign orders to other operators


POWERS = {
    "anna": Powers(works=True, holds=True),  # an operator
    "ivan": Powers(works=True, holds=True),  # another operator
    # An operator given assign_others alone: whoever assigned a hold may release it without overriding,
    # and only such an assigner tells "assigner" apart from "supervisor" in the release rule.
    "dina": Powers(works=True, holds=True, assigns=True),
    "boss": Powers(works=True, holds=True, overrides=True, assigns=True),  # a supervisor
    "admin": Powers(works=True, holds=True, overrides=True, assigns=True),  # a superuser
    "nobody": Powers(),  # staff in no group
    "gone": Powers(active=False),  # an inactive operator
}

# Each example draws its cast from these; every step picks its actors from the cast, so that the few who
# meet in one example meet often (an assigner and the operator they assigned, two operators and one order).
casts = st.builds(lambda size, order: order[:size], st.integers(2, 4), st.permutations(list(POWERS)))
order_picks = st.lists(st.integers(0, ORDERS), max_size=8)
one_order = st.integers(0, ORDERS - 1)
# Half the draws from the statuses an order is worked in, so that most orders stay open to holds.
statuses = st.sampled_from(STATUS_CODES[:3]) | st.sampled_from(STATUS_CODES)


class AssignmentEngine(RuleBasedStateMachine):
    """The engine driven by random actors on a handful of fresh orders. `users` is set by the test."""

    # Set once per test, read by every example.
    users: dict = {}
    status_rows: dict = {}

    def __init__(self) -> None:
        super().__init__()
        self.names = {user.pk: name for name, user in self.users.items()}
        self.cast: list[str] = []
        self.order_ids: list[int] = []
        self.numbers: dict[int, str] = {}
        self.created: dict[int, object] = {}
        # The model.
        self.status: dict[int, str] = {}
        self.holds: dict[int, tuple[str, str]] = {}  # order id: (holder, assigned by)
        self.comments: Counter = Counter()
        # The orders each person released themselves (an example lasts far less than the 15 minutes during
        # which claim next passes over them).
        self.let_go: dict[str, set[int]] = {}
        self.expected_log: list[tuple] = []  # entries the current step should write
        # The instances the import created, kept as a script or an open form keeps them.
        self.kept: list[Order] = []
        # The database as the previous step left it.
        self.log_seen: dict[int, tuple] = {}
        self.holds_seen: dict[int, tuple[str, str]] = {}
        # Each example runs in a savepoint that teardown rolls back: the next one starts with no orders.
        self._example = transaction.atomic()
        self._example.__enter__()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._example.__exit__(None, None, None)

    # The model's rules -------------------------------------------------------------------------------

    def _actor(self, data, label: str = "actor", *, or_none: bool = False) -> str | None:
        """One of this example's cast (or None, where None means the system or "nobody else")."""
        cast = st.sampled_from(self.cast)
        return data.draw(st.none() | cast if or_none else cast, label=label)

    def _ids(self, picks: list[int]) -> list[int]:
        return [self.order_ids[pick] if pick < ORDERS else MISSING_ID for pick in picks]

    def _unique(self, picks: list[int]) -> list[int]:
        return list(dict.fromkeys(self._ids(picks)))

    def _may_release(self, actor: str, order_id: int) -> bool:
        """DESIGN.md invariant 5: the holder, whoever assigned the hold, or override_hold. Nobody else."""
        powers = POWERS[actor]
        return powers.active and (actor in self.holds[order_id] or powers.overrides)

    def _edit_refusal(self, actor: str | None, order_id: int) -> tuple[Outcome, str | None] | None:
        """Invariant 3, EDIT_REQUIRES_HOLD on: the holder or a supervisor; an unheld order, a supervisor.
        The system (None: commands, imports) may change any order."""
        if actor is None:
            return None
        powers = POWERS[actor]
        if not powers.works:
            return (Outcome.NOT_ALLOWED if powers.active else Outcome.INACTIVE), None
        if powers.overrides:
            return None
        hold = self.holds.get(order_id)
        if hold is None:
            # An unheld order must be taken first; one in a final status cannot be, so only a supervisor.
            return (Outcome.FINAL_STATUS if self.status[order_id] in RELEASING else Outcome.NOT_HELD), None
        if hold[0] != actor:
            return Outcome.HELD_BY, hold[0]
        return None

    def _hold_begins(self, order_id: int, holder: str, actor: str, reason: str) -> None:
        self.holds[order_id] = (holder, actor)
        self.expected_log.append((order_id, Action.ASSIGNED, holder, None, actor, reason))

    def _hold_moves(self, order_id: int, holder: str, actor: str, action: str, reason: str) -> None:
        previous = self.holds[order_id][0]
        self.holds[order_id] = (holder, actor)
        self.expected_log.append((order_id, action, holder, previous, actor, reason))

    def _hold_ends(self, order_id: int, action: str, actor: str | None, reason: str = ANY) -> None:
        holder, _assigned_by = self.holds.pop(order_id)
        self.expected_log.append((order_id, action, holder, None, actor, reason))
        if action == Action.RELEASED and actor is not None and actor == holder:
            self.let_go.setdefault(actor, set()).add(order_id)

    def _status_enters(self, order_id: int, status: str, actor: str | None) -> None:
        """Invariant 6: entering a releasing status ends the hold, whichever path changed the status."""
        self.status[order_id] = status
        if status in RELEASING and order_id in self.holds:
            self._hold_ends(order_id, Action.AUTO_RELEASED, actor)

    def _expect(self, order_id: int, outcome: Outcome, holder=None) -> tuple:
        return (order_id, outcome, self.numbers.get(order_id), holder)

    def _assert_outcomes(self, result, expected: list[tuple]) -> None:
        actual = [
            (item.order_id, item.outcome, item.number, item.holder and self.names[item.holder.pk])
            for item in result
        ]
        assert actual == expected

    def _move_holds(self, *, actor: str, picks: list[int], holder: str, action: str, reason: str):
        """Take over and reassign: held orders move to `holder`, free ones are assigned to them."""
        expected = []
        for pk in self._unique(picks):
            hold = self.holds.get(pk)
            if pk not in self.status:
                expected.append(self._expect(pk, Outcome.NOT_FOUND))
            elif self.status[pk] in RELEASING:
                expected.append(self._expect(pk, Outcome.FINAL_STATUS))
            elif hold is not None and hold[0] == holder:
                expected.append(self._expect(pk, Outcome.ALREADY_YOURS, holder))
            elif hold is not None and not self._may_release(actor, pk):
                expected.append(self._expect(pk, Outcome.NOT_ALLOWED, hold[0]))
            elif hold is not None:
                expected.append(self._expect(pk, Outcome.DONE, hold[0]))
                self._hold_moves(pk, holder, actor, action, reason)
            else:
                expected.append(self._expect(pk, Outcome.DONE))
                self._hold_begins(pk, holder, actor, reason)
        return expected

    # Steps -------------------------------------------------------------------------------------------

    @initialize(
        cast=casts,
        codes=st.lists(statuses, min_size=ORDERS, max_size=ORDERS),
        minutes=st.lists(st.integers(0, 3), min_size=ORDERS, max_size=ORDERS),
    )
    def create_orders(self, cast: list[str], codes: list[str], minutes: list[int]) -> None:
        """The example's actors; fresh orders in random statuses, some created at the same minute (claim next
        then falls back to the id)."""
        self.cast = cast
        start = timezone.now() - timedelta(days=30)
        for code, minute in zip(codes, minutes, strict=True):
            order = OrderFactory(status=self.status_rows[code], created_at=start + timedelta(minutes=minute))
            self.order_ids.append(order.pk)
            self.kept.append(order)
            self.numbers[order.pk] = order.number
            self.created[order.pk] = order.created_at
            self.status[order.pk] = code

    @rule(data=st.data(), picks=order_picks, reason=st.sampled_from(["", "by phone"]))
    def assign(self, data, picks: list[int], reason: str) -> None:
        """orders_assign to the actor (to: None) or, by an actor with assign_others, to someone else."""
        actor, to = self._actor(data), self._actor(data, "to", or_none=True)
        holder = to or actor
        call = {"actor": self.users[actor], "order_ids": self._ids(picks), "reason": reason}
        if to is not None:
            call["operator"] = self.users[to]
        powers = POWERS[actor]
        if not powers.works or (holder != actor and not powers.assigns) or not POWERS[holder].holds:
            with pytest.raises(RequestRefused):
                orders_assign(**call)
            return
        result = orders_assign(**call)
        expected = []
        for pk in self._unique(picks):
            if pk not in self.status:
                expected.append(self._expect(pk, Outcome.NOT_FOUND))
            elif pk in self.holds:
                held_by = self.holds[pk][0]
                outcome = Outcome.ALREADY_YOURS if held_by == holder else Outcome.HELD_BY
                expected.append(self._expect(pk, outcome, held_by))
            elif self.status[pk] in RELEASING:
                expected.append(self._expect(pk, Outcome.FINAL_STATUS))
            else:
                expected.append(self._expect(pk, Outcome.DONE, ANY))
                self._hold_begins(pk, holder, actor, reason)
        self._assert_outcomes(result, expected)

    @rule(data=st.data(), picks=order_picks, reason=st.sampled_from(["", "end of shift"]))
    def release(self, data, picks: list[int], reason: str) -> None:
        """orders_release by a user, under the release rule; or holds_release by the system (None: commands,
        clean-up), which releases any hold."""
        actor = self._actor(data, or_none=True)
        if actor is None:
            result = holds_release(order_ids=self._ids(picks), reason=reason)
        else:
            call = {"actor": self.users[actor], "order_ids": self._ids(picks), "reason": reason}
            if not POWERS[actor].active:
                with pytest.raises(RequestRefused):
                    orders_release(**call)
                return
            colleagues = [
                pk
                for pk in self._unique(picks)
                if pk in self.holds and self.holds[pk][0] != actor and self._may_release(actor, pk)
            ]
            if colleagues and not reason.strip():
                # Releasing a colleague's hold needs a reason: nothing is released, the holds stay.
                with pytest.raises(RequestRefused, match="needs a reason"):
                    orders_release(**call)
                return
            result = orders_release(**call)
        expected = []
        for pk in self._unique(picks):
            if pk not in self.status:
                expected.append(self._expect(pk, Outcome.NOT_FOUND))
            elif pk not in self.holds:
                expected.append(self._expect(pk, Outcome.NOT_HELD))
            elif actor is None or self._may_release(actor, pk):
                expected.append(self._expect(pk, Outcome.DONE, self.holds[pk][0]))
                self._hold_ends(pk, Action.RELEASED, actor, reason)
            else:
                expected.append(self._expect(pk, Outcome.NOT_ALLOWED, self.holds[pk][0]))
        self._assert_outcomes(result, expected)

    @rule(
        data=st.data(),
        picks=order_picks,
        reason=st.sampled_from(["", "   ", "customer escalated", "  customer escalated  "]),
    )
    def take_over(self, data, picks: list[int], reason: str) -> None:
        actor = self._actor(data)
        call = {"actor": self.users[actor], "order_ids": self._ids(picks), "reason": reason}
        if not reason.strip() or not POWERS[actor].overrides:
            with pytest.raises(RequestRefused):
                orders_take_over(**call)
            return
        result = orders_take_over(**call)
        expected = self._move_holds(
            actor=actor, picks=picks, holder=actor, action=Action.TAKEN_OVER, reason=reason.strip()
        )
        self._assert_outcomes(result, expected)

    @rule(data=st.data(), picks=order_picks, reason=st.sampled_from(["", " sick leave "]))
    def reassign(self, data, picks: list[int], reason: str) -> None:
        actor, to = self._actor(data), self._actor(data, "to")
        call = {
            "actor": self.users[actor],
            "order_ids": self._ids(picks),
            "operator": self.users[to],
            "reason": reason,
        }
        powers = POWERS[actor]
        if not powers.works or not powers.assigns or not POWERS[to].holds:
            with pytest.raises(RequestRefused):
                orders_reassign(**call)
            return
        result = orders_reassign(**call)
        expected = self._move_holds(
            actor=actor, picks=picks, holder=to, action=Action.REASSIGNED, reason=reason.strip()
        )
        self._assert_outcomes(result, expected)

    @rule(data=st.data(), picks=order_picks, status=statuses | st.just("shipped"))
    def set_status(self, data, picks: list[int], status: str) -> None:
        """orders_status_set, by a user or by the system (None), which the guard lets change any order."""
        actor = self._actor(data, or_none=True)
        call = {"actor": actor and self.users[actor], "order_ids": self._ids(picks), "status_code": status}
        if status not in STATUS_CODES:
            with pytest.raises(RequestRefused):
                orders_status_set(**call)
            return
        result = orders_status_set(**call)
        expected, changing = [], []
        for pk in self._unique(picks):
            refusal = self._edit_refusal(actor, pk) if pk in self.status else None
            if pk not in self.status:
                expected.append(self._expect(pk, Outcome.NOT_FOUND))
            elif refusal is not None:
                expected.append(self._expect(pk, *refusal))
            elif self.status[pk] == status:
                expected.append(self._expect(pk, Outcome.UNCHANGED))
            else:
                expected.append(self._expect(pk, Outcome.DONE))
                changing.append(pk)
        for pk in changing:
            self._status_enters(pk, status, actor)
        self._assert_outcomes(result, expected)

    @rule(
        data=st.data(),
        order=one_order,
        status=st.none() | statuses,
        guarded=st.booleans(),
        instance=st.sampled_from(["fresh", "kept", "refreshed"]),
    )
    def save_order(self, data, order: int, status: str | None, guarded: bool, instance: str) -> None:
        """Save one order with a new status, or with the one the instance has (None: another field changed):
        through order_update (guarded), or a plain Order.save() (the system: a shell or a script).
        Auto-release fires either way.

        `instance`: loaded now; or the instance the import kept since it created the order (a script or an
        open form holds on to instances), as it is or first refreshed from the database.
        """
        actor = self._actor(data, or_none=not guarded)
        pk = self.order_ids[order]
        if instance == "fresh":
            saving = Order.objects.get(pk=pk)
        else:
            saving = self.kept[order]
            if instance == "refreshed":
                saving.refresh_from_db()
        if status is not None:
            saving.status = self.status_rows[status]
        written = saving.status_id
        if guarded:
            # The one edit path, from the version as it is now (a stale version is refused: its own tests).
            edit = {
                "actor": self.users[actor],
                "order_id": pk,
                "version": Order.objects.get(pk=pk).version,
                "changes": {"status": written, "customer_phone": f"+1 555 {data.draw(st.integers(0, 99))}"},
            }
            refusal = self._edit_refusal(actor, pk)
            if refusal is not None:
                with pytest.raises(OrderLocked) as locked:
                    order_update(**edit)
                held_by = locked.value.refusal.holder
                assert (locked.value.refusal.outcome, held_by and self.names[held_by.pk]) == refusal
                return
            order_update(**edit)
        else:
            actor = None  # a plain save() is the system's: a shell, a script, a fixture
            saving.save()
        if written != self.status[pk]:
            self._status_enters(pk, written, actor)

    @rule(
        data=st.data(),
        pick=st.integers(0, ORDERS),
        body=st.sampled_from(["", "  ", "Customer asked for a call.", "x" * (COMMENT_MAX_LENGTH + 1)]),
    )
    def comment(self, data, pick: int, body: str) -> None:
        """Invariant 4: anyone with access comments on any order, held by anyone; holds never change."""
        actor = self._actor(data)
        (pk,) = self._ids([pick])
        text = body.strip()
        if pk not in self.status or not POWERS[actor].works or not text or len(text) > COMMENT_MAX_LENGTH:
            with pytest.raises(RequestRefused):
                order_comment_add(actor=self.users[actor], order_id=pk, body=body)
            return
        comment = order_comment_add(actor=self.users[actor], order_id=pk, body=body)
        assert (comment.order_id, comment.author_id, comment.body) == (pk, self.users[actor].pk, text)
        self.comments[pk] += 1

    @rule(data=st.data())
    def claim_next(self, data) -> None:
        """The oldest unassigned order in a claimable status, by creation time, then id; one the actor let go
        of themselves only when no other is free."""
        actor = self._actor(data)
        result = order_claim_next(actor=self.users[actor])
        powers = POWERS[actor]
        if not (powers.works and powers.holds):
            assert (result.outcome, result.order) == (Outcome.NOT_ALLOWED, None)
            return
        free = sorted(
            (self.created[pk], pk)
            for pk in self.order_ids
            if pk not in self.holds and self.status[pk] in CLAIMABLE
        )
        if not free:
            assert (result.outcome, result.order) == (Outcome.NOT_FOUND, None)
            return
        let_go = self.let_go.get(actor, set())
        pk = next((pk for _created, pk in free if pk not in let_go), free[0][1])
        assert (result.outcome, result.order and result.order.pk) == (Outcome.DONE, pk)
        self._hold_begins(pk, actor, actor, "")

    @rule(idle=st.sampled_from([None, timedelta(seconds=-1), timedelta(0), timedelta(days=3650)]))
    def expire(self, idle: timedelta | None) -> None:
        """No idle timeout is configured (refused); idle 0 expires every hold, ten years none."""
        if idle is None or idle < timedelta(0):
            with pytest.raises(RequestRefused):
                holds_expire(idle=idle)
            return
        result = holds_expire(idle=idle)
        expected = []
        if idle == timedelta(0):
            for pk in sorted(self.holds):
                expected.append(self._expect(pk, Outcome.DONE, self.holds[pk][0]))
                self._hold_ends(pk, Action.EXPIRED, None)
        self._assert_outcomes(result, expected)

    # After every step --------------------------------------------------------------------------------

    @invariant()
    def database_matches_the_model(self) -> None:
        if not self.order_ids:
            return
        ids = self.order_ids
        hold_rows = list(
            Assignment.objects.filter(order_id__in=ids).values_list(
                "order_id", "operator_id", "assigned_by_id"
            )
        )
        assert max(Counter(row[0] for row in hold_rows).values(), default=0) <= 1, "two holds on one order"
        holds = {pk: (self.names[holder], self.names[by]) for pk, holder, by in hold_rows}
        assert holds == self.holds
        status = dict(Order.objects.filter(pk__in=ids).values_list("pk", "status_id"))
        assert status == self.status
        releasing = {code for code, row in self.status_rows.items() if row.releases_assignment}
        held_in_final = {pk: status[pk] for pk in holds if status[pk] in releasing}
        assert not held_in_final, f"held orders in a releasing status: {held_in_final}"
        comments = Counter(OrderComment.objects.filter(order_id__in=ids).values_list("order_id", flat=True))
        assert comments == +self.comments
        assert_log_replays_to_holds(order_ids=ids)

        log = {
            row[0]: row[1:]
            for row in AssignmentLog.objects.filter(order_id__in=ids).values_list(
                "id", "order_id", "action", "operator_id", "previous_operator_id", "actor_id", "at", "reason"
            )
        }
        changed = {pk: row for pk, row in self.log_seen.items() if log.get(pk) != row}
        assert not changed, f"log rows edited or deleted: {changed}"
        name = self.names.get
        new = [
            (row[0], row[1], name(row[2]), name(row[3]), name(row[4]), row[6])
            for pk, row in log.items()
            if pk not in self.log_seen
        ]
        new.sort(key=lambda entry: entry[:2])
        hold_changes = {
            pk
            for pk in {*holds, *self.holds_seen}
            if holds.get(pk, (None,))[0] != self.holds_seen.get(pk, (None,))[0]
        }
        assert len(new) == len(hold_changes), f"{len(new)} log rows for {len(hold_changes)} hold changes"
        assert new == sorted(self.expected_log, key=lambda entry: entry[:2])
        self.log_seen, self.holds_seen, self.expected_log = log, holds, []


STEPS = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_random_assignment_sequences_keep_every_invariant(
    operator, other_operator, supervisor, superuser, staff_without_role, inactive_operator
):
    dispatcher = OperatorFactory(username="dina", first_name="Dina")
    dispatcher.user_permissions.add(
        Permission.objects.get(content_type__app_label="operators", codename="assign_others")
    )
    users = {
        "anna": operator,
        "ivan": other_operator,
        "dina": dispatcher,
        "boss": supervisor,
        "admin": superuser,
        "nobody": staff_without_role,
        "gone": inactive_operator,
    }
    assert {name: user.username for name, user in users.items()} == {name: name for name in POWERS}
    status_rows = OrderStatus.objects.in_bulk()
    assert {code for code, row in status_rows.items() if row.releases_assignment} == RELEASING

    class Machine(AssignmentEngine):
        pass

    Machine.users = users
    Machine.status_rows = status_rows
    run_state_machine_as_test(Machine, settings=STEPS)
