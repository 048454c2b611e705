"""The code stays safe behind a transaction pooler (PgBouncer): no session state, server-side cursors only in
a transaction. A static check over the source, so that a new `.iterator()` or `SET` is caught on SQLite too;
tests/production/test_pgbouncer.py shows the failures they would cause through a real PgBouncer."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["orderops", "orders", "operators", "console", "api", "live", "bench"]
# Statements that leave state on a server connection after their transaction: a session-level SET or RESET
# (SET LOCAL and SET TRANSACTION end with the transaction), session advisory locks, LISTEN, prepared
# statements, temporary tables that outlive the transaction.
SESSION_STATE = re.compile(
    r"""(?:^|;)\s*(?:SET\s+(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)(?:SESSION\s+)?\w+|RESET\s+\w+|LISTEN\s+\w+"""
    r"""|PREPARE\s+\w+)|pg_(?:try_)?advisory_lock(?:_shared)?\s*\("""
    r"""|CREATE\s+TEMP(?:ORARY)?\s+TABLE(?![^"']*ON\s+COMMIT\s+DROP)""",
    # SQL keywords are written in capitals here: "Set the status" in a docstring is no statement.
    re.MULTILINE,
)


def _sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "/migrations/0" not in path.as_posix():
                yield path


def _strings(tree: ast.AST):
    """Every string literal, an f-string whole (its parts are one statement's fragments)."""
    fstrings = [node for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)]
    inside_fstrings = {id(part) for node in fstrings for part in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
            yield node.lineno, text
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in inside_fstrings:
                continue
            yield node.lineno, node.value


def test_no_statement_leaves_session_state_on_a_server_connection():
    found = [
        f"{path.relative_to(ROOT)}:{line}: {match.group(0)!r}"
        for path in _sources()
        for line, text in _strings(ast.parse(path.read_text()))
        if (match := SESSION_STATE.search(text))
    ]
    assert found == []


# A prepared statement outlives its transaction on its server connection, but nothing relies on it: the
# message that runs it prepares it first where that connection lacks it (orderops.db.prepared_statement).
# That function is the only place that writes PREPARE.
PREPARE = re.compile(r"\bPREPARE\b")


def test_only_the_self_preparing_helper_prepares_statements():
    found = {
        f"{path.relative_to(ROOT)}"
        for path in _sources()
        for _line, text in _strings(ast.parse(path.read_text()))
        if PREPARE.search(text)
    }
    assert found == {"orderops/db.py"}


def test_the_rule_catches_session_state():
    for statement in [
        "SET synchronous_commit TO off",
        "RESET synchronous_commit",
        "SELECT pg_try_advisory_lock(%s)",
        "SET statement_timeout = 5",
    ]:
        assert SESSION_STATE.search(statement), statement
    for statement in [
        "SET LOCAL synchronous_commit TO off",
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        "SELECT pg_try_advisory_xact_lock(%s)",
        "UPDATE orders_order SET held = true WHERE id = %s",
        "ON CONFLICT (tab, user_id) DO UPDATE SET order_id = excluded.order_id",
    ]:
        assert not SESSION_STATE.search(statement), statement


def _functions_streaming(tree: ast.AST):
    """(function, line) of every function that calls `.iterator(...)`, and whether it runs it inside
    `with streamed_in_transaction():`."""
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        guarded: set[int] = set()
        for node in ast.walk(function):
            if isinstance(node, ast.With) and any(
                isinstance(item.context_expr, ast.Call)
                and getattr(item.context_expr.func, "id", getattr(item.context_expr.func, "attr", ""))
                == "streamed_in_transaction"
                for item in node.items
            ):
                guarded |= {id(inner) for inner in ast.walk(node)}
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "iterator":
                yield function.name, node.lineno, id(node) in guarded


def test_every_server_side_cursor_is_read_inside_a_transaction():
    """`.iterator()` outside a transaction is a WITH HOLD cursor fetched over several transactions, which a
    transaction pooler may send to different server connections."""
    unguarded = [
        f"{path.relative_to(ROOT)}:{line} in {name}()"
        for path in _sources()
        for name, line, guarded in _functions_streaming(ast.parse(path.read_text()))
        if not guarded
    ]
    assert unguarded == []
