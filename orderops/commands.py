"""What the operations commands share: --batch-size, --dry-run and --json, and the end-of-run summary."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orderops.conf import orderops_setting
from orders.results import RequestRefused

# Rows per batch unless --batch-size says otherwise: small enough that nobody waits long for a row the batch
# has locked, large enough that 100,000 rows take a few hundred statements. At most BULK_MAX_ORDERS.
DEFAULT_BATCH_SIZE = 1000


class BatchCommand(BaseCommand):
    """A command that works through many orders or holds a batch at a time.

    It adds --dry-run, --json (unless `json_summary` is False) and --batch-size after the command's own
    options, refuses a batch size outside 1..ORDEROPS["BULK_MAX_ORDERS"] before anything runs, and turns a
    service's RequestRefused into a CommandError with the refusal's message. Like Django's LabelCommand,
    a subclass implements `handle_batches(*args, batch_size=..., **options)` instead of `handle()`, and
    writes its summary with `summary_write()`, from its `summary_json()` and `summary_text()`.
    """

    default_batch_size = DEFAULT_BATCH_SIZE
    # Help texts; {default} is the default batch size.
    dry_run_help = "Say what would change; change nothing."
    batch_size_help = "Rows per batch (default {default}, at most ORDEROPS BULK_MAX_ORDERS)."
    json_summary = True

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help=self.dry_run_help)
        if self.json_summary:
            parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=self.default_batch_size,
            help=self.batch_size_help.format(default=self.default_batch_size),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        options["batch_size"] = self.batch_size_checked(options["batch_size"])
        try:
            self.handle_batches(*args, **options)
        except RequestRefused as refused:
            raise CommandError(refused.message) from refused

    def handle_batches(self, *args: Any, batch_size: int, **options: Any) -> None:
        raise NotImplementedError("a BatchCommand implements handle_batches()")

    def batch_size_checked(self, value: int) -> int:
        limit = orderops_setting("BULK_MAX_ORDERS")
        if not 1 <= value <= limit:
            raise CommandError(
                f"--batch-size must be between 1 and {limit} (ORDEROPS BULK_MAX_ORDERS); got {value}."
            )
        return value

    def listing(self, options: dict[str, Any]) -> bool:
        """Whether to write a line per order or hold: always in a dry run, with -v 2 in a real one, never
        under --json (whose output is the summary alone)."""
        if options.get("json"):
            return False
        return bool(options["dry_run"]) or options["verbosity"] >= 2

    # --- the summary ---------------------------------------------------------------------------------------

    def summary_write(self, report: Any, *, as_json: bool) -> None:
        """The end-of-run summary on stdout: one JSON document for scripts, or lines of text for people."""
        if as_json:
            self.json_write(self.summary_json(report))
            return
        for line in self.summary_text(report):
            self.stdout.write(line)

    def json_write(self, document: Any, *, indent: int | None = 2) -> None:
        self.stdout.write(json.dumps(document, indent=indent))

    def summary_json(self, report: Any) -> dict[str, Any]:
        raise NotImplementedError("a BatchCommand with a summary implements summary_json()")

    def summary_text(self, report: Any) -> list[str]:
        raise NotImplementedError("a BatchCommand with a summary implements summary_text()")


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`1 hold`, `1,200 holds`, `2 batches`."""
    return f"{count:,} {singular if count == 1 else plural_form or singular + 's'}"


def rows_delete_in_batches(queryset, *, batch_size: int) -> tuple[int, int]:
    """Delete the rows of `queryset`, `batch_size` at a time, each DELETE committing by itself (no
    transaction around the loop): it holds its rows' locks only while it runs, so writers of the same table
    never wait long on it. Rows that match only after the first batch wait for the next run. Returns the rows
    deleted and the batches."""
    deleted = batches = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        count, _by_model = queryset.model._default_manager.filter(pk__in=ids).delete()
        deleted += count
        batches += 1
        if len(ids) < batch_size:
            break
    return deleted, batches
