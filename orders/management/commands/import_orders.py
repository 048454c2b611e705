"""Import orders from a store's export (CSV or JSON Lines) by order number; see docs/import-format.md."""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.db import transaction

from orderops.commands import BatchCommand, plural
from orderops.progress import Progress
from orders.importing import (
    ImportCounts,
    ImportedOrder,
    ImportFileError,
    RecordValidator,
    format_guess,
    orders_import,
    orders_import_plan,
    records_open,
)
from orders.selectors import final_status_labels

# Exit status of an import that wrote the valid records and skipped invalid ones (--skip-invalid).
EXIT_PARTIAL = 2
REASON_PREFIX = "import_orders: "


@dataclass
class PassResult:
    """One pass over the file: how many records, how many invalid, and what the batches did."""

    records: int = 0
    invalid: int = 0
    batches: int = 0
    counts: ImportCounts = field(default_factory=ImportCounts)
    first_invalid: str = ""


class Command(BatchCommand):
    help = (
        "Import orders from a CSV or JSON Lines file (docs/import-format.md), creating new orders and"
        " updating existing ones by number. All or nothing unless --skip-invalid."
    )
    dry_run_help = "Validate the file and say what would be created and updated; change nothing."
    # Orders per batch: per transaction with --skip-invalid, per statement group otherwise (the status
    # service refuses more than BULK_MAX_ORDERS at once).
    batch_size_help = "Orders written per batch (default {default}; at most BULK_MAX_ORDERS)."
    # The summary is text: counts of what was created, updated and left, said as the import goes.
    json_summary = False

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="The file: .csv, or .jsonl / .ndjson (JSON Lines).")
        parser.add_argument(
            "--format", choices=["csv", "jsonl"], help="The file's format, when its extension does not say."
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help=f"Import the valid records and report the others (exit status {EXIT_PARTIAL} when any were"
            " skipped). Without it, one invalid record means nothing is imported.",
        )
        super().add_arguments(parser)

    def handle_batches(self, *args: Any, batch_size: int, **options: Any) -> None:
        path = Path(options["path"])
        try:
            file_format = format_guess(path, options["format"])
            if not path.is_file():
                raise ImportFileError(f"There is no file {path}.")
            if options["dry_run"]:
                self.dry_run(path, file_format, batch_size, skip_invalid=options["skip_invalid"])
            elif options["skip_invalid"]:
                self.import_valid(path, file_format, batch_size)
            else:
                self.import_all_or_nothing(path, file_format, batch_size)
        except ImportFileError as error:
            raise CommandError(f"{error} Nothing was imported.") from None

    # --- the three ways to run -----------------------------------------------------------------------------

    def dry_run(self, path: Path, file_format: str, batch_size: int, *, skip_invalid: bool) -> None:
        result = self.read(
            path,
            file_format,
            batch_size,
            "validating",
            on_batch=lambda orders: orders_import_plan(orders=orders).counts,
        )
        valid = result.records - result.invalid
        self.stdout.write(f"Dry run of {path.name}: {self.records_line(result)}")
        if result.invalid and not skip_invalid:
            self.stdout.write(
                self.counts_text(result.counts, "would", prefix="Once they are fixed, the import")
            )
            raise CommandError(
                f"{result.invalid:,} of {plural(result.records, 'record')} invalid (listed above):"
                " the import would change nothing. Nothing was changed."
            )
        self.stdout.write(self.counts_text(result.counts, "would"))
        self.stdout.write("Nothing was changed (dry run).")
        if result.invalid:
            raise CommandError(
                f"With --skip-invalid the import would write the {valid:,} valid records and skip"
                f" {plural(result.invalid, 'invalid record')}.",
                returncode=EXIT_PARTIAL,
            )

    def import_all_or_nothing(self, path: Path, file_format: str, batch_size: int) -> None:
        """Validate the whole file first; only a file without a bad record is written, in one transaction."""
        checked = self.read(path, file_format, batch_size, "validating", on_batch=None)
        if checked.invalid:
            raise CommandError(
                f"{checked.invalid:,} of {plural(checked.records, 'record')} invalid (listed above):"
                f" nothing was imported. Fix them, or run with --skip-invalid to import the"
                f" {checked.records - checked.invalid:,} valid ones."
            )
        reason = REASON_PREFIX + path.name
        try:
            with transaction.atomic():
                written = self.read(
                    path,
                    file_format,
                    batch_size,
                    "importing",
                    on_batch=lambda orders: orders_import(orders=orders, reason=reason),
                    report_problems=False,
                )
                if written.invalid:
                    # The file changed between the passes: what was validated is not what is being written.
                    raise CommandError(
                        f"{path.name} changed while it was imported ({written.first_invalid}):"
                        " nothing was imported."
                    )
        except CommandError:
            raise
        except (Exception, KeyboardInterrupt) as error:
            raise CommandError(
                f"The import failed ({type(error).__name__}: {error}); nothing was imported."
            ) from error
        self.stdout.write(self.style.SUCCESS(f"Imported {path.name}: {self.records_line(written)}"))
        self.stdout.write(self.counts_text(written.counts, "did"))

    def import_valid(self, path: Path, file_format: str, batch_size: int) -> None:
        """One pass: each batch of valid records commits on its own; invalid ones are reported and skipped."""
        reason = REASON_PREFIX + path.name
        result = PassResult()
        try:
            self.read(
                path,
                file_format,
                batch_size,
                "importing",
                on_batch=lambda orders: orders_import(orders=orders, reason=reason),
                into=result,
            )
        except (Exception, KeyboardInterrupt) as error:
            if isinstance(error, ImportFileError) and not result.batches:
                raise  # nothing was written: "cannot read the file ... Nothing was imported." says it all
            self.stdout.write(self.counts_text(result.counts, "did", prefix="Before it stopped, the import"))
            raise CommandError(
                f"The import stopped in batch {result.batches + 1} ({type(error).__name__}: {error}) after"
                f" {result.records:,} records. Batches 1 to {result.batches} are imported; batch"
                f" {result.batches + 1} changed nothing; the rest of the file was not read. The import is"
                " safe to run again: imported orders are updated, not duplicated."
                if result.batches
                else f"The import stopped in its first batch ({type(error).__name__}: {error}); nothing was"
                " imported."
            ) from error
        self.stdout.write(self.style.SUCCESS(f"Imported {path.name}: {self.records_line(result)}"))
        self.stdout.write(self.counts_text(result.counts, "did"))
        if result.invalid:
            raise CommandError(
                f"{plural(result.invalid, 'invalid record')} skipped (listed above); the"
                f" {result.records - result.invalid:,} valid ones are imported.",
                returncode=EXIT_PARTIAL,
            )

    # --- reading -------------------------------------------------------------------------------------------

    def read(
        self,
        path: Path,
        file_format: str,
        batch_size: int,
        label: str,
        *,
        on_batch: Callable[[list[ImportedOrder]], ImportCounts] | None,
        report_problems: bool = True,
        into: PassResult | None = None,
    ) -> PassResult:
        """Read the whole file, validating each record; hand the valid ones to `on_batch` in batches.

        Problems go to stderr as they are found, one line each, so that none is held in memory.
        """
        result = into if into is not None else PassResult()
        validator = RecordValidator()
        batch: list[ImportedOrder] = []
        with (
            records_open(path, file_format) as (records, bytes_read),
            Progress(path.stat().st_size, label, stream=self.stderr) as progress,
        ):
            for raw in records:
                result.records += 1
                order = validator.validate(raw)
                if order is None:
                    result.invalid += 1
                    result.first_invalid = result.first_invalid or str(raw.problems[0])
                    if report_problems:
                        for problem in raw.problems:
                            progress.note(str(problem), self.stderr)
                elif on_batch is not None:
                    batch.append(order)
                    if len(batch) >= batch_size:
                        result.counts.add(on_batch(batch))
                        result.batches += 1
                        batch = []
                progress.update(bytes_read())
            if batch and on_batch is not None:
                result.counts.add(on_batch(batch))
                result.batches += 1
        return result

    # --- output --------------------------------------------------------------------------------------------

    def records_line(self, result: PassResult) -> str:
        if not result.records:
            return "the file has no records."
        if not result.invalid:
            return f"{plural(result.records, 'record')}, all valid."
        return f"{plural(result.records, 'record')}, {result.invalid:,} invalid (listed above)."

    def counts_text(self, counts: ImportCounts, mood: str, *, prefix: str = "") -> str:
        would = mood == "would"
        parts = [
            f"{'would create' if would else 'created'} {plural(counts.created, 'order')}",
            f"{'would update' if would else 'updated'} {counts.updated:,}",
            f"{'would leave' if would else 'left'} {counts.unchanged:,} unchanged",
        ]
        text = (f"{prefix} " if prefix else "") + ", ".join(parts) + "."
        text = text[0].upper() + text[1:]
        if counts.lines_replaced:
            text += (
                f" Lines {'would be ' if would else ''}replaced on {plural(counts.lines_replaced, 'order')}."
            )
        if counts.status_changes:
            releasing = final_status_labels()
            moves = ", ".join(
                f"{count:,} to {code}"
                for code, count in sorted(counts.status_changes.items(), key=lambda i: i[0])
            )
            text += f" Status {'would change' if would else 'changed'}: {moves}."
            released = sorted(code for code in counts.status_changes if code in releasing)
            if released:
                text += (
                    f" Orders entering {', '.join(released)} {'would lose' if would else 'lost'} their holds"
                    " (logged as auto-released, with the import as the reason)."
                )
        return text
