"""Abuse limits as an attacker meets them: shared login throttling, forged X-Forwarded-For,
oversized bodies and the Prometheus endpoint."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from sws import bootstrap
from sws.clock import SimulatedClock
from sws.config import Settings
from sws.web import serving
from sws.web.app import create_app
from tests.api.conftest import PASSWORD, Cloud, open_cloud

START = datetime(2026, 3, 2, 10, 27, tzinfo=UTC)
MiB = 1 << 20


def _login(client: TestClient, password: str, **headers: str) -> int:
    body = {"name": "alice", "password": password}
    return client.post("/v1/auth/tokens", json=body, headers=headers).status_code


def _from(cloud: Cloud, address: str) -> TestClient:
    """A client of the same app, arriving from `address`."""
    return TestClient(cloud.client.app, client=(address, 40000), raise_server_exceptions=False)


def _settings(tmp_path: Path, **extra: object) -> Settings:
    return Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'sws.db'}",
                    demo_data=False, **extra)  # type: ignore[arg-type]


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[Cloud]:
    """SWS behind a reverse proxy at 10.0.0.5, the only peer whose X-Forwarded-For counts."""
    settings = _settings(tmp_path, trusted_proxies=["10.0.0.5/32"])
    with open_cloud(settings, SimulatedClock(START)) as cloud:
        yield cloud


# ---- login throttling across processes and addresses --------------------------------------

def test_two_app_instances_on_one_database_share_the_count(cloud: Cloud) -> None:
    other = bootstrap.build(cloud.container.settings, clock=cloud.clock)
    with TestClient(create_app(other), raise_server_exceptions=False) as second:
        for n in range(5):
            assert _login(cloud.client if n % 2 else second, f"guess-{n}") == 401
        assert _login(second, PASSWORD) == 429
        assert _login(cloud.client, PASSWORD) == 429
    other.db.engine.dispose()


def test_two_app_instances_on_one_redis_share_the_count(
    tmp_path: Path, redis_prefix: str
) -> None:
    settings = _settings(tmp_path, redis_url="redis://127.0.0.1:6379/0", redis_prefix=redis_prefix)
    with open_cloud(settings, SimulatedClock(START)) as cloud:
        other = bootstrap.build(settings, clock=cloud.clock)
        with TestClient(create_app(other), raise_server_exceptions=False) as second:
            for n in range(5):
                assert _login(cloud.client if n % 2 else second, f"guess-{n}") == 401
            assert _login(second, PASSWORD) == 429
        other.db.engine.dispose()
    with cloud.container.db.read() as conn:  # nothing went to the database
        assert conn.exec_driver_sql("SELECT count(*) FROM login_failures").scalar() == 0


def test_an_unreachable_throttle_redis_fails_closed_with_503(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a free port that nothing listens on afterwards
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = _settings(tmp_path)
    with open_cloud(settings, SimulatedClock(START)) as cloud:
        down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"})
        other = bootstrap.build(down, clock=cloud.clock)
        with TestClient(create_app(other), raise_server_exceptions=False) as client:
            assert _login(client, PASSWORD) == 503
        other.db.engine.dispose()


def test_a_forged_forwarded_for_does_not_reset_the_count(cloud: Cloud) -> None:
    local = _from(cloud, "127.0.0.1")
    for n in range(5):
        assert _login(local, f"guess-{n}", **{"X-Forwarded-For": f"198.51.100.{n}"}) == 401
    assert _login(local, PASSWORD, **{"X-Forwarded-For": "198.51.100.99"}) == 429


def test_uvicorn_as_sws_runs_it_ignores_forwarded_for_from_localhost(cloud: Cloud) -> None:
    """uvicorn believes X-Forwarded-For from 127.0.0.1 by default; `sws up` and `sws api`
    must switch that off, or a local client picks a new address on each try."""
    config = uvicorn.Config(cloud.client.app, **serving.UVICORN)
    config.load()
    served = TestClient(config.loaded_app, client=("127.0.0.1", 40000),
                        raise_server_exceptions=False)
    for n in range(5):
        assert _login(served, f"guess-{n}", **{"X-Forwarded-For": f"198.51.100.{n}"}) == 401
    assert _login(served, PASSWORD, **{"X-Forwarded-For": "198.51.100.99"}) == 429


def test_a_trusted_proxy_passes_on_each_clients_own_address(proxied: Cloud) -> None:
    proxy = _from(proxied, "10.0.0.5")
    for n in range(5):
        assert _login(proxy, f"guess-{n}", **{"X-Forwarded-For": "198.51.100.7"}) == 401
    assert _login(proxy, PASSWORD, **{"X-Forwarded-For": "198.51.100.7"}) == 429
    assert _login(proxy, PASSWORD, **{"X-Forwarded-For": "198.51.100.8"}) == 201
    # A client cannot prepend a hop of its choosing: the proxy appends the real address.
    forged = {"X-Forwarded-For": "203.0.113.1, 198.51.100.7"}
    assert _login(proxy, PASSWORD, **forged) == 429


# ---- body size ------------------------------------------------------------------------------

def test_an_oversized_anonymous_body_is_refused_before_it_is_read(cloud: Cloud) -> None:
    big = b"x" * (2 * MiB)
    response = cloud.client.post("/v1/auth/tokens", content=big,
                                 headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["limit"] == MiB


def test_a_streamed_body_without_length_is_cut_at_the_limit(cloud: Cloud) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"y" * 65536

    response = cloud.client.post("/v1/auth/tokens", content=chunks(),
                                 headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_object_uploads_have_their_own_larger_limit(cloud: Cloud) -> None:
    headers = cloud.acme.headers
    assert cloud.client.post("/v1/storage/containers", json={"name": "photos"},
                             headers=headers).status_code == 201
    two_mib = cloud.client.put("/v1/storage/containers/photos/objects/a.bin",
                               content=b"z" * (2 * MiB), headers=headers)
    assert two_mib.status_code == 201, two_mib.text


def test_a_bad_content_length_is_a_400(cloud: Cloud) -> None:
    response = cloud.client.post("/v1/auth/tokens", content=b"{}",
                                 headers={"Content-Length": "lots"})
    assert response.status_code == 400


# ---- Prometheus ------------------------------------------------------------------------------

def test_metrics_are_closed_to_strangers_and_open_to_the_allow_list(cloud: Cloud) -> None:
    assert _from(cloud, "203.0.113.9").get("/metrics").status_code == 403
    assert cloud.client.get("/metrics", headers=cloud.acme.headers).status_code == 403
    assert _from(cloud, "127.0.0.1").get("/metrics").status_code == 200


def test_metrics_open_to_the_token(tmp_path: Path) -> None:
    token = "scrape-me-0123456789abcdef"
    settings = _settings(tmp_path, metrics_token=token, metrics_allow=[])
    with open_cloud(settings, SimulatedClock(START)) as cloud:
        stranger = _from(cloud, "127.0.0.1")
        assert stranger.get("/metrics").status_code == 403
        wrong = {"Authorization": "Bearer scrape-me-0123456789abcdeX"}
        assert stranger.get("/metrics", headers=wrong).status_code == 403
        right = {"Authorization": f"Bearer {token}"}
        assert stranger.get("/metrics", headers=right).status_code == 200


def test_settings_refuse_a_network_that_is_not_one(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"10\.0\.0\.300"):
        _settings(tmp_path, trusted_proxies=["10.0.0.300/32"])




# ---- serving uploads ---------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "content_type", "attached"), [
    ("page.html", "text/html", True),
    ("shout.html", "Text/HTML; charset=utf-8", True),
    ("logo.svg", "image/svg+xml", True),
    ("feed.xml", "application/atom+xml", True),
    ("dir/photo.png", "image/png", False),
    ("notes.txt", "text/plain", False),
])
def test_uploads_are_never_sniffed_and_active_ones_are_downloads(
    cloud: Cloud, name: str, content_type: str, attached: bool
) -> None:
    headers = cloud.acme.headers
    cloud.client.post("/v1/storage/containers", json={"name": "site"}, headers=headers)
    url = f"/v1/storage/containers/site/objects/{name}"
    put = cloud.client.put(url, content=b"<script>alert(1)</script>",
                           headers=headers | {"Content-Type": content_type})
    assert put.status_code == 201, put.text
    got = cloud.client.get(url, headers=headers)
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    disposition = got.headers.get("Content-Disposition", "")
    assert disposition.startswith("attachment") is attached
    if attached:
        assert name.rsplit("/", 1)[-1] in disposition
