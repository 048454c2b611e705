"""Importing orders from a store's export: reading the two file formats, validating records, upserting them.

The format is documented in docs/import-format.md. Reading (orders.importing.reading) streams: a record is
parsed, validated (orders.importing.validation) and handed on before the next one is read, so memory grows
with the batch size and the set of order numbers seen, not with the file. Writing goes through
`orders_import` (orders.importing.writing), one batch per call; status changes of existing orders go
through the status service, so that an order entering a releasing status loses its hold, logged.
"""

from orders.importing.reading import (
    CSV_COLUMNS,
    CSV_LINE_PREFIX,
    FORMATS,
    JSON_KEYS,
    LINE_FIELDS,
    ORDER_FIELDS,
    REQUIRED_FIELDS,
    REQUIRED_LINE_FIELDS,
    ImportFileError,
    Problem,
    RawLine,
    RawRecord,
    csv_records,
    format_guess,
    jsonl_records,
    record_from_object,
    records_open,
)
from orders.importing.validation import (
    COUNTRY_CODE,
    CURRENCY_CODE,
    DEFAULT_CURRENCY,
    MONEY_LIMIT,
    MONEY_PLACES,
    QTY_LIMIT,
    ImportedOrder,
    RecordValidator,
    order_record_validate,
)
from orders.importing.writing import (
    UPDATED_FIELDS,
    ImportCounts,
    ImportPlan,
    orders_import,
    orders_import_plan,
)

__all__ = [
    "COUNTRY_CODE",
    "CSV_COLUMNS",
    "CSV_LINE_PREFIX",
    "CURRENCY_CODE",
    "DEFAULT_CURRENCY",
    "FORMATS",
    "JSON_KEYS",
    "LINE_FIELDS",
    "MONEY_LIMIT",
    "MONEY_PLACES",
    "ORDER_FIELDS",
    "QTY_LIMIT",
    "REQUIRED_FIELDS",
    "REQUIRED_LINE_FIELDS",
    "UPDATED_FIELDS",
    "ImportCounts",
    "ImportFileError",
    "ImportPlan",
    "ImportedOrder",
    "Problem",
    "RawLine",
    "RawRecord",
    "RecordValidator",
    "csv_records",
    "format_guess",
    "jsonl_records",
    "order_record_validate",
    "orders_import",
    "orders_import_plan",
    "record_from_object",
    "records_open",
]
