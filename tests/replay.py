"""Replaying the assignment log: rebuild every order's holder from the log and compare with the holds."""

from collections import defaultdict

from operators.models import Assignment, AssignmentLog

Action = AssignmentLog.Action
RELEASES = {Action.RELEASED, Action.AUTO_RELEASED, Action.EXPIRED}
MOVES = {Action.TAKEN_OVER, Action.REASSIGNED}


class LogReplayError(AssertionError):
    pass


def replay_holds(order_ids=None) -> dict[int, int]:
    """{order id: holder id} as the log tells it. Raises LogReplayError on a log that contradicts itself
    (a hold given to an order already held, a release of a hold that was not there, a move from someone who
    did not hold it). Per order, rows are replayed in id order: changes to one order are serialized by its
    row lock, so ids follow commit order."""
    rows = AssignmentLog.objects.order_by("order_id", "id")
    if order_ids is not None:
        rows = rows.filter(order_id__in=list(order_ids))
    holder: dict[int, int | None] = defaultdict(lambda: None)
    for entry in rows.values("id", "order_id", "action", "operator_id", "previous_operator_id"):
        order, current = entry["order_id"], holder[entry["order_id"]]
        action = entry["action"]
        if action == Action.ASSIGNED:
            if current is not None:
                raise LogReplayError(f"log row {entry['id']}: order {order} assigned while held by {current}")
            holder[order] = entry["operator_id"]
        elif action in RELEASES:
            if current != entry["operator_id"]:
                raise LogReplayError(
                    f"log row {entry['id']}: order {order} released from {entry['operator_id']}"
                    f" but held by {current}"
                )
            holder[order] = None
        elif action in MOVES:
            if current is None or current != entry["previous_operator_id"]:
                raise LogReplayError(
                    f"log row {entry['id']}: order {order} moved from "
                    f"{entry['previous_operator_id']} but held by {current}"
                )
            holder[order] = entry["operator_id"]
        else:
            raise LogReplayError(f"log row {entry['id']}: unknown action {action!r}")
    return {order: operator for order, operator in holder.items() if operator is not None}


def assert_log_replays_to_holds(order_ids=None) -> None:
    """Invariant 2: replaying the log gives exactly the current holds."""
    holds = Assignment.objects.all()
    if order_ids is not None:
        holds = holds.filter(order_id__in=list(order_ids))
    actual = dict(holds.values_list("order_id", "operator_id"))
    replayed = replay_holds(order_ids)
    assert replayed == actual, f"log replay {replayed} != holds {actual}"
