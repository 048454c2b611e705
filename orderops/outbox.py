"""What the two outboxes share (live/outbox.py: the notifications' emails; stores/outbox.py: the changes
written back to the stores): the name a worker claims rows with, the doubling wait between attempts, and the
worker command's loop (send_notifications, send_to_stores).

Each outbox keeps its own table, claim statement and sending: what they share is the mechanism. A worker
claims a batch in one statement with a lease, sends with no transaction open, and records the outcome only
where the claim is still its own; the loop below runs passes until nothing is due (--once) or until stopped.
"""

import os
import signal
import socket
import time
import uuid
from dataclasses import fields
from datetime import timedelta
from typing import Any, Protocol

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connection


def worker_name() -> str:
    """A claim that names the worker: host, process and a random part (two runs of one process differ)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def doubling_delay(attempts: int, *, first: float, longest: float | None = None) -> timedelta:
    """The wait after the `attempts`-th failed attempt: `first` seconds, doubled after each failure, up to
    `longest` when given."""
    seconds = first * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=seconds if longest is None else min(seconds, longest))


class Pass(Protocol):
    """What one pass of a worker did: a dataclass of counts (sent, to retry, given up) and their sum."""

    @property
    def claimed(self) -> int: ...


class OutboxWorkerCommand(BaseCommand):
    """A worker of an outbox: runs passes until stopped (SIGTERM or Ctrl-C end it after the row being sent),
    sleeping while nothing is due; --once runs passes while rows are due, then exits (for cron). A subclass
    names its rows and implements `send_pass()` and `summary()`."""

    rows = "Rows"  # what --batch-size claims, as its help says it
    nothing_due = "Nothing was due."
    default_sleep = 5.0

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Send what is due now, then exit.")
        parser.add_argument(
            "--batch-size", type=int, default=50, help=f"{self.rows} claimed at a time (default 50)."
        )
        parser.add_argument(
            "--sleep",
            type=float,
            default=None,
            help=f"Seconds to wait when nothing is due ({self.sleep_help()}).",
        )

    def sleep_help(self) -> str:
        return f"default {self.default_sleep:g}"

    def idle_sleep(self) -> float:
        return self.default_sleep

    def send_pass(self, *, worker: str, limit: int, stop) -> Any:
        raise NotImplementedError

    def summary(self, sent: Any) -> str:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError(f"--batch-size must be at least 1; got {batch_size}.")
        pause = options["sleep"] if options["sleep"] is not None else self.idle_sleep()
        if pause < 0:
            raise CommandError(f"--sleep cannot be negative; got {pause}.")
        once = options["once"]
        worker = worker_name()
        self.stopping = False
        if not once:
            signal.signal(signal.SIGTERM, self.stop)
        total = None
        try:
            while not self.stopping:
                if not connection.in_atomic_block:  # (a test runs it inside one)
                    close_old_connections()  # a long-running worker outlives its connections
                result = self.send_pass(worker=worker, limit=batch_size, stop=lambda: self.stopping)
                total = result if total is None else _added(total, result)
                if result.claimed:
                    if options["verbosity"] >= 2 or (not once and options["verbosity"] >= 1):
                        self.stdout.write(self.summary(result))
                    continue
                if once:
                    break
                time.sleep(pause)
        except KeyboardInterrupt:
            pass
        if once:
            self.stdout.write(
                self.summary(total) if total is not None and total.claimed else self.nothing_due
            )

    def stop(self, signum, frame) -> None:
        self.stopping = True


def _added(total: Any, result: Any) -> Any:
    """Two passes' counts added, field by field (a new instance of the same dataclass)."""
    return type(total)(
        **{field.name: getattr(total, field.name) + getattr(result, field.name) for field in fields(total)}
    )
