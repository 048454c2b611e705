"""Races on PostgreSQL: many connections working the same orders at the same moment.

Every test starts real threads together (a barrier), each on its own database connection, and then checks the
invariants on what the database and the log say: one holder per order, one log row per change, the edit guard
under the row lock, auto-release against concurrent assigns, the capacity cap, and a log that replays to the
holds. SQLite runs one writer at a time, so these tests only run on PostgreSQL.
"""

import random
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.db.models import Max

from operators.models import Assignment, AssignmentLog
from operators.services import (
    holds_expire,
    order_claim_next,
    orders_assign,
    orders_reassign,
    orders_release,
    orders_take_over,
)
from operators.verification import (
    activity_count_differences,
    free_order_differences,
    hold_count_differences,
)
from orders.models import Order, OrderStatus
from orders.results import OrderLocked, Outcome
from orders.services import order_update, orders_status_set
from tests.factories import OperatorFactory, OrderFactory
from tests.replay import assert_log_replays_to_holds

Action = AssignmentLog.Action

pytestmark = [pytest.mark.postgres, pytest.mark.pgbouncer, pytest.mark.django_db(transaction=True)]

# How long a thread waits for the others at a barrier, and how long the test waits for all threads.
BARRIER_TIMEOUT = 30.0
JOIN_TIMEOUT = 60.0


# --- helpers ----------------------------------------------------------------------------------------------


def make_orders(count: int, status_code: str = "pending") -> list[Order]:
    """`count` orders, oldest first (created_at grows with the factory sequence), in one INSERT."""
    status = OrderStatus.objects.get(code=status_code)
    return Order.objects.bulk_create(OrderFactory.build_batch(count, status=status))


def fresh(user):
    """The same user loaded on the calling thread's own connection (no permission cache shared)."""
    return get_user_model().objects.get(pk=user.pk)


def run_together(workers: list[Callable[[threading.Barrier], object]]) -> list[object]:
    """Run each worker on its own thread and database connection, all released at once by one barrier.

    A worker gets the barrier, so that it can start further rounds together with the others. Returns each
    worker's return value, in order; fails the test if any thread raised or did not finish in time.
    """
    barrier = threading.Barrier(len(workers))
    results: list[object] = [None] * len(workers)
    errors: list[str] = []

    def run(index: int, worker) -> None:
        try:
            barrier.wait(timeout=BARRIER_TIMEOUT)
            results[index] = worker(barrier)
        except BaseException as error:
            errors.append(f"thread {index}: {error!r}\n{traceback.format_exc()}")
            barrier.abort()  # the others stop waiting for this one at their next barrier
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(index, worker), name=f"race-{index}", daemon=True)
        for index, worker in enumerate(workers)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + JOIN_TIMEOUT
    for thread in threads:
        thread.join(timeout=max(deadline - time.monotonic(), 0.1))
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"threads still running after {JOIN_TIMEOUT}s: {stuck}"
    assert not errors, "a thread raised:\n" + "\n".join(errors)
    return results


def holders() -> dict[int, int]:
    """{order id: holder id} as the hold table says."""
    return dict(Assignment.objects.values_list("order_id", "operator_id"))


def log_count() -> int:
    return AssignmentLog.objects.count()


def last_log_id() -> int:
    return AssignmentLog.objects.aggregate(last=Max("id"))["last"] or 0


def assert_no_hold_on_a_releasing_status() -> None:
    """Invariant 6: no hold survives on an order in a status that releases holds."""
    survivors = list(
        Assignment.objects.filter(order__status__releases_assignment=True).values_list(
            "order_id", "order__status_id"
        )
    )
    assert not survivors, f"holds on orders in a releasing status: {survivors}"


# --- 1. overlapping bulk assigns ---------------------------------------------------------------------------


