"""`sws backup` and `sws restore` on SQLite and MariaDB: the same round trip as on PostgreSQL
(a settled, closed month; a new database; `sws billing check`; the same ledger and bills)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tests.integration.test_backup_postgres import _bills, _sws
from tests.integration.test_billing_farmer_postgres import _finish, _ledger, _seed, _settle
from tests.servicedb import MARIADB_ADMIN, MARIADB_URL


def _mariadb(statement: str) -> None:
    admin = create_engine(MARIADB_ADMIN)
    try:
        with admin.begin() as conn:
            conn.execute(text(statement))
    except OperationalError as exc:
        pytest.skip(f"MariaDB at 127.0.0.1:3306 is not reachable ({type(exc).__name__})")
    finally:
        admin.dispose()


@pytest.fixture
def mariadb_pair() -> Iterator[tuple[str, str]]:
    """Two new MariaDB databases: the one SWS runs on, and an empty one to restore into."""
    names = [f"sws_backup_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    for name in names:
        _mariadb(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield MARIADB_URL.format(names[0]), MARIADB_URL.format(names[1])
    finally:
        for name in names:
            _mariadb(f"DROP DATABASE IF EXISTS `{name}`")


def _round_trip(source: str, target: str, home: Path) -> None:
    _seed(source)
    _finish(_settle(source, home, batch=500))
    assert _sws(source, home, "billing", "close-month", "2026-03").returncode == 0
    original, bills = _ledger(source), _bills(source)
    backup = home / "sws.backup"
    made = _sws(source, home, "backup", str(backup))
    assert made.returncode == 0, made.stdout + made.stderr
    restored = _sws(target, home, "restore", str(backup))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    print("\n" + made.stdout.strip() + "\n" + restored.stdout.strip())
    check = _sws(target, home, "billing", "check")
    assert check.returncode == 0 and "0 mismatches, 0 double charges" in check.stdout
    assert _ledger(target) == original
    assert _bills(target) == bills and len(bills) == 12


def test_sqlite_round_trip(tmp_path: Path) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'sws.db'}", f"sqlite:///{tmp_path / 'new.db'}", tmp_path)


@pytest.mark.mariadb
def test_mariadb_round_trip(tmp_path: Path, mariadb_pair: tuple[str, str]) -> None:
    _round_trip(*mariadb_pair, tmp_path)
