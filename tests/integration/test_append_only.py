"""The journal only grows: the database refuses rewrites, and verify catches what slips by."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from ledger import Ledger
from tests.integration.ledgerkit import move, open_accounts

pytestmark = pytest.mark.integration

REWRITES = {
    "entries": ["UPDATE entries SET kind = 'forged'", "DELETE FROM entries"],
    "entry_lines": ["UPDATE entry_lines SET amount = amount", "DELETE FROM entry_lines"],
    "accounts": ["UPDATE accounts SET allow_negative = true", "DELETE FROM accounts"],
    "token_leaves": ["UPDATE token_leaves SET leaf = 'x'", "DELETE FROM token_leaves"],
    "merkle_nodes": ["UPDATE merkle_nodes SET level = level", "DELETE FROM merkle_nodes"],
}


def _seed(book: Ledger) -> str:
    open_accounts(book, "a", "b", world="w")
    open_accounts(book, "t", asset="AZR", world="pool")
    move(book, "pool", "t", 7, asset="AZR")  # a token leaf and its Merkle node
    move(book, "w", "a", 500)
    return move(book, "a", "b", 200).entry.id


def _azora(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "azora.cli", *args],
        env={"AZORA_DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("table", sorted(REWRITES))
def test_update_and_delete_are_refused(book: Ledger, engine: Engine, table: str) -> None:
    _seed(book)
    for statement in REWRITES[table]:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))


@pytest.mark.parametrize("table", sorted(REWRITES))
def test_truncate_is_refused_on_postgresql(pg_url: str, table: str) -> None:
    engine = create_engine(pg_url)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {table} CASCADE"))
    engine.dispose()


def test_app_role_has_no_rewrite_privilege(pg_url: str) -> None:
    role = f"azora_app_{uuid.uuid4().hex[:6]}"
    granted = _azora(pg_url, "db", "grant-app-role", role)
    assert granted.returncode == 0, granted.stderr
    app_url = make_url(pg_url).set(username=role).render_as_string(hide_password=False)
    engine = create_engine(app_url)
    try:
        with Ledger(engine) as book:
            _seed(book)  # the role can run the ledger
        for sql in ("UPDATE entries SET kind = 'x'", "DELETE FROM entries", "TRUNCATE entries"):
            # Even with the triggers out of the way, the role lacks the privilege.
            with pytest.raises(DBAPIError, match="permission denied"), engine.begin() as conn:
                conn.execute(text(sql))
    finally:
        engine.dispose()
        admin = create_engine(pg_url)
        with admin.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()


def _tamper(engine: Engine, sql: str) -> None:
    """Change a journal row behind the application's back, as a superuser could."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # triggers off
        else:
            conn.execute(text("DROP TRIGGER entries_no_update"))
            conn.execute(text("DROP TRIGGER entry_lines_no_update"))
        conn.execute(text(sql))


TAMPERS = {
    "amount": (
        "UPDATE entries SET postings = replace(postings, '\"200\"', '\"2000\"') WHERE id = :id",
        "hash does not match",
    ),
    "metadata": (
        'UPDATE entries SET metadata = \'{"note":"forged"}\' WHERE id = :id',
        "hash does not match",
    ),
    "seq gap": ("UPDATE entries SET seq = seq + 10 WHERE id = :id", "seq gap"),
    "history line": (
        "UPDATE entry_lines SET balance_after = '999' WHERE entry_id = :id",
        "history line",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERS))
def test_verify_reports_a_rewritten_journal(
    book: Ledger, engine: Engine, db_url: str, case: str
) -> None:
    entry_id = _seed(book)
    clean = _azora(db_url, "ledger", "verify", "--quiet")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    sql, reported = TAMPERS[case]
    _tamper(engine, sql.replace(":id", f"'{entry_id}'"))
    result = _azora(db_url, "ledger", "verify", "--quiet")
    assert result.returncode == 1, result.stdout
    assert "FAILED" in result.stdout
    assert reported in result.stdout


def test_verify_reports_a_rewritten_projection(book: Ledger, engine: Engine, db_url: str) -> None:
    _seed(book)
    with engine.begin() as conn:
        conn.execute(text("UPDATE balances SET balance = '1' WHERE account_id = 'b'"))
    result = _azora(db_url, "ledger", "verify", "--quiet")
    assert result.returncode == 1
    assert "balance of 'b'" in result.stdout
