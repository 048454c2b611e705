"""Reading the stores' export files: Shopify's orders-export CSV (continuation rows), and JSON files holding
one order or several (a WooCommerce list, a Magento search page, Shopify's {"order"} / {"orders"})."""

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orders.importing import ImportFileError
from stores.exports import (
    MAGENTO_JSON,
    SHOPIFY_CSV,
    SHOPIFY_JSON,
    WOOCOMMERCE_JSON,
    json_orders,
    json_records,
    shopify_csv_records,
)
from stores.incoming import IncomingLine
from stores.platforms import woocommerce
from stores.platforms.magento import order_from_payload as magento_mapping

FIXTURES = Path(__file__).resolve().parent.parent.parent / "stores" / "fixtures"
CSV_EXPORT = FIXTURES / "shopify-orders-export.csv"


def read(file_format, path):
    with file_format.open(path) as (records, _bytes_read):
        return list(records)


def test_shopify_csv_export_holds_19_orders_in_40_rows_each_with_its_lines():
    records = read(SHOPIFY_CSV, CSV_EXPORT)

    assert [record.number for record in records] == [f"#{n}" for n in range(1001, 1020)]
    assert all(not record.problem for record in records)
    assert sum(len(record.order.lines) for record in records) == 40
    assert [record.line for record in records[:4]] == [2, 6, 8, 9]  # where each order's first row is