def test_eight_overlapping_bulk_assigns_hold_each_order_once_and_report_what_the_database_says(roles):
    operators = [OperatorFactory(username=f"bulk{index}") for index in range(8)]
    orders = make_orders(1000)
    ids = [order.pk for order in orders]
    # Each thread asks for 500 of the 1000 orders, every pair of threads overlapping: even threads a window
    # of 500 consecutive orders starting at i * 125 (wrapping round), odd threads a random half. Shuffled, so
    # that each asks in its own order (the services lock in primary-key order whatever the request order).
    slices = []
    for index in range(8):
        rng = random.Random(index)
        if index % 2:
            wanted = rng.sample(ids, 500)
        else:
            wanted = [ids[(index * 125 + offset) % len(ids)] for offset in range(500)]
            rng.shuffle(wanted)
        slices.append(wanted)

    def assign(user, wanted):
        def work(barrier):
            return orders_assign(actor=fresh(user), order_ids=wanted)

        return work

    started = time.monotonic()
    results = run_together([assign(user, wanted) for user, wanted in zip(operators, slices, strict=True)])
    elapsed = time.monotonic() - started

    held = holders()
    # Every order was free and wanted by someone: each one is held, by exactly one operator (one row each).
    assert set(held) == set(ids)
    assert Assignment.objects.count() == len(ids)
    for user, wanted, result in zip(operators, slices, results, strict=True):
        assert [item.order_id for item in result] == wanted  # one outcome per order, in request order
        counts = result.counts()
        assert set(counts) <= {Outcome.DONE, Outcome.HELD_BY}, counts
        # Its DONE orders are exactly the orders the database says it holds.
        assert set(result.done_ids) == {pk for pk, holder_id in held.items() if holder_id == user.pk}
        # Its HELD_BY outcomes name the real holder, never itself.
        for item in result.of(Outcome.HELD_BY):
            assert item.holder is not None
            assert item.holder.pk == held[item.order_id] != user.pk
    done = sum(len(result.done) for result in results)
    assert done == len(ids)
    # One 'assigned' row per hold and nothing else; replaying the log gives the holds.
    assert AssignmentLog.objects.filter(action=Action.ASSIGNED).count() == len(held)
    assert log_count() == len(held)
    per_operator = Counter(held.values())
    print(
        f"\n[race 1] {len(ids)} orders, 8x500 overlapping bulk assigns in {elapsed:.2f}s: "
        f"{done} done, {sum(len(r.of(Outcome.HELD_BY)) for r in results)} held by others; "
        f"holds per operator {sorted(per_operator.values())}; {log_count()} log rows"
    )
    assert_log_replays_to_holds()
    assert free_order_differences() == []  # the free orders followed every change
    assert hold_count_differences() == activity_count_differences() == []  # and the counters


# --- 2. claim next, eight at once --------------------------------------------------------------------------


def test_eight_claimers_get_distinct_orders_oldest_first_without_waiting_on_locked_rows(roles):
    operators = [OperatorFactory(username=f"claimer{index}") for index in range(8)]
    orders = make_orders(1000)
    # Another session holds the row locks of the 3 oldest orders for the whole race: SKIP LOCKED steps over
    # them. A claimer that waited on a row lock instead would block until the end of the join timeout.
    blocked_ids = [order.pk for order in orders[:3]]
    blocker_ready, claimers_done = threading.Event(), threading.Event()
    blocker_errors: list[BaseException] = []

    def blocker():
        try:
            with transaction.atomic():
                list(Order.objects.filter(pk__in=blocked_ids).select_for_update(no_key=True))
                blocker_ready.set()
                claimers_done.wait(timeout=JOIN_TIMEOUT + 10)
        except BaseException as error:
            blocker_errors.append(error)
            blocker_ready.set()
        finally:
            connections.close_all()

    blocking = threading.Thread(target=blocker, name="blocker", daemon=True)
    blocking.start()
    assert blocker_ready.wait(timeout=BARRIER_TIMEOUT)

    def claim(user):
        def work(barrier):
            me = fresh(user)
            return [order_claim_next(actor=me) for _ in range(100)]

        return work

    started = time.monotonic()
    try:
        results = run_together([claim(user) for user in operators])
    finally:
        claimers_done.set()
        blocking.join(timeout=BARRIER_TIMEOUT)
    elapsed = time.monotonic() - started
    assert not blocker_errors, blocker_errors
    assert not blocking.is_alive()

    held = holders()
    claimed: list[int] = []
    for user, claims in zip(operators, results, strict=True):
        outcomes = Counter(claim.outcome for claim in claims)
        # Nobody starved: 800 claims, 997 claimable orders: every claim of every thread got an order.
        assert outcomes == {Outcome.DONE: 100}, (user.username, outcomes, [c.message for c in claims][:3])
        for claim in claims:
            assert claim.order is not None
            assert held[claim.order.pk] == user.pk  # what the claimer was told is what the database says
            claimed.append(claim.order.pk)
    assert len(claimed) == len(set(claimed)) == 800  # no order claimed twice
    assert set(held) == set(claimed)
    assert not set(claimed) & set(blocked_ids)  # the locked rows were skipped, never waited for
    # Oldest first: the claimed orders are the 800 oldest of those nobody had locked.
    claimable = [order.pk for order in orders if order.pk not in blocked_ids]
    assert set(claimed) == set(claimable[:800])
    assert AssignmentLog.objects.filter(action=Action.ASSIGNED).count() == log_count() == 800
    print(
        f"\n[race 2] 8 claimers x 100 claim-next in {elapsed:.2f}s: {len(claimed)} distinct orders claimed, "
        f"per claimer {sorted(Counter(held.values()).values())}; 3 locked rows skipped; "
        f"{log_count()} log rows"
    )
    assert_log_replays_to_holds()
    assert free_order_differences() == []  # the free orders followed every change
    assert hold_count_differences() == activity_count_differences() == []  # and the counters


