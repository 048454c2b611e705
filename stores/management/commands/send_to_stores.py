"""Write the operators' changes back to the stores from the outbox: a running worker, or one pass."""

from orderops.outbox import OutboxWorkerCommand
from stores.outbox import Sending, changes_send


class Command(OutboxWorkerCommand):
    help = (
        "Send the changes waiting for the connected stores (statuses, hold notes or tags, addresses). Runs "
        "until stopped (SIGTERM or Ctrl-C end it after the change being sent), idle while nothing is due; "
        "--once sends what is due and exits (for cron). Any number of workers may run at once: each change "
        "is sent by one of them, and one order's changes in the order they were made."
    )
    rows = "Changes"
    nothing_due = "No change was due."
    default_sleep = 5.0

    def send_pass(self, *, worker: str, limit: int, stop) -> Sending:
        return changes_send(worker=worker, limit=limit, stop=stop)

    def summary(self, sent: Sending) -> str:
        return f"Sent {sent.sent}, to retry {sent.retrying}, given up {sent.dead}."