def test_shopify_csv_first_order_takes_its_fields_from_its_first_row_and_a_line_from_every_row():
    first = read(SHOPIFY_CSV, CSV_EXPORT)[0].order

    assert first.external_id == "6634244374859"
    assert first.number == "#1001"
    assert first.store_status == "fulfilled"
    assert first.payment_status == "paid"
    assert first.fulfillment_status == "fulfilled"
    assert first.created_at == datetime(2025, 5, 11, 13, 55, 16, tzinfo=UTC)  # 09:55:16 -0400
    # The export has no updated_at: the latest of created, paid, fulfilled and cancelled at.
    assert first.updated_at == datetime(2025, 5, 11, 13, 57, 5, tzinfo=UTC)
    assert first.currency == "EUR"
    assert (
        first.grand_total,
        first.subtotal,
        first.shipping_total,
        first.tax_total,
        first.discount_total,
    ) == (
        Decimal("1659.95"),
        Decimal("1659.95"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    # A draft order without a customer: no name, email or address in the export.
    assert (first.customer_name, first.customer_email, first.shipping_country) == ("", "", "")
    assert first.lines == (
        IncomingLine("", "Gift Card - $10", 1, Decimal("10.00"), Decimal("10.00")),
        IncomingLine(
            "", "Selling Plans Ski Wax - Selling Plans Ski Wax", 1, Decimal("24.95"), Decimal("24.95")
        ),
        IncomingLine("", "The Collection Snowboard: Hydrogen", 1, Decimal("600.00"), Decimal("600.00")),
        IncomingLine("", "The Collection Snowboard: Oxygen", 1, Decimal("1025.00"), Decimal("1025.00")),
    )
    assert sum(line.line_total for line in first.lines) == first.subtotal


def test_shopify_csv_every_orders_lines_add_up_to_its_subtotal():
    for record in read(SHOPIFY_CSV, CSV_EXPORT):
        order = record.order
        assert sum(line.line_total for line in order.lines) == order.subtotal + order.discount_total, (
            order.number
        )


def test_shopify_csv_customers_statuses_and_skus_as_the_export_has_them():
    orders = {record.number: record.order for record in read(SHOPIFY_CSV, CSV_EXPORT)}

    named = {number: order.customer_name for number, order in orders.items() if order.customer_name}
    assert named["#1004"] == "Ayumu Hirano"
    assert named["#1008"] == "Russell Winfield"
    assert orders["#1011"].fulfillment_status == "partial"
    assert orders["#1011"].store_status == "paid"
    assert {order.payment_status for order in orders.values()} >= {"paid", "pending"}
    skus = [line.sku for order in orders.values() for line in order.lines if line.sku]
    assert skus == ["sku-untracked-1", "sku-untracked-1"]


HEADER = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Subtotal,Shipping,Taxes,Total,"
    "Discount Amount,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,"
    "Lineitem discount,Billing Name,Shipping Name,Shipping Street,Shipping City,Shipping Zip,"
    "Shipping Country,Notes,Cancelled at,Id"
)


def csv_records(*rows: str):
    return list(shopify_csv_records(io.StringIO("\n".join([HEADER, *rows]) + "\n")))


def test_shopify_csv_cancelled_order_with_a_discount_an_apostrophe_zip_and_a_note():
    (record,) = csv_records(
        "#2001,a@example.com,refunded,2025-01-02 10:00:00 +0200,unfulfilled,BGN,20.00,5.00,4.00,24.00,5.00,"
        '2025-01-02 09:00:00 +0200,2,Mug,10.00,MUG-1,5.00,Ana Ivanova,Ana Ivanova,"Vitosha 1, fl. 2",Sofia,'
        '\'01000,bg,"Call first",2025-01-03 08:00:00 +0200,42',
    )
    order = record.order
    assert order.store_status == "cancelled"
    assert order.updated_at == datetime(2025, 1, 3, 6, 0, tzinfo=UTC)
    assert order.lines == (IncomingLine("MUG-1", "Mug", 2, Decimal("10.00"), Decimal("15.00")),)
    assert (order.shipping_street, order.shipping_postcode, order.shipping_country) == (
        "Vitosha 1, fl. 2",
        "01000",
        "BG",
    )
    assert order.customer_note == "Call first"


def test_shopify_csv_bad_cell_names_the_order_the_column_and_the_line():
    records = csv_records(
        "#2001,,paid,,,EUR,10.00,0,0,10.00,0,2025-01-02 09:00:00 +0200,1,Mug,10.00,,0,,,,,,,,,41",
        "#2001,,,,,,,,,,,2025-01-02 09:00:00 +0200,1,Cup,ten,,0,,,,,,,,,",
        "#2002,,paid,,,EUR,10.00,0,0,10.00,0,2025-01-02 09:00:00 +0200,1,Mug,10.00,,0,,,,,,,,,43",
    )
    assert records[0].problem == "Shopify order #2001: Lineitem price (line 3) 'ten' is not an amount"
    assert records[0].line == 2
    assert records[1].order.number == "#2002"


def test_shopify_csv_order_without_its_first_row_fields_is_refused():
    (record,) = csv_records(
        "#2001,,paid,,,,10.00,0,0,10.00,0,2025-01-02 09:00:00 +0200,1,Mug,10.00,,0,,,,,,,,,41"
    )
    assert record.problem.startswith("Shopify order #2001: Currency (line 2) is missing")


def test_shopify_csv_short_row_is_a_record_of_its_own_and_the_reading_goes_on():
    records = csv_records(
        "#2001,,paid",
        "#2002,,paid,,,EUR,10.00,0,0,10.00,0,2025-01-02 09:00:00 +0200,1,Mug,10.00,,0,,,,,,,,,43",
    )
    assert records[0].problem == "the row has 3 cells; the header has 26"
    assert records[1].order.number == "#2002"


def test_shopify_csv_that_is_not_an_orders_export_is_refused_before_anything():
    with pytest.raises(ImportFileError, match="This is not a Shopify orders export: its header lacks Id"):
        list(shopify_csv_records(io.StringIO("Name,Financial Status,Fulfillment Status,Currency,Total\n")))
    with pytest.raises(ImportFileError, match="The CSV file is empty"):
        list(shopify_csv_records(io.StringIO("")))


def test_json_export_holds_one_order_or_several_in_every_wrapper_with_the_line_each_starts_on():
    assert [(line, where, order["id"]) for line, where, order in json_orders('[{"id": 1},\n {"id": 2}]')] == [
        (1, "[0]", 1),
        (2, "[1]", 2),
    ]
    assert [where for _, where, _ in json_orders('{"order": {"id": 1}}')] == ["order"]
    assert [(line, where) for line, where, _ in json_orders('{"orders": [\n{"id": 1},\n{"id": 2}]}')] == [
        (2, "orders[0]"),
        (3, "orders[1]"),
    ]
    page = '{"items": [{"entity_id": 3}, {"entity_id": 4}], "search_criteria": {}, "total_count": 2}'
    assert [order["entity_id"] for _, _, order in json_orders(page)] == [3, 4]
    assert [where for _, where, _ in json_orders('{"id": 7, "items": []}')] == ["the order"]
    assert list(json_orders("[]")) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "The file is empty"),
        ('[{"id": 1},', "The file is not valid JSON \\(line 1, column 12"),
        ('{"id": 1} {"id": 2}', "The file is not valid JSON \\(line 1, column 11: Extra data"),
        ('"order"', "The file holds a JSON str, not an order or a list of orders"),
    ],
)
def test_json_export_that_cannot_be_read_is_refused_before_anything(content, message):
    with pytest.raises(ImportFileError, match=message):
        list(json_orders(content))


