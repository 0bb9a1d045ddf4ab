"""`sws backup` and `sws restore` on PostgreSQL: a database with a settled, closed month is
backed up while it serves, restored into a new database, and the copy passes
`sws billing check` with the same ledger, charges and bills, entry by entry."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from sws.billing.tables import billing_bills
from sws.db.engine import make_engine
from tests.integration.test_billing_farmer_postgres import _finish, _ledger, _seed, _settle
from tests.servicedb import POSTGRES_ADMIN, POSTGRES_URL, postgres_database

pytestmark = pytest.mark.postgres


def _sws(url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SWS_DATABASE_URL": url, "SWS_HOME": str(home), "COLUMNS": "200"}
    command = [sys.executable, "-c", "from sws.cli import main; main()", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A new database with no schema at all: where a restore goes."""
    name = f"sws_restore_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.format(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _bills(url: str) -> list[tuple[str, str, str]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(billing_bills)).all()
    engine.dispose()
    return sorted((r.account_id, r.month, str(r.total)) for r in rows)


def test_a_restored_backup_has_the_same_ledger_and_passes_the_billing_check(
    tmp_path: Path, empty_database: str
) -> None:
    with postgres_database() as url:
        _seed(url)
        _finish(_settle(url, tmp_path, batch=500))
        closed = _sws(url, tmp_path, "billing", "close-month", "2026-03")
        assert closed.returncode == 0 and "closed 2026-03 for 12 account(s)" in closed.stdout
        original, bills = _ledger(url), _bills(url)
        backup = tmp_path / "sws.dump"
        made = _sws(url, tmp_path, "backup", str(backup))
        assert made.returncode == 0, made.stdout + made.stderr
        print("\n" + made.stdout.strip())
        again = _sws(url, tmp_path, "backup", str(backup))
        assert again.returncode == 2 and "exists" in again.stdout  # never overwritten
        refused = _sws(url, tmp_path, "restore", str(backup))  # not into a live database
        assert refused.returncode == 2 and "not empty" in refused.stdout

    restored = _sws(empty_database, tmp_path, "restore", str(backup))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    print(restored.stdout.strip())
    check = _sws(empty_database, tmp_path, "billing", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "0 mismatches, 0 double charges" in check.stdout
    assert _ledger(empty_database) == original  # every entry and charge, as they were
    assert _bills(empty_database) == bills and len(bills) == 12


def test_a_restore_refuses_a_file_that_is_no_postgresql_backup(
    tmp_path: Path, empty_database: str
) -> None:
    wrong = tmp_path / "notes.txt"
    wrong.write_text("-- MariaDB dump 10.19\n")
    refused = _sws(empty_database, tmp_path, "restore", str(wrong))
    assert refused.returncode == 2 and "is not a PostgreSQL backup" in refused.stdout