# --- 3. take over vs release vs assign ---------------------------------------------------------------------

ROUNDS_3 = 30


def expected_log_row(kind: str, *, actor, order_id: int, previous_holder, new_holder) -> tuple:
    """The log row a DONE outcome must have written, as (action, actor, order, whose hold): the holder who
    lost it for a release, an expiry or a move; the new holder for an assign. Take over and reassign give a
    free order as an assign does."""
    if kind in ("release", "expire"):
        action = Action.RELEASED if kind == "release" else Action.EXPIRED
        return (action, None if kind == "expire" else actor.pk, order_id, previous_holder)
    if previous_holder is not None:
        return (
            Action.TAKEN_OVER if kind == "take_over" else Action.REASSIGNED,
            actor.pk,
            order_id,
            previous_holder,
        )
    return (Action.ASSIGNED, actor.pk, order_id, new_holder.pk)


def logged_row(action: str, actor_id, order_id: int, operator_id: int, previous_operator_id) -> tuple:
    """A log row in the same shape: whose hold is the previous holder for moves, the operator otherwise."""
    moved = action in (Action.TAKEN_OVER, Action.REASSIGNED)
    return (action, actor_id, order_id, previous_operator_id if moved else operator_id)


def test_take_over_release_assign_and_expiry_at_once_write_one_log_row_per_change(
    supervisor, operator, other_operator
):
    orders = make_orders(40)
    ids = [order.pk for order in orders]
    last_row_before = last_log_id()

    def worker(user, seed: int, menu: list[str]):
        """Each round: wait for the others, then one operation on a random part of the shared orders."""

        def work(barrier):
            me, rng = fresh(user), random.Random(seed)
            target = fresh(operator)
            done = []  # the log row each DONE outcome must have written
            for round_no in range(ROUNDS_3):
                barrier.wait(timeout=BARRIER_TIMEOUT)
                kind = rng.choice(menu)
                wanted = rng.sample(ids, rng.randint(5, 25))
                new_holder = target if kind == "reassign" else me
                if kind == "assign":
                    result = orders_assign(actor=me, order_ids=wanted)
                elif kind == "release":
                    result = orders_release(actor=me, order_ids=wanted, reason=f"round {round_no}")
                elif kind == "take_over":
                    result = orders_take_over(actor=me, order_ids=wanted, reason=f"urgent, round {round_no}")
                elif kind == "reassign":
                    result = orders_reassign(actor=me, order_ids=wanted, operator=target, reason="cover")
                else:
                    result = holds_expire(idle=timedelta(milliseconds=20))
                assert Outcome.NOT_FOUND not in result.counts()
                for item in result.done:
                    previous = item.holder.pk if item.holder is not None else None
                    done.append(
                        expected_log_row(
                            kind,
                            actor=me,
                            order_id=item.order_id,
                            previous_holder=previous,
                            new_holder=new_holder,
                        )
                    )
            return done

        return work

    started = time.monotonic()
    results = run_together(
        [
            worker(supervisor, 1, ["take_over", "take_over", "reassign", "release"]),
            worker(operator, 2, ["assign", "release"]),  # the usual holder
            worker(operator, 3, ["assign", "release"]),  # the same operator in a second tab
            worker(other_operator, 4, ["assign", "release"]),
            worker(supervisor, 5, ["take_over", "expire", "release"]),
        ]
    )
    elapsed = time.monotonic() - started

    done = [row for thread_done in results for row in thread_done]
    new_rows = [
        logged_row(*row)
        for row in AssignmentLog.objects.filter(id__gt=last_row_before)
        .order_by("id")
        .values_list("action", "actor_id", "order_id", "operator_id", "previous_operator_id")
    ]
    # Exactly one log row per change: the DONE outcomes of all threads are the rows written, row for row
    # (action, who did it, which order, whose hold it was).
    assert len(new_rows) == len(done)
    assert Counter(new_rows) == Counter(done)
    held = holders()
    assert set(held.values()) <= {supervisor.pk, operator.pk, other_operator.pk}
    assert Assignment.objects.count() == len(held) <= len(ids)
    by_action = Counter(action for action, *_rest in new_rows)
    print(
        f"\n[race 3] 5 threads x {ROUNDS_3} rounds of take over / reassign / release / assign / expire on "
        f"{len(ids)} orders in {elapsed:.2f}s: {len(done)} changes = {len(new_rows)} log rows "
        f"{dict(sorted(by_action.items()))}; {len(held)} held at the end"
    )
    assert_log_replays_to_holds()
    assert free_order_differences() == []  # the free orders followed every change
    assert hold_count_differences() == activity_count_differences() == []  # and the counters


