"""import_orders with the stores' export formats: each order applied to the store named by --store through
the store apply path, a dry run that says exactly what would change, refusals that change nothing, and the
port's setting checked at start-up."""

import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from operators.checks import check_orderops_settings
from orders.models import Order
from stores.models import Store
from tests.factories import StoreFactory
from tests.operators.test_races import run_together

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent.parent / "stores" / "fixtures"


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("import_orders", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("import_orders", *map(str, args), stdout=out, stderr=err)
    return str(raised.value), err.getvalue()


def store(platform: str, slug: str) -> Store:
    return StoreFactory(slug=slug, platform=platform, name=slug.title())


@pytest.fixture
def magento():
    return store("magento", "luma")


@pytest.fixture
def woocommerce():
    return store("woocommerce", "woo")


@pytest.fixture
def shopify():
    return store("shopify", "snow")


def test_magento_json_with_store_creates_the_order_with_its_store_fields_and_lines(magento):
    out, _ = run(FIXTURES / "magento-order.json", "--format", "magento-json", "--store", "luma")

    assert "Imported magento-order.json: 1 order, all valid." in out
    assert "In the Magento store luma: created 1 order, updated 0, left 0 unchanged." in out
    order = Order.objects.get(store=magento)
    assert order.external_id == "3"
    assert order.status_id == "pending"
    assert str(order.grand_total) == "165.00"
    assert order.customer_name == "Jane Doe"
    assert order.shipping_country == "US"
    lines = list(order.lines.order_by("pk").values_list("sku", "qty", "line_total"))
    assert [sku for sku, _qty, _total in lines] == [
        "WS12-M-Orange",
        "240-LV08",
        "24-WG080-24-WG084-24-WG088-24-WG082-blue-24-WG086",
        "MH01-S-Gray",
    ]
    assert sum(total for _sku, _qty, total in lines) == 160


def test_woocommerce_list_imported_twice_is_created_then_left_unchanged(woocommerce):
    path = FIXTURES / "woocommerce-orders.json"
    run(path, "--format", "woocommerce-json", "--store", "woo")
    versions = dict(Order.objects.filter(store=woocommerce).values_list("external_id", "version"))
    assert set(versions) == {"727", "723"}
    assert Order.objects.get(store=woocommerce, external_id="723").status_id == "complete"

    out, _ = run(path, "--format", "woocommerce-json", "--store", "woo")

    assert "created 0 orders, updated 0, left 2 unchanged." in out
    assert dict(Order.objects.filter(store=woocommerce).values_list("external_id", "version")) == versions


def test_an_older_file_leaves_the_newer_copy_held_and_says_so(woocommerce, tmp_path):
    orders = json.loads((FIXTURES / "woocommerce-orders.json").read_text())
    newer = [{**orders[0], "status": "completed", "date_modified_gmt": "2017-03-23T10:00:00"}]
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    run(tmp_path / "newer.json", "--format", "woocommerce-json", "--store", "woo")

    out, _ = run(FIXTURES / "woocommerce-order.json", "--format", "woocommerce-json", "--store", "woo")

    assert "left 1 older than the copy held (stale)" in out
    assert Order.objects.get(store=woocommerce, external_id="727").status_id == "complete"


def test_shopify_json_order_and_orders_files_update_one_order(shopify):
    run(FIXTURES / "shopify-order.json", "--format", "shopify-json", "--store", "snow")
    order = Order.objects.get(store=shopify)
    assert (order.external_id, order.lines.count()) == ("450789469", 3)


def test_dry_run_with_a_store_says_what_would_change_and_changes_nothing(magento):
    out, _ = run(FIXTURES / "magento-order.json", "--format", "magento-json", "--store", "luma", "--dry-run")

    assert "Dry run of magento-order.json: 1 order, all valid." in out
    assert "In the Magento store luma: would create 1 order, would update 0, would leave 0 unchanged." in out
    assert "Nothing was changed (dry run)." in out
    assert not Order.objects.exists()


def test_a_search_page_holding_part_of_the_search_is_imported_with_a_warning(magento, tmp_path):
    order = json.loads((FIXTURES / "magento-order.json").read_text())
    page = tmp_path / "page-1.json"
    page.write_text(json.dumps({"items": [order], "search_criteria": {}, "total_count": 101}))

    out, _ = run(page, "--format", "magento-json", "--store", "luma")

    assert "it holds 1 of the 101 orders the search found (total_count)" in out
    assert "created 1 order" in out


def test_dry_run_batch_by_batch_counts_what_is_held_and_changes_nothing(woocommerce):
    path = FIXTURES / "woocommerce-orders.json"
    run(FIXTURES / "woocommerce-order.json", "--format", "woocommerce-json", "--store", "woo")
    version = Order.objects.get(store=woocommerce, external_id="727").version

    out, _ = run(path, "--format", "woocommerce-json", "--store", "woo", "--dry-run", "--batch-size", "1")

    assert "would create 1 order, would update 0, would leave 1 unchanged." in out
    assert list(Order.objects.filter(store=woocommerce).values_list("external_id", "version")) == [
        ("727", version)
    ]


def test_dry_run_without_a_store_checks_the_file_alone():
    out, _ = run(FIXTURES / "shopify-orders-export.csv", "--format", "shopify-csv", "--dry-run")
    assert "Dry run of shopify-orders-export.csv: 19 orders, all valid." in out
    assert "Name the store with --store SLUG" in out
    assert not Order.objects.exists()


def test_a_store_format_without_store_is_refused_naming_store():
    message, _ = refused(FIXTURES / "magento-order.json", "--format", "magento-json")
    assert message == (
        "--format magento-json reads a Magento store's export: name the store its orders belong to with"
        " --store SLUG (python manage.py store_connect creates one), or check the file alone with --dry-run."
        " Nothing was imported."
    )


def test_unknown_store_and_a_store_of_another_platform_are_refused(shopify):
    message, _ = refused(FIXTURES / "magento-order.json", "--format", "magento-json", "--store", "nope")
    assert message == "There is no store 'nope'. No Magento store is connected. Nothing was imported."
    message, _ = refused(FIXTURES / "magento-order.json", "--format", "magento-json", "--store", "snow")
    assert message == (
        "The store 'snow' is a Shopify store; --format magento-json is a Magento export."
        " Nothing was imported."
    )
    assert not Order.objects.exists()


def test_json_file_without_format_and_store_with_an_own_format_are_refused(shopify):
    message, _ = refused(FIXTURES / "shopify-order.json")
    assert (
        "shopify-order.json is JSON: say which store's export it is with --format shopify-json |" in message
    )
    message, _ = refused(FIXTURES / "shopify-orders-export.csv", "--store", "snow")
    assert message.startswith("--store is for a store's export file: say which with --format shopify-csv |")


def test_one_bad_order_in_the_file_imports_nothing_and_names_it(woocommerce, tmp_path):
    orders = json.loads((FIXTURES / "woocommerce-orders.json").read_text())
    orders[1]["line_items"][0]["quantity"] = 0
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(orders))

    message, err = refused(path, "--format", "woocommerce-json", "--store", "woo")

    assert (
        "record 2 (line 1): [1]: WooCommerce order 723: line_items.0.quantity 0 is not a quantity of"
        " at least 1" in err
    )
    assert message.startswith("1 of 2 records invalid (listed above): nothing was imported.")
    assert not Order.objects.exists()


