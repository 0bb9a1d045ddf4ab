"""The edges' credential for private container origins: the container key, its prefix
signature, the VCL that carries it, and the grant and revocation around distributions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sws.cdn import service
from sws.cdn.model import (
    Backend,
    CacheSettings,
    DistributionSpec,
    EdgeDistribution,
    OriginSpec,
)
from sws.cdn.origin_access import (
    WINDOW_SECONDS,
    ContainerPath,
    container_key,
    expiry,
    origin_query,
)
from sws.cdn.renderer import render
from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.drivers.base import ContainerInfo
from sws.errors import NotFound

SECRET = b"the operator's secret for the CDN"
ORIGIN = ContainerPath("/v1/AUTH_p1/photos")


class FakeKeys:
    """A region's Swift as far as container keys go: account/container -> key."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}

    def set_key(self, account: str, container: str, key: str) -> None:
        self.keys[f"{account}/{container}"] = key

    def remove_key(self, account: str, container: str) -> None:
        self.keys.pop(f"{account}/{container}", None)


class FakeStore:
    """The tenant's containers, by project."""

    region = "r1"

    def __init__(self, containers: dict[str, Sequence[str]]) -> None:
        self.containers = containers

    def get_container(self, project_id: str, name: str) -> ContainerInfo:
        if name not in self.containers.get(project_id, ()):
            raise NotFound(f"Container {name} could not be found.")
        return ContainerInfo(name, 1, 5)


def test_a_container_path_names_its_account_and_container() -> None:
    path = ContainerPath("/v1/AUTH_p1/my%20photos")

    assert (path.account, path.container) == ("AUTH_p1", "my photos")
    for bad in ("/v1/AUTH_p1", "/v2/AUTH_p1/c", "/v1/AUTH_p1/c/o", "/v1//c"):
        with pytest.raises(ValueError):
            _ = ContainerPath(bad).account


def test_the_key_is_the_containers_own_and_the_secrets() -> None:
    assert container_key(SECRET, ORIGIN) == container_key(SECRET, ContainerPath(ORIGIN.path))
    assert container_key(SECRET, ORIGIN) != container_key(SECRET, ContainerPath("/v1/AUTH_p1/x"))
    assert container_key(SECRET, ORIGIN) != container_key(b"another secret", ORIGIN)


@given(st.floats(min_value=1.5e9, max_value=4e9).map(lambda t: datetime.fromtimestamp(t, UTC)))
def test_a_signature_lasts_at_least_a_window_and_changes_only_at_a_windows_start(
    now: datetime,
) -> None:
    left = expiry(now) - now.timestamp()
    start = datetime.fromtimestamp(now.timestamp() // WINDOW_SECONDS * WINDOW_SECONDS, UTC)

    assert WINDOW_SECONDS < left <= 2 * WINDOW_SECONDS
    assert expiry(start) == expiry(now) == expiry(start + timedelta(seconds=WINDOW_SECONDS - 1))


def test_the_signature_is_the_one_swifts_tempurl_checks_for_the_whole_container() -> None:
    from swift.common.digest import get_hmac

    now = datetime(2026, 12, 6, 13, 0, tzinfo=UTC)
    query = parse_qs(origin_query(SECRET, ORIGIN, now), keep_blank_values=True)

    expires = int(query["temp_url_expires"][0])
    assert expires == int(datetime(2026, 12, 8, tzinfo=UTC).timestamp())
    assert query["temp_url_prefix"] == [""] and query["inline"] == [""]
    assert query["temp_url_sig"] == [get_hmac("GET", "prefix:/v1/AUTH_p1/photos/", expires,
                                              container_key(SECRET, ORIGIN), "sha256")]


def _edge(dist_id: str = "aaaaaaaaaaaa") -> EdgeDistribution:
    return EdgeDistribution(dist_id, (f"{dist_id}.cdn.example.com",),
                            Backend("10.0.0.5", 8080, "10.0.0.5:8080", ORIGIN.path),
                            CacheSettings())


def test_the_vcl_puts_the_signature_first_on_the_distributions_origin_fetches_only() -> None:
    vcl = render([_edge(), _edge("bbbbbbbbbbbb")],
                 origin_queries={"aaaaaaaaaaaa": "temp_url_sig=s"})

    assert vcl.count('regsub(bereq.url, "^([^?]*)\\??", "\\1?" + "temp_url_sig=s" + "&")') == 1
    assert render([_edge()]) == render([_edge()], origin_queries={})
    assert "temp_url" not in render([_edge()])


# ---- the service: grant when a container becomes an origin, revoke with its last distribution


@pytest.fixture
def keys() -> FakeKeys:
    return FakeKeys()


@pytest.fixture
def config(keys: FakeKeys, clock: SimulatedClock) -> service.CDNConfig:
    access = service.OriginAccess(SECRET, keys=lambda region: keys, clock=clock)
    return service.CDNConfig(swift={"r1": service.SwiftOrigin("10.0.0.5", 8080)},
                             origin_access=access)


ACME = service.Caller("p1", service.Actor("u1", "alice"), "r1")
ORIGINS = service.Origins(object_store=lambda region: FakeStore({"p1": ["photos", "docs"]}))


def _create(database: Database, clock: SimulatedClock, config: service.CDNConfig,
            container: str) -> str:
    row = service.create_distribution(
        db=database, clock=clock, config=config, origins=ORIGINS, caller=ACME,
        spec=DistributionSpec("site", OriginSpec("container", container)))
    return row.id


def test_a_container_origin_gets_the_key_until_its_last_distribution_goes(
    database: Database, clock: SimulatedClock, config: service.CDNConfig, keys: FakeKeys,
) -> None:
    first = _create(database, clock, config, "photos")
    second = _create(database, clock, config, "photos")
    _create(database, clock, config, "docs")
    assert keys.keys == {"AUTH_p1/photos": container_key(SECRET, ORIGIN),
                         "AUTH_p1/docs": container_key(SECRET, ContainerPath("/v1/AUTH_p1/docs"))}

    service.delete_distribution(db=database, clock=clock, caller=ACME, distribution_id=first,
                                config=config)
    assert "AUTH_p1/photos" in keys.keys  # the second distribution still reads it

    service.delete_distribution(db=database, clock=clock, caller=ACME, distribution_id=second,
                                config=config)
    assert set(keys.keys) == {"AUTH_p1/docs"}


def test_the_edges_vcl_carries_each_container_origins_signature_for_the_window(
    database: Database, clock: SimulatedClock, config: service.CDNConfig,
) -> None:
    _create(database, clock, config, "photos")

    vcl = service.edge_state(db=database, config=config, edge="edge-1").vcl
    clock.advance(timedelta(hours=1))
    same = service.edge_state(db=database, config=config, edge="edge-1").vcl
    clock.advance(timedelta(days=1))
    next_window = service.edge_state(db=database, config=config, edge="edge-1").vcl

    assert origin_query(SECRET, ORIGIN, clock.now() - timedelta(days=1)) in vcl
    assert vcl == same != next_window
    assert origin_query(SECRET, ORIGIN, clock.now()) in next_window


def test_without_origin_access_containers_are_read_as_before(
    database: Database, clock: SimulatedClock, config: service.CDNConfig, keys: FakeKeys,
) -> None:
    anonymous = service.CDNConfig(swift=config.swift)
    made = _create(database, clock, anonymous, "photos")

    assert keys.keys == {}
    assert "temp_url" not in service.edge_state(db=database, config=anonymous, edge="edge-1").vcl
    service.delete_distribution(db=database, clock=clock, caller=ACME, distribution_id=made)
