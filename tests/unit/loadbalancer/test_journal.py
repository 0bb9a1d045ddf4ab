"""A load balancer and its billing event commit together: an LB billing never heard of, or a
deleted LB billing still charges, cannot exist. The journal is made to fail for real (a
trigger refuses its inserts) between the LB's writes and the commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select, text

from sws.errors import Conflict, Duplicate
from sws.events.tables import resource_events
from sws.loadbalancer import service
from sws.loadbalancer.model import LoadBalancerSpec
from sws.loadbalancer.service import LBConfig
from tests.api.conftest import Cloud


@contextmanager
def journal_refuses_writes(cloud: Cloud) -> Iterator[None]:
    with cloud.container.db.begin() as conn:
        conn.execute(text(
            "CREATE TRIGGER journal_down BEFORE INSERT ON resource_events "
            "BEGIN SELECT RAISE(ABORT, 'the events journal is down'); END"
        ))
    try:
        yield
    finally:
        with cloud.container.db.begin() as conn:
            conn.execute(text("DROP TRIGGER journal_down"))


def _create(cloud: Cloud, name: str) -> service.LBView:
    return service.create_loadbalancer(
        db=cloud.container.db, clock=cloud.clock, driver=cloud.container.driver(),
        config=_config(cloud), project_id=cloud.acme.id, region=cloud.container.default_region,
        spec=LoadBalancerSpec(name=name, type="http"),
    )


def _config(cloud: Cloud) -> LBConfig:
    return LBConfig.from_settings(cloud.container.settings)


def _lb_names(cloud: Cloud) -> list[str]:
    views = service.list_loadbalancers(db=cloud.container.db, clock=cloud.clock,
                                       config=_config(cloud), project_id=cloud.acme.id)
    return [view.row.name for view in views]


def _journaled(cloud: Cloud, lb_id: str) -> list[str]:
    query = select(resource_events.c.event_type).where(resource_events.c.resource_id == lb_id)
    with cloud.container.db.read() as conn:
        return sorted(conn.execute(query).scalars())


def test_no_lb_is_created_when_its_create_event_cannot_be_journaled(cloud: Cloud) -> None:
    version = service.current_version(db=cloud.container.db)
    # SQLite reports the trigger as a constraint; the create retries, then gives up.
    with journal_refuses_writes(cloud), pytest.raises(Conflict, match="could not be saved"):
        _create(cloud, "unbilled")
    assert _lb_names(cloud) == []
    assert service.current_version(db=cloud.container.db) == version, "agents saw nothing"
    created = _create(cloud, "billed")
    assert _lb_names(cloud) == ["billed"]
    assert _journaled(cloud, created.row.id) == ["octavia.loadbalancer.create.end"]


def test_an_lb_stays_when_its_delete_event_cannot_be_journaled(cloud: Cloud) -> None:
    lb = _create(cloud, "kept")
    # SQLite reports the trigger as a constraint, which the database layer calls a Duplicate.
    with journal_refuses_writes(cloud), pytest.raises(Duplicate) as refused:
        service.delete_loadbalancer(db=cloud.container.db, clock=cloud.clock,
                                    project_id=cloud.acme.id, lb_id=lb.row.id)
    assert "journal is down" in str(refused.value.__cause__)
    assert _lb_names(cloud) == ["kept"]
    service.delete_loadbalancer(db=cloud.container.db, clock=cloud.clock,
                                project_id=cloud.acme.id, lb_id=lb.row.id)
    assert _lb_names(cloud) == []
    assert _journaled(cloud, lb.row.id) == [
        "octavia.loadbalancer.create.end", "octavia.loadbalancer.delete.end",
    ]
