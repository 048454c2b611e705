"""Database helpers shared by the apps: passing a large set of ids as one SQL parameter; commits that need
not wait for the disk; server-side cursors where a transaction pooler keeps them working. Nothing here
leaves state on a connection after its transaction (README, "Scaling out": PgBouncer)."""

import contextlib
import json
from collections.abc import Iterable, Iterator

from django.db import connection, transaction
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
    """A transaction whose commit, on PostgreSQL, does not wait for its WAL to reach the disk.

    Only for writes a crash of the database server may lose without harm, such as a presence heartbeat,
    which the next one repeats and which times out anyway: the commit is still atomic and seen by everyone
    at once; a crash loses at most the last few hundred milliseconds of them (three times wal_writer_delay).

    The setting is `SET LOCAL`, inside the transaction: it ends with it, on the server connection that ran
    it. A session-level `SET` and `RESET` would be two transactions, which a transaction pooler (PgBouncer)
    may send to two different server connections, leaving another client's commits not waiting for the
    disk. Inside a caller's transaction nothing is set (its commit is the caller's, and may need to be
    durable): the block is a savepoint. Other databases: nothing changes (each statement commits alone, as
    outside the block).
    """
    if connection.vendor != "postgresql":
        yield
        return
    own_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if own_transaction:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO off")
        yield


@contextlib.contextmanager
def streamed_in_transaction() -> Iterator[None]:
    """Where `.iterator()` may run: inside a transaction on PostgreSQL.

    `.iterator()` reads through a server-side cursor. Outside a transaction Django declares it `WITH HOLD`
    and fetches it over several transactions, which a transaction pooler (PgBouncer) may send to different
    server connections ("cursor does not exist"); inside one the cursor lives and dies with the
    transaction, on one server connection. A caller's transaction is used as it is. SQLite has no
    server-side cursors, and its transactions lock out every writer (they start IMMEDIATE): nothing is
    opened there.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        yield