@pytest.mark.parametrize(
    ("file_format", "fixture", "numbers"),
    [
        (SHOPIFY_JSON, "shopify-order.json", ["#1001"]),
        (SHOPIFY_JSON, "shopify-orders.json", ["#1001"]),
        (WOOCOMMERCE_JSON, "woocommerce-orders.json", ["727", "723"]),
        (WOOCOMMERCE_JSON, "woocommerce-order.json", ["727"]),
        (MAGENTO_JSON, "magento-order.json", ["000000003"]),
    ],
)
def test_each_real_json_fixture_reads_as_its_orders(file_format, fixture, numbers):
    records = read(file_format, FIXTURES / fixture)
    assert [record.number for record in records] == numbers
    assert all(record.order is not None and not record.problem for record in records)


def test_magento_search_page_and_legacy_woocommerce_wrappers_read_through_the_mapping(tmp_path):
    magento = json.loads((FIXTURES / "magento-order.json").read_text())
    page = tmp_path / "page.json"
    page.write_text(
        json.dumps(
            {"items": [magento, {**magento, "entity_id": 4, "increment_id": "000000004"}], "total_count": 2}
        )
    )
    assert [record.number for record in read(MAGENTO_JSON, page)] == ["000000003", "000000004"]

    delivery = json.loads((FIXTURES / "woocommerce-webhook-delivery.json").read_text())
    legacy = tmp_path / "legacy.json"
    legacy.write_text(delivery["request_body"])
    assert [(record.number, record.order.currency) for record in read(WOOCOMMERCE_JSON, legacy)] == [
        ("118", "BRL")
    ]


def test_a_magento_search_page_holding_part_of_the_search_says_so(tmp_path):
    magento = json.loads((FIXTURES / "magento-order.json").read_text())
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"items": [magento], "search_criteria": {}, "total_count": 250}))
    assert MAGENTO_JSON.notes(page) == [
        "The file is one page of a search: it holds 1 of the 250 orders the search found (total_count)."
        " Export the other pages (searchCriteria[currentPage]) to import them too."
    ]
    page.write_text(json.dumps({"items": [magento], "total_count": 1}))
    assert MAGENTO_JSON.notes(page) == []
    assert MAGENTO_JSON.notes(FIXTURES / "magento-order.json") == []
    assert SHOPIFY_CSV.notes(CSV_EXPORT) == []
    page.write_text("{broken")
    assert MAGENTO_JSON.notes(page) == []


def test_json_export_with_one_bad_order_reports_it_by_place_and_reads_the_others(tmp_path):
    orders = json.loads((FIXTURES / "woocommerce-orders.json").read_text())
    orders[1]["total"] = "n/a"
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(orders, indent=2))
    first, second = read(WOOCOMMERCE_JSON, path)
    assert first.order.number == "727"
    assert second.order is None
    assert second.number == "723"
    assert second.problem == "[1]: WooCommerce order 723: total 'n/a' is not an amount"
    assert str(second).startswith(f"record 2 (line {second.line}): [1]: WooCommerce order 723")


def test_export_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(CSV_EXPORT.read_bytes().replace(b"Hydrogen", b"Hydr\xf6gen"))
    with pytest.raises(ImportFileError, match="is not UTF-8 text"):
        read(SHOPIFY_CSV, path)
    path.write_bytes(b'[{"id": 1, "name": "\xff"}]')
    with pytest.raises(ImportFileError, match="is not UTF-8 text"):
        read(WOOCOMMERCE_JSON, path)


def test_each_order_of_a_json_export_is_the_webhook_mapping_of_it():
    payloads = json.loads((FIXTURES / "woocommerce-orders.json").read_text())
    records = read(WOOCOMMERCE_JSON, FIXTURES / "woocommerce-orders.json")
    assert [record.order for record in records] == [woocommerce.order_from_payload(p) for p in payloads]


# --- never a crash ----------------------------------------------------------------------------------------

CSV_ROWS = CSV_EXPORT.read_text(encoding="utf-8").splitlines()[:6]  # the header and order #1001's 4 rows


@settings(max_examples=200, deadline=None)
@given(row=st.integers(1, 4), column=st.integers(0, 78), cell=st.text(max_size=12))
def test_shopify_csv_any_cell_replaced_by_any_text_is_an_order_or_a_problem(row, column, cell):
    rows = [next(csv.reader([line])) for line in CSV_ROWS]
    rows[row][column] = cell
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    buffer.seek(0)
    for record in shopify_csv_records(buffer):
        assert (record.order is None) == bool(record.problem)


@settings(max_examples=200, deadline=None)
@given(
    document=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=6),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(
                st.sampled_from(["id", "order", "orders", "items", "total_count", "x"]), children
            )
        ),
        max_leaves=8,
    )
)
def test_json_export_of_any_shape_reads_as_records_or_is_refused_as_a_file(document):
    try:
        records = list(json_records(json.dumps(document), magento_mapping))
    except ImportFileError:
        return
    for record in records:
        assert (record.order is None) == bool(record.problem)
