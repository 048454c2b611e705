"""The order search's trigram index (PostgreSQL): names, emails, phones and cities, accent-insensitive.

One GIN index over one expression of the four columns rather than one per column: every write of an order
row (the hold marker's too) updates every index on it. fastupdate is left at its default (on), so such a
write appends to the index's pending list instead of inserting each trigram at once.

unaccent() is STABLE (its dictionary could change), and an index expression must be IMMUTABLE: the wrapper
orderops_unaccent names its dictionary and schema and is declared IMMUTABLE, as the unaccent documentation
suggests. orders.selectors.orders_search queries the very same expression. SQLite has none of this and
searches with LIKE instead: its operations do nothing there.
"""

from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION orderops_unaccent(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$
"""

INDEX = """
CREATE INDEX order_search_trgm_idx ON orders_order USING gin (
    orderops_unaccent(lower(customer_name || ' ' || customer_email || ' ' || customer_phone || ' '
        || shipping_city)) gin_trgm_ops
)
"""


def search_index_create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    schema_editor.execute(INDEX)


def search_index_drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS order_search_trgm_idx")
    schema_editor.execute("DROP FUNCTION IF EXISTS orderops_unaccent(text)")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_order_held"),
    ]

    operations = [
        TrigramExtension(),
        UnaccentExtension(),
        migrations.RunPython(search_index_create, search_index_drop, elidable=False),
    ]
