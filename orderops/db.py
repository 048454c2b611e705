"""Database helpers shared by the apps: passing a large set of ids as one SQL parameter; commits that need
not wait for the disk."""

import contextlib
import json
from collections.abc import Iterable, Iterator

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


@contextlib.contextmanager
def commits_not_waiting_for_disk() -> Iterator[None]:
    """PostgreSQL: the commits inside do not wait for their WAL to reach the disk (synchronous_commit off
    for this connection, put back on the way out). Only for writes a crash of the database server may lose
    without harm, such as a presence heartbeat, which the next one repeats and which times out anyway: such
    a commit is still atomic and seen by everyone at once; a crash loses at most the last few hundred
    milliseconds of them (three times wal_writer_delay). Other databases: nothing changes."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        if connection.connection is not None and not connection.needs_rollback:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