# --- 4. a stale edit against a take ------------------------------------------------------------------------

ROUNDS_4 = 30
# (editor's delay, taker's delay) after each round's barrier, in turn: the edit first, the take first, and
# both at once. The delays make sure both orders of events happen; the third kind is the real race.
SCHEDULE_4 = [(0.0, 0.03), (0.03, 0.0), (0.0, 0.0)]


def check_stale_edit_rounds(rounds, *, editor, taker, take_action: str) -> Counter:
    """Each round ends in one of the two legal states; returns how many rounds ended in each."""
    seen = Counter()
    for round_no, (pk, original_name, loaded_updated_at, edit) in enumerate(rounds):
        order = Order.objects.get(pk=pk)
        hold = Assignment.objects.get(order_id=pk)
        assert hold.operator_id == taker.pk, f"round {round_no}: the take must always succeed"
        taken_at = AssignmentLog.objects.filter(order_id=pk, action=take_action).latest("id").at
        outcome, refusal = edit
        if outcome == "saved":
            # The save went first: it committed before the take locked the row, and the take proceeded.
            assert order.customer_name == f"changed by {editor.username} in round {round_no}"
            assert order.updated_at < taken_at, (
                f"round {round_no}: {editor.username}'s edit saved at {order.updated_at}, after "
                f"{taker.username} took the order at {taken_at}"
            )
        else:
            # The take went first: the stale form was refused, naming the holder, and nothing changed.
            assert outcome == "refused"
            assert refusal.outcome == Outcome.HELD_BY
            assert refusal.holder.pk == taker.pk
            assert order.customer_name == original_name
            assert order.updated_at == loaded_updated_at
        seen[outcome] += 1
    return seen


def stale_editor(user, ids: list[int]):
    """Each round: load the order, wait for the taker, then save a change through the edit guard."""

    def work(barrier):
        me, rounds = fresh(user), []
        for round_no, pk in enumerate(ids):
            order = Order.objects.get(pk=pk)  # the form is loaded before the take
            loaded = (pk, order.customer_name, order.updated_at)
            barrier.wait(timeout=BARRIER_TIMEOUT)
            time.sleep(SCHEDULE_4[round_no % len(SCHEDULE_4)][0])
            try:
                order_update(
                    actor=me,
                    order_id=pk,
                    version=order.version,
                    changes={"customer_name": f"changed by {me.username} in round {round_no}"},
                )
                rounds.append((*loaded, ("saved", None)))
            except OrderLocked as refused:
                rounds.append((*loaded, ("refused", refused.refusal)))
        return rounds

    return work


