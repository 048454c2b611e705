"""Write the operators' changes back to the stores from the outbox: a running worker, or one pass."""

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connection

from stores.outbox import Sending, changes_send, worker_name


class Command(BaseCommand):
    help = (
        "Send the changes waiting for the connected stores (statuses, hold notes or tags, addresses). Runs "
        "until stopped (SIGTERM or Ctrl-C end it after the change being sent), idle while nothing is due; "
        "--once sends what is due and exits (for cron). Any number of workers may run at once: each change "
        "is sent by one of them, and one order's changes in the order they were made."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Send what is due now, then exit.")
        parser.add_argument(
            "--batch-size", type=int, default=50, help="Changes claimed at a time (default 50)."
        )
        parser.add_argument(
            "--sleep", type=float, default=5.0, help="Seconds to wait when nothing is due (default 5)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError(f"--batch-size must be at least 1; got {batch_size}.")
        if options["sleep"] < 0:
            raise CommandError(f"--sleep cannot be negative; got {options['sleep']}.")
        worker = worker_name()
        self.stopping = False
        if not options["once"]:
            signal.signal(signal.SIGTERM, self.stop)
        total = Sending()
        try:
            while not self.stopping:
                if not connection.in_atomic_block:  # (a test runs it inside one)
                    close_old_connections()  # a long-running worker outlives its connections
                sending = changes_send(worker=worker, limit=batch_size, stop=lambda: self.stopping)
                total.sent += sending.sent
                total.retrying += sending.retrying
                total.dead += sending.dead
                if sending.claimed:
                    if options["verbosity"] >= 2 or (not options["once"] and options["verbosity"] >= 1):
                        self.stdout.write(self.summary(sending))
                    continue
                if options["once"]:
                    break
                time.sleep(options["sleep"])
        except KeyboardInterrupt:
            pass
        if options["once"]:
            self.stdout.write(self.summary(total) if total.claimed else "No change was due.")

    def stop(self, signum, frame) -> None:
        self.stopping = True

    @staticmethod
    def summary(sending: Sending) -> str:
        return f"Sent {sending.sent}, to retry {sending.retrying}, given up {sending.dead}."
