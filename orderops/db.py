"""Database helpers shared by the apps: passing a large set of ids as one SQL parameter; commits that need
not wait for the disk; server-side cursors where a transaction pooler keeps them working; statements
prepared once per server connection. Nothing here relies on state left on a connection after its
transaction (README, "Scaling out": PgBouncer): a prepared statement is checked for, and prepared where
missing, by the message that runs it."""

import contextlib
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal

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


# PostgreSQL types of the parameters a prepared statement takes, by the Python type of the value passed.
_PARAMETER_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "bigint"),
    (float, "double precision"),
    (Decimal, "numeric"),
    (datetime, "timestamptz"),
    (date, "date"),
    (str, "text"),
)
_PLACEHOLDER = re.compile(r"%%|%s")


_PARAMETER_TYPE_OF: dict[type, str] = {}


def _parameter_type(value: object) -> str:
    """The PostgreSQL type of a parameter (a list: of its first item; an empty one: text[])."""
    kind = type(value)
    known = _PARAMETER_TYPE_OF.get(kind)
    if known is not None:
        return known
    if isinstance(value, list | tuple):
        return f"{_parameter_type(value[0]) if value else 'text'}[]"
    for python_type, sql_type in _PARAMETER_TYPES:
        if isinstance(value, python_type):
            _PARAMETER_TYPE_OF[kind] = sql_type
            return sql_type
    raise TypeError(f"no PostgreSQL type for a prepared statement's parameter of {kind.__name__}")


def prepared_statement(
    sql: str, params: Sequence, *, fingerprint: str = "", generic: bool = False
) -> tuple[str, list]:
    """(SQL, parameters) that run `sql` as a statement prepared on the server connection that runs it:
    parsed and planned there once, then only executed (a claim's statement spent more time planned than run:
    0.6 of 1.2 ms, measured with pgbench at 1,000,000 orders).

    Safe behind a transaction pooler (PgBouncer): the statement is prepared, when that server connection does
    not have it yet, by the same message that executes it, so both run on one server connection whichever
    it is; nothing else relies on it being there. Its name is a hash of its text, its parameters' types and
    `fingerprint` (the caller's: the types of the columns it returns, so that a migration that changes them
    never meets a plan prepared for the old ones). A None parameter is written into the text as NULL (its
    type is the column's); every other parameter is typed by its Python value. PostgreSQL only.

    `generic`: run the plan made for any parameters, never one made again for these (PostgreSQL keeps
    planning anew while it judges a plan for these values cheaper, which it does for any LIMIT or array
    parameter: then nothing is saved). Set by `SET LOCAL plan_cache_mode` for the rest of the transaction
    (it touches nothing but prepared statements and the triggers' cached plans), so for a statement whose
    plan does not depend on its values, that runs last in its transaction."""
    values = list(params)
    nulls = tuple(value is None for value in values)
    types = tuple(_parameter_type(value) for value in values if value is not None)
    return _prepared_run(sql, nulls, types, fingerprint, generic), [
        value for value in values if value is not None
    ]


@functools.lru_cache(maxsize=256)
def _prepared_run(
    sql: str, nulls: tuple[bool, ...], types: tuple[str, ...], fingerprint: str, generic: bool
) -> str:
    name, prepare = _prepared(sql, nulls, types, fingerprint)
    placeholders = f"({', '.join(['%s'] * len(types))})" if types else ""
    return (
        ("SET LOCAL plan_cache_mode TO force_generic_plan; " if generic else "") + "DO $orderops$ BEGIN"
        f" IF NOT EXISTS (SELECT FROM pg_prepared_statements WHERE name = '{name}') THEN"
        f" EXECUTE '{prepare}'; END IF; END $orderops$;"
        f" EXECUTE {name}{placeholders}"
    )


@functools.lru_cache(maxsize=256)
def _prepared(sql: str, nulls: tuple[bool, ...], types: tuple[str, ...], fingerprint: str) -> tuple[str, str]:
    """(name, PREPARE statement quoted for a string literal and for psycopg2) of `sql` with its %s written
    as $1, $2... (NULL where `nulls` says so)."""
    pieces = _PLACEHOLDER.split(sql)
    marks = _PLACEHOLDER.findall(sql)
    if marks.count("%s") != len(nulls):
        raise ValueError(f"{marks.count('%s')} placeholders for {len(nulls)} parameters")
    text, position, numbered = [pieces[0]], 0, 0
    for mark, piece in zip(marks, pieces[1:], strict=True):
        if mark == "%%":
            text.append("%")
        else:
            if nulls[position]:
                text.append("NULL")
            else:
                numbered += 1
                text.append(f"${numbered}")
            position += 1
        text.append(piece)
    body = "".join(text)
    signature = f"({', '.join(types)})" if types else ""
    name = "orderops_" + hashlib.sha1(f"{body}\n{signature}\n{fingerprint}".encode()).hexdigest()[:20]
    return name, f"PREPARE {name}{signature} AS {body}".replace("'", "''").replace("%", "%%")