def test_a_non_holders_stale_edit_never_lands_after_another_operator_took_the_order(
    operator, other_operator, settings
):
    # Edits of unheld orders allowed: Ivan may change an order nobody holds, not one Anna has taken.
    settings.ORDEROPS = {"EDIT_REQUIRES_HOLD": False}
    ids = [order.pk for order in make_orders(ROUNDS_4)]

    def taker(barrier):
        me, results = fresh(operator), []
        for round_no, pk in enumerate(ids):
            barrier.wait(timeout=BARRIER_TIMEOUT)
            time.sleep(SCHEDULE_4[round_no % len(SCHEDULE_4)][1])
            results.append(orders_assign(actor=me, order_ids=[pk]))
        return results

    started = time.monotonic()
    rounds, takes = run_together([stale_editor(other_operator, ids), taker])
    elapsed = time.monotonic() - started

    assert [result.counts() for result in takes] == [Counter({Outcome.DONE: 1})] * ROUNDS_4
    seen = check_stale_edit_rounds(rounds, editor=other_operator, taker=operator, take_action=Action.ASSIGNED)
    assert seen["saved"] > 0 and seen["refused"] > 0, seen  # both orders of events happened
    assert log_count() == ROUNDS_4
    print(
        f"\n[race 4] {ROUNDS_4} rounds of a stale edit by a non-holder vs an assign in {elapsed:.2f}s: "
        f"{seen['saved']} saved before the take, {seen['refused']} refused after it"
    )
    assert_log_replays_to_holds()
    assert free_order_differences() == []  # the free orders followed every change
    assert hold_count_differences() == activity_count_differences() == []  # and the counters


def test_a_former_holders_stale_edit_never_lands_after_a_supervisor_took_the_order_over(operator, supervisor):
    # The usual setting: only the holder edits. Anna holds every order; Boris takes each over while she saves.
    ids = [order.pk for order in make_orders(ROUNDS_4)]
    assert orders_assign(actor=operator, order_ids=ids).counts() == {Outcome.DONE: ROUNDS_4}

    def taker(barrier):
        me, results = fresh(supervisor), []
        for round_no, pk in enumerate(ids):
            barrier.wait(timeout=BARRIER_TIMEOUT)
            time.sleep(SCHEDULE_4[round_no % len(SCHEDULE_4)][1])
            results.append(orders_take_over(actor=me, order_ids=[pk], reason="customer called"))
        return results

    started = time.monotonic()
    rounds, takes = run_together([stale_editor(operator, ids), taker])
    elapsed = time.monotonic() - started

    assert [result.counts() for result in takes] == [Counter({Outcome.DONE: 1})] * ROUNDS_4
    assert all(result.outcomes[0].holder.pk == operator.pk for result in takes)
    seen = check_stale_edit_rounds(rounds, editor=operator, taker=supervisor, take_action=Action.TAKEN_OVER)
    assert seen["saved"] > 0 and seen["refused"] > 0, seen
    assert log_count() == 2 * ROUNDS_4
    print(
        f"\n[race 4b] {ROUNDS_4} rounds of the holder's stale edit vs a take-over in {elapsed:.2f}s: "
        f"{seen['saved']} saved before the take-over, {seen['refused']} refused after it"
    )
    assert_log_replays_to_holds()
    assert free_order_differences() == []  # the free orders followed every change
    assert hold_count_differences() == activity_count_differences() == []  # and the counters


# --- 5. completing orders while they are being taken -------------------------------------------------------

ROUNDS_5 = 10
BATCH_5 = 30


