"""Replaying the assignment log in tests: operators.verification, raising when log and holds differ."""

from operators.verification import assignment_log_verify, order_replays

# Differing orders named in a failure message; the message gives the total.
LISTED = 20


class LogReplayError(AssertionError):
    pass


def replay_holds(order_ids=None) -> dict[int, int]:
    """{order id: holder id} as the log tells it. Raises LogReplayError on a log that contradicts itself
    (a hold given to an order already held, a release of a hold that was not there, a move from someone who
    did not hold it)."""
    holders: dict[int, int] = {}
    for replay in order_replays(order_ids=order_ids):
        if replay.conflicts:
            conflict = replay.conflicts[0]
            raise LogReplayError(
                f"log row {conflict.log_id}: order {replay.order_id} {conflict.action} (operator"
                f" {conflict.operator_id}, previous {conflict.previous_operator_id}) while held by"
                f" {conflict.held_by_id}"
            )
        if replay.log_holder_id is not None:
            holders[replay.order_id] = replay.log_holder_id
    return holders


def assert_log_replays_to_holds(order_ids=None) -> None:
    """Invariant 2: replaying the log gives exactly the current holds, and no log row contradicts itself."""
    verification = assignment_log_verify(order_ids=order_ids, max_listed=LISTED)
    if not verification.agrees:
        listed = [difference.message for difference in verification.differences]
        if verification.orders_differing > len(listed):
            listed.append(f"... and {verification.orders_differing - len(listed):,} more")
        raise LogReplayError("\n".join([verification.summary(), *listed]))
