"""Import orders from a store's export (CSV or JSON Lines) by order number; see docs/import-format.md. The
formats of ORDEROPS["IMPORT_FORMATS"] (the stores' export files: shopify-csv, shopify-json, woocommerce-json,
magento-json) are read by the app that names them and applied to the store named by --store."""

from collections import Counter
from collections.abc import Callable, Sequence
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
from orders.importing.formats import (
    OWN_FORMATS,
    FileFormat,
    ForeignRecord,
    ForeignTarget,
    import_format,
    import_format_names,
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


@dataclass
class StoreFileResult:
    """One pass over a store's export file: how many orders, how many invalid, what was done with the rest."""

    records: int = 0
    invalid: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


class StoreFileRefused(Exception):
    """The store refused an order of an all-or-nothing import: the import stops and changes nothing."""

    def __init__(self, record: ForeignRecord) -> None:
        super().__init__(str(record))
        self.record = record


class Command(BatchCommand):
    help = (
        "Import orders from a CSV or JSON Lines file (docs/import-format.md), creating new orders and"
        " updating existing ones by number; or a store's own export file (--format shopify-csv and the"
        " others, --store SLUG), applied to that store. All or nothing unless --skip-invalid."
    )
    dry_run_help = "Validate the file and say what would be created and updated; change nothing."
    # Orders per batch: per transaction with --skip-invalid, per statement group otherwise (the status
    # service refuses more than BULK_MAX_ORDERS at once).
    batch_size_help = "Orders written per batch (default {default}; at most BULK_MAX_ORDERS)."
    # The summary is text: counts of what was created, updated and left, said as the import goes.
    json_summary = False

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "path", help="The file: .csv, or .jsonl / .ndjson (JSON Lines), or a store's export."
        )
        store_formats = import_format_names()
        parser.add_argument(
            "--format",
            choices=[*OWN_FORMATS, *store_formats],
            help="The file's format, when its extension does not say; a store's export file always needs it"
            f" ({', '.join(store_formats)}) and --store.",
        )
        parser.add_argument(
            "--store",
            metavar="SLUG",
            help="The connected store a store's export file comes from: its orders are applied to that store"
            " as its webhooks' are (created, updated, or left when the file is older than what is held).",
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
            if options["format"] not in (None, *OWN_FORMATS):
                self.handle_store_file(path, batch_size, options)
                return
            if options["store"]:
                raise ImportFileError(
                    "--store is for a store's export file: say which with --format"
                    f" {' | '.join(import_format_names())}."
                )
            if path.suffix.lower() == ".json" and not options["format"]:
                raise ImportFileError(
                    f"{path.name} is JSON: say which store's export it is with --format"
                    f" {' | '.join(name for name in import_format_names() if name.endswith('-json'))},"
                    " and the store with --store SLUG."
                )
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

    # --- a store's export file -----------------------------------------------------------------------------

    def handle_store_file(self, path: Path, batch_size: int, options: dict[str, Any]) -> None:
        """A format of ORDEROPS["IMPORT_FORMATS"]: its app reads the file into records and applies them to the
        store named by --store. All or nothing unless --skip-invalid; a dry run applies and rolls back, so it
        says exactly what the import would do (without --store it checks the file alone)."""
        file_format = import_format(options["format"])
        target = None if options["dry_run"] and not options["store"] else file_format.target(options["store"])
        if not path.is_file():
            raise ImportFileError(f"There is no file {path}.")
        for note in file_format.notes(path):
            self.stdout.write(self.style.WARNING(note))
        if options["dry_run"]:
            self.store_file_dry_run(
                path, file_format, target, batch_size, skip_invalid=options["skip_invalid"]
            )
        elif options["skip_invalid"]:
            assert target is not None
            result = StoreFileResult()
            self.store_file_read(path, file_format, "importing", batch_size, target=target, into=result)
            self.stdout.write(self.style.SUCCESS(f"Imported {path.name}: {self.store_file_line(result)}"))
            self.stdout.write(self.outcomes_text(result.outcomes, target, "did"))
            if result.invalid:
                raise CommandError(
                    f"{plural(result.invalid, 'invalid record')} skipped (listed above); the"
                    f" {result.records - result.invalid:,} valid ones are imported.",
                    returncode=EXIT_PARTIAL,
                )
        else:
            assert target is not None
            checked = self.store_file_read(path, file_format, "validating", batch_size, target=None)
            if checked.invalid:
                raise CommandError(
                    f"{checked.invalid:,} of {plural(checked.records, 'record')} invalid (listed above):"
                    f" nothing was imported. Fix them, or run with --skip-invalid to import the"
                    f" {checked.records - checked.invalid:,} valid ones."
                )
            try:
                with transaction.atomic():
                    result = self.store_file_read(
                        path, file_format, "importing", batch_size, target=target, all_or_nothing=True
                    )
            except StoreFileRefused as refused:
                raise CommandError(f"{refused.record}: nothing was imported.") from None
            except CommandError:
                raise
            except (Exception, KeyboardInterrupt) as error:
                raise CommandError(
                    f"The import failed ({type(error).__name__}: {error}); nothing was imported."
                ) from error
            self.stdout.write(self.style.SUCCESS(f"Imported {path.name}: {self.store_file_line(result)}"))
            self.stdout.write(self.outcomes_text(result.outcomes, target, "did"))

    def store_file_dry_run(
        self,
        path: Path,
        file_format: FileFormat,
        target: ForeignTarget | None,
        batch_size: int,
        *,
        skip_invalid: bool,
    ) -> None:
        result = StoreFileResult()
        # Each batch is applied and rolled back on its own, so that a dry run holds the row locks of one
        # batch at a time: a webhook for one of its orders waits for a batch, not for the whole file.
        self.store_file_read(
            path, file_format, "validating", batch_size, target=target, into=result, roll_back=True
        )
        self.stdout.write(f"Dry run of {path.name}: {self.store_file_line(result)}")
        if target is None:
            self.stdout.write("Name the store with --store SLUG to see what the import would change.")
        else:
            self.stdout.write(self.outcomes_text(result.outcomes, target, "would"))
        self.stdout.write("Nothing was changed (dry run).")
        if result.invalid and not skip_invalid:
            raise CommandError(
                f"{result.invalid:,} of {plural(result.records, 'record')} invalid (listed above):"
                " the import would change nothing. Nothing was changed."
            )
        if result.invalid:
            raise CommandError(
                f"With --skip-invalid the import would write the {result.records - result.invalid:,} valid"
                f" records and skip {plural(result.invalid, 'invalid record')}.",
                returncode=EXIT_PARTIAL,
            )

    def store_file_read(
        self,
        path: Path,
        file_format: FileFormat,
        label: str,
        batch_size: int,
        *,
        target: ForeignTarget | None,
        into: "StoreFileResult | None" = None,
        all_or_nothing: bool = False,
        roll_back: bool = False,
    ) -> "StoreFileResult":
        """Read the file; report each record that cannot be read; apply the others to `target` a batch at a
        time. With `all_or_nothing`, the first order the target refuses stops the import (the caller's
        transaction then undoes it all); with `roll_back`, each batch is undone once applied (a dry run)."""
        result = into if into is not None else StoreFileResult()
        batch: list[ForeignRecord] = []

        def apply(records: Sequence[ForeignRecord]) -> None:
            assert target is not None
            if roll_back:
                with transaction.atomic():
                    applied = target.apply(records)
                    transaction.set_rollback(True)
            else:
                applied = target.apply(records)
            result.outcomes.update(applied.outcomes)
            for refused in applied.refused:
                if all_or_nothing:
                    raise StoreFileRefused(refused)
                result.invalid += 1
                progress.note(str(refused), self.stderr)

        with (
            file_format.open(path) as (records, bytes_read),
            Progress(path.stat().st_size, label, stream=self.stderr) as progress,
        ):
            for record in records:
                result.records += 1
                if record.problem:
                    result.invalid += 1
                    progress.note(str(record), self.stderr)
                elif target is not None:
                    batch.append(record)
                    if len(batch) >= batch_size:
                        apply(batch)
                        batch = []
                progress.update(bytes_read())
            if batch:
                apply(batch)
        return result

    def store_file_line(self, result: "StoreFileResult") -> str:
        if not result.records:
            return "the file has no orders."
        if not result.invalid:
            return f"{plural(result.records, 'order')}, all valid."
        return f"{plural(result.records, 'order')}, {result.invalid:,} invalid (listed above)."

    def outcomes_text(self, outcomes: Counter[str], target: ForeignTarget, mood: str) -> str:
        would = mood == "would"
        parts = [
            f"{'would create' if would else 'created'} {plural(outcomes['created'], 'order')}",
            f"{'would update' if would else 'updated'} {outcomes['updated']:,}",
            f"{'would leave' if would else 'left'} {outcomes['unchanged']:,} unchanged",
        ]
        if outcomes["stale"]:
            parts.append(
                f"{'would leave' if would else 'left'} {outcomes['stale']:,} older than the copy held (stale)"
            )
        others = sorted(set(outcomes) - {"created", "updated", "unchanged", "stale"})
        parts += [f"{outcomes[name]:,} {name}" for name in others]
        text = f"In {target.label}: " + ", ".join(parts) + "."
        return text

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