def test_completing_orders_while_they_are_taken_leaves_no_hold_on_a_completed_order(
    supervisor, operator, other_operator
):
    """Each round a fresh batch: Boris completes half of it through the status service, a script completes
    the other half with plain order.save(), while Anna bulk-assigns the whole batch and Ivan claims next."""
    batches = [[order.pk for order in make_orders(BATCH_5)] for _ in range(ROUNDS_5)]
    complete = OrderStatus.objects.get(code="complete")
    half = BATCH_5 // 2

    def status_service(barrier):
        me, rng, results = fresh(supervisor), random.Random(1), []
        for batch in batches:
            barrier.wait(timeout=BARRIER_TIMEOUT)
            time.sleep(rng.uniform(0, 0.01))
            results.append(orders_status_set(actor=me, order_ids=batch[:half], status_code="complete"))
        return results

    def plain_saves(barrier):
        rng = random.Random(2)
        for batch in batches:
            loaded = list(Order.objects.filter(pk__in=batch[half:]))  # pending, loaded before the race
            barrier.wait(timeout=BARRIER_TIMEOUT)
            time.sleep(rng.uniform(0, 0.01))
            for order in loaded:
                order.status = complete
                order.save()

    def assigner(barrier):
        me, rng, results = fresh(operator), random.Random(3), []
        for batch in batches:
            wanted = rng.sample(batch, len(batch))
            barrier.wait(timeout=BARRIER_TIMEOUT)
            time.sleep(rng.uniform(0, 0.01))
            results.append(orders_assign(actor=me, order_ids=wanted))
        return results

    def claimer(barrier):
        me, rng, claims = fresh(other_operator), random.Random(4), []
        for _batch in batches:
            barrier.wait(timeout=BARRIER_TIMEOUT)
            time.sleep(rng.uniform(0, 0.01))
            claims.extend(order_claim_next(actor=me) for _ in range(3))
        return claims

    started = time.monotonic()
    status_results, _none, assign_results, claims = run_together(
        [status_service, plain_saves, assigner, claimer]
    )
    elapsed = time.monotonic() - started

    all_ids = [pk for batch in batches for pk in batch]
    assert all(result.counts() == {Outcome.DONE: half} for result in status_results)
    assert set(Order.objects.filter(pk__in=all_ids).values_list("status_id", flat=True)) == {"complete"}
    assert_no_hold_on_a_releasing_status()
    assert not Assignment.objects.exists()
    assigned = Counter()
    for result in assign_results:
        assert set(result.counts()) <= {Outcome.DONE, Outcome.FINAL_STATUS, Outcome.HELD_BY}, result.counts()
        assert all(item.holder.pk == other_operator.pk for item in result.of(Outcome.HELD_BY))  # claimed
        assigned.update(result.done_ids)
    for claim in claims:
        assert claim.outcome in (Outcome.DONE, Outcome.NOT_FOUND), claim.message
        if claim.outcome == Outcome.DONE:
            assert claim.order.pk in all_ids
            assigned[claim.order.pk] += 1
    # Every hold given was auto-released by the status change: per order, one 'assigned', one
    # 'auto_released' (by Boris through the service, by the system through a plain save), nothing else.
    rows = AssignmentLog.objects.values_list("order_id", "action", "actor_id")
    assert Counter(pk for pk, action, _a in rows if action == Action.ASSIGNED) == assigned
    auto = Counter(pk for pk, action, _a in rows if action == Action.AUTO_RELEASED)
    assert auto == assigned
    assert log_count() == 2 * sum(assigned.values())
    service_half = {pk for batch in batches for pk in batch[:half]}
    for pk, action, actor_id in rows:
        if action == Action.AUTO_RELEASED:
            assert actor_id == (supervisor.pk if pk in service_half else None)
    claimed = sum(claim.outcome == Outcome.DONE for claim in claims)
    final = sum(len(result.of(Outcome.FINAL_STATUS)) for result in assign_results)
    print(
        f"\n[race 5] {ROUNDS_5} rounds x {BATCH_5} orders completed (service + plain save) vs bulk assign "
        f"and claim next in {elapsed:.2f}s: {sum(assigned.values()) - claimed} assigned + {claimed} claimed "
        f"then auto-released, {final} refused as final; 0 holds left"
    )
    assert_log_replays_to_holds()
    assert free_order_differences() == []  # the free orders followed every change
    assert hold_count_differences() == activity_count_differences() == []  # and the counters


ROUNDS_5B = 32
# Rounds go in fours: the script saves (0) before the supervisor reopens the order, (1) between the reopen and
# the take, (2) after the take, (3) whenever it happens to (no delays: the real race).