def test_skip_invalid_imports_the_good_orders_and_exits_2(woocommerce, tmp_path):
    orders = json.loads((FIXTURES / "woocommerce-orders.json").read_text())
    orders[1]["total"] = "free"
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(orders))

    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(
            "import_orders",
            str(path),
            "--format",
            "woocommerce-json",
            "--store",
            "woo",
            "--skip-invalid",
            stdout=out,
            stderr=err,
        )

    assert raised.value.returncode == 2
    assert "created 1 order" in out.getvalue()
    assert list(Order.objects.filter(store=woocommerce).values_list("external_id", flat=True)) == ["727"]


def test_an_order_the_store_refuses_stops_an_all_or_nothing_import(woocommerce, tmp_path):
    woocommerce.status_map = {
        key: value for key, value in woocommerce.status_map.items() if key != "completed"
    }
    woocommerce.save()

    message, _ = refused(
        FIXTURES / "woocommerce-orders.json", "--format", "woocommerce-json", "--store", "woo"
    )

    assert "'completed' is not in the store's status map" in message
    assert message.endswith("nothing was imported.")
    assert not Order.objects.exists()


def test_shopify_csv_export_imports_every_order_of_the_real_file(shopify, tmp_path):
    path = tmp_path / "orders_export.csv"
    shutil.copy(FIXTURES / "shopify-orders-export.csv", path)

    out, err = run(path, "--format", "shopify-csv", "--store", "snow")

    assert "In the Shopify store snow: created 19 orders, updated 0, left 0 unchanged." in out, err
    assert Order.objects.filter(store=shopify).count() == 19
    first = Order.objects.get(store=shopify, external_id="6634244374859")
    assert (first.lines.count(), first.payment_status, first.fulfillment_status) == (4, "paid", "fulfilled")


@pytest.mark.parametrize(
    "value",
    [
        {"csv": "stores.exports.SHOPIFY_CSV"},
        {"Shopify CSV": "stores.exports.SHOPIFY_CSV"},
        {"shopify-csv": "stores.exports.NOPE"},
        {"shopify-csv": "stores.exports.json_orders"},
        ["shopify-csv"],
    ],
)
def test_system_check_refuses_a_bad_import_formats_setting(settings, value):
    settings.ORDEROPS = {"IMPORT_FORMATS": value}
    errors = check_orderops_settings()
    assert [error.id for error in errors] == ["orderops.E003"]
    assert "IMPORT_FORMATS" in errors[0].msg


def test_system_check_accepts_the_default_import_formats(settings):
    from orderops.conf import DEFAULTS

    settings.ORDEROPS = {"IMPORT_FORMATS": DEFAULTS["IMPORT_FORMATS"]}
    assert check_orderops_settings() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_export_at_once_create_each_order_once_and_keep_the_newest(tmp_path):
    store("woocommerce", "woo")
    orders = json.loads((FIXTURES / "woocommerce-orders.json").read_text())
    newer = [{**order, "status": "cancelled", "date_modified_gmt": "2017-04-01T10:00:00"} for order in orders]
    (tmp_path / "older.json").write_text(json.dumps(orders))
    (tmp_path / "newer.json").write_text(json.dumps(newer))

    def importer(name):
        def work(barrier):
            return run(tmp_path / name, "--format", "woocommerce-json", "--store", "woo")[0]

        return work

    for _round in range(3):
        outputs = run_together([importer("older.json"), importer("newer.json")])
        assert all("Imported" in output for output in outputs), outputs

    held = Order.objects.filter(store__slug="woo")
    assert sorted(held.values_list("external_id", "status_id")) == [("723", "canceled"), ("727", "canceled")]
