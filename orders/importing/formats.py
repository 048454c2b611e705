"""The port for file formats that other apps read for import_orders (the stores' export files), so that the
order domain offers them without importing the apps that read them.

ORDEROPS["IMPORT_FORMATS"] maps a format name (`--format shopify-csv`) to the dotted path of a FileFormat
(default: the stores app's four); import_orders resolves it with import_string on first use and the system
check verifies it at start-up. A FileFormat reads a file into ForeignRecords and gives the target that
applies them (for the stores: a connected store, named by --store).
"""

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from django.utils.module_loading import import_string

from orderops.conf import orderops_setting

# The formats of orders.importing.reading, which no setting may take over.
OWN_FORMATS = ("csv", "jsonl")


@dataclass(frozen=True, slots=True)
class ForeignRecord:
    """One order read from a file: where it is, its number, and either the format's own reading of it
    (`order`, handed back to the target) or why it cannot be imported (`problem`: a sentence naming the
    order and the field)."""

    record: int
    line: int
    number: str
    order: Any = None
    problem: str = ""

    def __str__(self) -> str:
        return f"record {self.record} (line {self.line}): {self.problem}"


@dataclass(slots=True)
class ForeignApplied:
    """What a target did with a batch: a count per outcome (created, updated, unchanged, stale, ...) and the
    records it could not apply, with the reason."""

    outcomes: Counter[str]
    refused: list[ForeignRecord]


class ForeignTarget(Protocol):
    """Where the orders go: `label` names it in messages ("the Shopify store acme"); `apply` applies a batch
    of readable records, each in its own transaction, and reports each one it refused."""

    label: str

    def apply(self, records: Sequence[ForeignRecord]) -> ForeignApplied: ...


class FileFormat(Protocol):
    """`description` is the help text; `open(path)` yields (records, bytes_read) like records_open;
    `target(store)` is where the orders go, or raises ImportFileError saying why not (no --store, an unknown
    store, a store of another platform); `notes(path)` says what else a person should know about the file."""

    description: str

    def open(
        self, path: Path
    ) -> AbstractContextManager[tuple[Iterator[ForeignRecord], Callable[[], int]]]: ...

    def target(self, store: str | None) -> ForeignTarget: ...

    def notes(self, path: Path) -> list[str]:
        """What a person should know about the file beyond its records (a search page that holds only part
        of the orders the search found); empty when nothing."""
        ...


@cache
def _format_at(path: str) -> FileFormat:
    return import_string(path)


def import_format_names() -> list[str]:
    """The names of the configured formats, as --format takes them."""
    return list(orderops_setting("IMPORT_FORMATS"))


def import_format(name: str) -> FileFormat:
    """The configured format named `name`."""
    return _format_at(orderops_setting("IMPORT_FORMATS")[name])