def test_a_stale_plain_save_of_a_completed_order_releases_the_hold_taken_after_it_was_reopened(
    supervisor, operator
):
    """A script loaded completed orders and saves them (changing a phone number, status untouched) while a
    supervisor reopens each order and an operator takes it. Whatever the order of events, the order the
    script's save puts back into "complete" must not stay held: entering a releasing status releases the
    hold, whichever path wrote it (invariant 6)."""
    ids = [order.pk for order in make_orders(ROUNDS_5B, status_code="complete")]
    reopened_and_taken = [threading.Event() for _ in ids]

    def script(barrier):
        for round_no, pk in enumerate(ids):
            order = Order.objects.get(pk=pk)  # complete when loaded
            barrier.wait(timeout=BARRIER_TIMEOUT)
            kind = round_no % 4
            if kind == 0:
                pass  # save at once: before the supervisor reopens it
            elif kind == 1:
                time.sleep(0.03)  # most likely between the reopen and the take (no hold yet)
            elif kind == 2:
                assert reopened_and_taken[round_no].wait(timeout=BARRIER_TIMEOUT)  # after the take
            order.customer_phone = f"+359 {round_no:04d}"
            order.save()

    def reopen_and_take(barrier):
        sup, me, results = fresh(supervisor), fresh(operator), []
        for round_no, pk in enumerate(ids):
            barrier.wait(timeout=BARRIER_TIMEOUT)
            if round_no % 4 == 0:
                time.sleep(0.03)
            reopened = orders_status_set(actor=sup, order_ids=[pk], status_code="pending", reason="reopened")
            if round_no % 4 == 1:
                time.sleep(0.06)
            results.append((reopened, orders_assign(actor=me, order_ids=[pk])))
            reopened_and_taken[round_no].set()
        return results

    started = time.monotonic()
    _none, results = run_together([script, reopen_and_take])
    elapsed = time.monotonic() - started

    taken = []
    for round_no, (reopened, assigned) in enumerate(results):
        assert reopened.counts() == {Outcome.DONE: 1}, round_no
        assert set(assigned.counts()) <= {Outcome.DONE, Outcome.FINAL_STATUS}, (round_no, assigned.counts())
        taken.extend(assigned.done_ids)
    states = dict(Order.objects.filter(pk__in=ids).values_list("pk", "status_id"))
    held = holders()
    stuck = sorted(round_no for round_no, pk in enumerate(ids) if pk in held and states[pk] == "complete")
    print(
        f"\n[race 5b] {ROUNDS_5B} rounds of a stale plain save vs reopen + assign in {elapsed:.2f}s: "
        f"{len(taken)} taken, {len(held)} still held, {sum(s == 'complete' for s in states.values())} "
        f"complete at the end, held while complete in rounds {stuck}"
    )
    assert_no_hold_on_a_releasing_status()
    assert_log_replays_to_holds()
    assert free_order_differences() == []  # the free orders followed every change
    assert hold_count_differences() == activity_count_differences() == []  # and the counters


# --- 6. the capacity cap -----------------------------------------------------------------------------------


def test_eight_concurrent_claims_for_one_operator_never_exceed_the_cap(operator, settings):
    settings.ORDEROPS = {"MAX_HELD_PER_OPERATOR": 5}
    make_orders(100)

    def claim(barrier):
        me = fresh(operator)
        return [order_claim_next(actor=me) for _ in range(3)]

    started = time.monotonic()
    results = run_together([claim] * 8)
    elapsed = time.monotonic() - started

    outcomes = Counter(claim.outcome for claims in results for claim in claims)
    assert outcomes == {Outcome.DONE: 5, Outcome.AT_CAPACITY: 19}
    claimed = [claim.order.pk for claims in results for claim in claims if claim.outcome == Outcome.DONE]
    assert len(set(claimed)) == 5
    assert set(holders()) == set(claimed)
    assert Assignment.objects.filter(operator=operator).count() == 5
    assert log_count() == 5
    print(
        f"\n[race 6a] 8 threads x 3 claim-next for one operator, cap 5, in {elapsed:.2f}s: "
        f"{dict(outcomes)}; holds {Assignment.objects.filter(operator=operator).count()}"
    )
    assert_log_replays_to_holds()
    assert free_order_differences() == []  # the free orders followed every change
    assert hold_count_differences() == activity_count_differences() == []  # and the counters


