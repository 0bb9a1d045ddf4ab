"""`sws db upgrade --expand-only`: a rolling upgrade's first step stops before a contraction.

The real migrations, copied, with a release's worth on top of the newest: an expansion (a
column), a contraction (`contract = True`: the column dropped) and one after it on its branch.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from sws.db.engine import make_engine
from sws.db.migrate import MIGRATIONS, upgrade
from sws.errors import Conflict
from tests.migrations import write_revision

NEWEST = "x1_mail_outbox"
ADD = 'op.add_column("tenants", sa.Column("probe", sa.String(8)))'
DROP = 'op.drop_column("tenants", "probe")'
INDEX = 'op.create_index("ix_probe", "tenants", ["name"])'
RELEASE = {  # name: (down revision, contract, the upgrade's one line)
    "zz1_probe_expand": (NEWEST, False, ADD),
    "zz2_probe_contract": ("zz1_probe_expand", True, DROP),
    "zz3_after_contract": ("zz2_probe_contract", False, INDEX),
}


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    location = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    for name, (down, contract, body) in RELEASE.items():
        write_revision(location / "versions", name, down, body, contract=contract)
    return location


def _heads(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def _columns(engine: Engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("tenants")}


def test_expand_stops_before_the_contraction_and_the_rest_follows(
    tmp_path: Path, migrations: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'rolling.db'}")
    upgrade(engine, location=MIGRATIONS)  # the previous release's schema
    assert "probe" not in _columns(engine)

    aimed = upgrade(engine, expand_only=True, location=migrations)
    assert "zz1_probe_expand" in aimed
    assert "zz1_probe_expand" in _heads(engine) and "zz2_probe_contract" not in _heads(engine)
    assert "probe" in _columns(engine)  # the old code's queries still work; the new code's too

    upgrade(engine, location=migrations)  # after the switch
    assert "zz3_after_contract" in _heads(engine)
    assert "probe" not in _columns(engine)
    assert "ix_probe" in {index["name"] for index in inspect(engine).get_indexes("tenants")}


def test_expand_only_with_nothing_to_contract_is_a_whole_upgrade(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    upgrade(engine, NEWEST)  # one branch only: the others are pending
    upgrade(engine, expand_only=True)
    expanded = _heads(engine)
    upgrade(engine)
    assert _heads(engine) == expanded
    assert len(expanded) > 1
    assert upgrade(engine, expand_only=True) == []  # up to date: nothing aimed at


def test_a_new_database_gets_everything_even_when_expanding(
    tmp_path: Path, migrations: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    upgrade(engine, expand_only=True, location=migrations)  # nothing runs on it yet
    assert "zz3_after_contract" in _heads(engine)
    assert "probe" not in _columns(engine)


def test_the_previous_release_runs_on_a_schema_a_newer_one_expanded(
    tmp_path: Path, migrations: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ahead.db'}")
    upgrade(engine, location=MIGRATIONS)
    upgrade(engine, expand_only=True, location=migrations)  # the new release's first step
    # A process of the previous release starting now changes nothing and goes on ...
    assert upgrade(engine, expand_only=True, location=MIGRATIONS) == []
    assert "zz1_probe_expand" in _heads(engine)
    # ... but its `sws db upgrade` refuses to pretend it knows the schema.
    with pytest.raises(Conflict, match="newer than this release"):
        upgrade(engine, location=MIGRATIONS)
