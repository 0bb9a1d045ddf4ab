"""The tags repository on SQLite, PostgreSQL and MariaDB: replace keeps unchanged rows, lists
and filters stay inside one tenant, region and kind, and the key is unique per resource."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from sws.db.engine import Database, make_engine
from sws.errors import Duplicate
from sws.tags import repository as repo
from sws.tags.model import Tag
from sws.tags.tables import resource_tags
from tests.schema import migrate
from tests.servicedb import mariadb_database, postgres_database

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
ACME, GLOBEX, REGION = "acme", "globex", "RegionOne"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
                        pytest.param("mariadb", marks=pytest.mark.mariadb)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'sws.db'}")
        migrate(engine)
        yield Database(engine)
        engine.dispose()
        return
    server = postgres_database if request.param == "postgresql" else mariadb_database
    with server() as url:
        engine = make_engine(url)
        yield Database(engine)
        engine.dispose()


def _replace(db: Database, resource_id: str, tags: list[Tag], *, tenant: str = ACME,
             kind: str = "servers", region: str = REGION, at: datetime = T0) -> None:
    with db.begin() as conn:
        repo.replace(conn, tenant, region, kind, resource_id, tags, at)


def _tags(db: Database, resource_id: str, tenant: str = ACME,
          kind: str = "servers") -> tuple[Tag, ...]:
    with db.read() as conn:
        return repo.tags_of(conn, tenant, REGION, kind, resource_id)


def test_replace_changes_only_what_changed(db: Database) -> None:
    _replace(db, "s1", [Tag("env", "dev"), Tag("web")])
    _replace(db, "s1", [Tag("env", "prod"), Tag("web"), Tag("team", "Shop")],
             at=T0 + timedelta(hours=1))
    assert _tags(db, "s1") == (Tag("env", "prod"), Tag("team", "Shop"), Tag("web"))
    with db.read() as conn:
        created = dict(conn.execute(select(resource_tags.c.key, resource_tags.c.created_at)).all())
    assert created["web"] == T0  # kept, not rewritten
    assert created["env"] == created["team"] == T0 + timedelta(hours=1)
    _replace(db, "s1", [])
    assert _tags(db, "s1") == ()


def test_lists_and_filters_stay_in_one_tenant_and_kind(db: Database) -> None:
    _replace(db, "s1", [Tag("env", "prod"), Tag("web")])
    _replace(db, "s2", [Tag("env", "dev")])
    _replace(db, "v1", [Tag("env", "prod")], kind="volumes")
    _replace(db, "g1", [Tag("env", "prod")], tenant=GLOBEX)
    with db.read() as conn:
        assert repo.ids_with(conn, ACME, REGION, "servers", Tag("env")) == {"s1", "s2"}
        assert repo.ids_with(conn, ACME, REGION, "servers", Tag("env", "prod")) == {"s1"}
        assert repo.ids_with(conn, ACME, REGION, "servers", Tag("env", "PROD")) == set()
        assert repo.ids_with(conn, ACME, "RegionTwo", "servers", Tag("env")) == set()
        assert repo.tags_by_resource(conn, ACME, REGION, "servers") == {
            "s1": (Tag("env", "prod"), Tag("web")), "s2": (Tag("env", "dev"),)}
        assert repo.tags_by_resource(conn, GLOBEX, REGION, "servers") == {
            "g1": (Tag("env", "prod"),)}
    assert _tags(db, "s1", tenant=GLOBEX) == ()


def test_forget_drops_one_resource_only(db: Database) -> None:
    _replace(db, "s1", [Tag("env", "prod"), Tag("web")])
    _replace(db, "s2", [Tag("web")])
    with db.begin() as conn:
        assert repo.forget(conn, ACME, REGION, "servers", "s1") == 2
    assert _tags(db, "s1") == () and _tags(db, "s2") == (Tag("web"),)


def test_one_value_per_key_is_the_database_s_rule_too(db: Database) -> None:
    _replace(db, "s1", [Tag("env", "prod")])
    with pytest.raises(Duplicate), db.begin() as conn:
        conn.execute(resource_tags.insert().values(
            tenant_id=ACME, region=REGION, kind="servers", resource_id="s1", key="env",
            value="dev", created_at=T0))
    assert _tags(db, "s1") == (Tag("env", "prod"),)