def test_eight_concurrent_bulk_assigns_to_one_operator_never_exceed_the_cap(operator, supervisor, settings):
    settings.ORDEROPS = {"MAX_HELD_PER_OPERATOR": 5}
    ids = [order.pk for order in make_orders(80)]
    slices = [ids[index * 10 : (index + 1) * 10] for index in range(8)]

    def work_of(index: int):
        def work(barrier):
            if index < 4:  # Anna takes orders herself
                return orders_assign(actor=fresh(operator), order_ids=slices[index])
            if index < 6:  # Boris assigns orders to her
                return orders_assign(
                    actor=fresh(supervisor), order_ids=slices[index], operator=fresh(operator)
                )
            # Boris reassigns (free) orders to her
            return orders_reassign(actor=fresh(supervisor), order_ids=slices[index], operator=fresh(operator))

        return work

    started = time.monotonic()
    results = run_together([work_of(index) for index in range(8)])
    elapsed = time.monotonic() - started

    outcomes = Counter()
    for result in results:
        outcomes.update(result.counts())
        for item in result.of(Outcome.AT_CAPACITY):
            assert item.holder.pk == operator.pk
    assert outcomes == {Outcome.DONE: 5, Outcome.AT_CAPACITY: 75}
    done = {pk for result in results for pk in result.done_ids}
    assert holders() == dict.fromkeys(done, operator.pk)
    assert log_count() == 5
    print(
        f"\n[race 6b] 8 concurrent bulk assigns / reassigns of 10 orders to one operator, cap 5, in "
        f"{elapsed:.2f}s: {dict(outcomes)}"
    )
    assert_log_replays_to_holds()
    assert free_order_differences() == []  # the free orders followed every change
    assert hold_count_differences() == activity_count_differences() == []  # and the counters


def test_one_operators_holds_stay_under_the_cap_while_eight_tabs_claim_assign_and_release(operator, settings):
    """Holds come and go: a ninth connection samples the operator's hold count all along; it never
    passes the cap, and every change is logged once."""
    settings.ORDEROPS = {"MAX_HELD_PER_OPERATOR": 5}
    ids = [order.pk for order in make_orders(60)]
    last_row_before = last_log_id()
    racing = threading.Event()
    tabs_left, tabs_lock = [8], threading.Lock()
    samples: list[int] = []

    def monitor(barrier):
        while True:
            samples.append(Assignment.objects.filter(operator_id=operator.pk).count())
            if not racing.is_set():
                return

    def tab(seed: int):
        def work(barrier):
            try:
                return steps(seed)
            finally:
                with tabs_lock:
                    tabs_left[0] -= 1
                    if not tabs_left[0]:
                        racing.clear()

        return work

    def steps(seed: int) -> int:
        me, rng, done = fresh(operator), random.Random(seed), 0
        for _step in range(15):
            kind = rng.choice(["claim", "assign", "release"])
            if kind == "claim":
                claim = order_claim_next(actor=me)
                assert claim.outcome in (Outcome.DONE, Outcome.AT_CAPACITY), claim.message
                done += claim.outcome == Outcome.DONE
            elif kind == "assign":
                result = orders_assign(actor=me, order_ids=rng.sample(ids, 3))
                assert set(result.counts()) <= {
                    Outcome.DONE,
                    Outcome.ALREADY_YOURS,
                    Outcome.AT_CAPACITY,
                }, result.counts()
                done += len(result.done)
            else:
                mine = list(Assignment.objects.filter(operator=me).values_list("order_id", flat=True))
                result = orders_release(actor=me, order_ids=rng.sample(mine, min(len(mine), 2)))
                assert set(result.counts()) <= {Outcome.DONE, Outcome.NOT_HELD}, result.counts()
                done += len(result.done)
        return done

    racing.set()
    started = time.monotonic()
    try:
        results = run_together([tab(seed) for seed in range(8)] + [monitor])
    finally:
        racing.clear()
    elapsed = time.monotonic() - started

    results = results[:8]
    assert samples and max(samples) <= 5, Counter(samples)
    assert Assignment.objects.filter(operator=operator).count() <= 5
    new_rows = AssignmentLog.objects.filter(id__gt=last_row_before).count()
    assert new_rows == sum(results)
    print(
        f"\n[race 6c] 8 tabs of one operator x 15 claim/assign/release steps, cap 5, in {elapsed:.2f}s: "
        f"{sum(results)} changes = {new_rows} log rows; {len(samples)} samples, max held {max(samples)}"
    )
    assert_log_replays_to_holds()
    assert free_order_differences() == []  # the free orders followed every change
    assert hold_count_differences() == activity_count_differences() == []  # and the counters
