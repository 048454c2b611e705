"""Send the notifications' emails from the outbox: a worker that keeps running, or one pass for cron."""

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connection

from live.outbox import Delivery, outbox_deliver, worker_name
from orderops.conf import orderops_setting


class Command(BaseCommand):
    help = (
        "Send the emails waiting in the notifications' outbox. Runs until stopped (SIGTERM or Ctrl-C end it "
        "after the message being sent), sleeping while nothing is due; --once sends what is due and exits "
        "(for cron). Any number of workers may run at once: each message is sent by one of them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Send what is due now, then exit.")
        parser.add_argument(
            "--batch-size", type=int, default=50, help="Messages claimed at a time (default 50)."
        )
        parser.add_argument(
            "--sleep",
            type=float,
            default=None,
            help='Seconds to wait when nothing is due (default ORDEROPS["OUTBOX_IDLE_SLEEP"]).',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError(f"--batch-size must be at least 1; got {batch_size}.")
        pause = options["sleep"] if options["sleep"] is not None else orderops_setting("OUTBOX_IDLE_SLEEP")
        if pause < 0:
            raise CommandError(f"--sleep cannot be negative; got {pause}.")
        worker = worker_name()
        self.stopping = False
        if not options["once"]:
            signal.signal(signal.SIGTERM, self.stop)
        total = Delivery()
        try:
            while not self.stopping:
                if not connection.in_atomic_block:  # (a test runs it inside one)
                    close_old_connections()  # a long-running worker outlives its connections
                delivery = outbox_deliver(worker=worker, limit=batch_size, stop=lambda: self.stopping)
                total.sent += delivery.sent
                total.retrying += delivery.retrying
                total.failed += delivery.failed
                if delivery.claimed:
                    self.report(delivery, options)
                    continue
                if options["once"]:
                    break
                time.sleep(pause)
        except KeyboardInterrupt:
            pass
        if options["once"]:
            self.stdout.write(
                f"Sent {total.sent}, to retry {total.retrying}, failed {total.failed}."
                if total.claimed
                else "No email was due."
            )

    def stop(self, signum, frame) -> None:
        self.stopping = True

    def report(self, delivery: Delivery, options: dict) -> None:
        if options["verbosity"] >= 2 or (not options["once"] and options["verbosity"] >= 1):
            self.stdout.write(
                f"Sent {delivery.sent}, to retry {delivery.retrying}, failed {delivery.failed}."
            )
