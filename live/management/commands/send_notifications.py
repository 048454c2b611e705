"""Send the notifications' emails from the outbox: a worker that keeps running, or one pass for cron."""

from live.outbox import Delivery, outbox_deliver
from orderops.conf import orderops_setting
from orderops.outbox import OutboxWorkerCommand


class Command(OutboxWorkerCommand):
    help = (
        "Send the emails waiting in the notifications' outbox. Runs until stopped (SIGTERM or Ctrl-C end it "
        "after the message being sent), sleeping while nothing is due; --once sends what is due and exits "
        "(for cron). Any number of workers may run at once: each message is sent by one of them."
    )
    rows = "Messages"
    nothing_due = "No email was due."

    def sleep_help(self) -> str:
        return 'default ORDEROPS["OUTBOX_IDLE_SLEEP"]'

    def idle_sleep(self) -> float:
        return orderops_setting("OUTBOX_IDLE_SLEEP")

    def send_pass(self, *, worker: str, limit: int, stop) -> Delivery:
        return outbox_deliver(worker=worker, limit=limit, stop=stop)

    def summary(self, sent: Delivery) -> str:
        return f"Sent {sent.sent}, to retry {sent.retrying}, failed {sent.failed}."
