"""Database helpers shared by the apps: passing a large set of ids as one SQL parameter."""

import json
from collections.abc import Iterable

from django.db import connection
from django.db.models.expressions import RawSQL


def id_set_sql(ids: Iterable[int]) -> tuple[str, list]:
    """SQL for "the set of these ids" as a subquery with one parameter, however many ids there are.

    One parameter keeps the statement's text and cost independent of N, and stays under SQLite's limit on
    bound variables. Use as `column IN (<sql>)`.
    """
    id_list = [int(pk) for pk in ids]
    if connection.vendor == "postgresql":
        return "SELECT unnest(%s::bigint[])", [id_list]
    return "SELECT value FROM json_each(%s)", [json.dumps(id_list)]


def id_set(ids: Iterable[int]) -> RawSQL:
    """The same set as an ORM expression: `Model.objects.filter(pk__in=id_set(ids))`."""
    sql, params = id_set_sql(ids)
    return RawSQL(sql, params)


def db_datetime(value):
    """A datetime as the database expects it in a raw statement's parameters."""
    return connection.ops.adapt_datetimefield_value(value)
