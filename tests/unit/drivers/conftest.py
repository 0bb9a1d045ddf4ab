"""Fixtures for the simulated region: a list-collecting bus and a small region on a fake clock."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.drivers.base import Quota, Server, ServerCreate
from sws.drivers.simulated import SimulatedRegion
from sws.drivers.simulated.catalog import seeded_id

PROJECT = "p-alpha"
OTHER = "p-beta"
USER = "u-alice"


@dataclass
class ListBus:
    """A fake EventBus that keeps what it is given, in order."""

    envelopes: list[Mapping[str, Any]] = field(default_factory=list)

    def publish(self, envelope: Mapping[str, Any]) -> None:
        self.envelopes.append(envelope)

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(envelope["oslo.message"]) for envelope in self.envelopes]

    def event_types(self) -> list[str]:
        return [message["event_type"] for message in self.messages()]

    def clear(self) -> None:
        self.envelopes.clear()


@pytest.fixture
def bus() -> ListBus:
    return ListBus()


@pytest.fixture
def region(database: Database, clock: SimulatedClock, bus: ListBus) -> SimulatedRegion:
    return make_region(database, clock, bus)


def make_region(
    database: Database, clock: SimulatedClock, bus: ListBus, **options: Any
) -> SimulatedRegion:
    options.setdefault("hypervisor_count", 2)
    options.setdefault("quota", Quota(instances=20, cores=200, ram_mb=512 * 1024))
    return SimulatedRegion(name="sim-1", db=database, clock=clock, bus=bus, **options)


def cirros(region_name: str = "sim-1") -> str:
    return seeded_id(region_name, "image", "cirros-0.6.2")


def ubuntu(region_name: str = "sim-1") -> str:
    return seeded_id(region_name, "image", "ubuntu-24.04")


def boot(
    region: SimulatedRegion, clock: SimulatedClock, flavor_id: str = "2", **spec: Any
) -> Server:
    """Create one server and let its build finish."""
    spec.setdefault("name", "web")
    spec.setdefault("image_id", cirros())
    (server,) = region.create_servers(PROJECT, USER, ServerCreate(flavor_id=flavor_id, **spec))
    settle(region, clock)
    return region.get_server(PROJECT, server.id)


def settle(region: SimulatedRegion, clock: SimulatedClock, seconds: int = 10) -> int:
    clock.advance(timedelta(seconds=seconds))
    return region.advance()
