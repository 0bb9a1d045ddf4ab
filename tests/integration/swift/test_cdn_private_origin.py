"""A private container served through a real Varnish edge by the edges' own credential: the
container-scoped TempURL key SWS sets (`sws.cdn.origin_access`) and the prefix signature the
edge appends to its origin fetches; everyone else still needs the tenant's credentials, and
removing the key voids the edge's access at once.

The proxy is started for the test from the rig's venv with tempauth and tempurl, as an
operator's proxies have them; it shares the rig's memcache, so the InternalClient's POST of the
key clears the container's cached info there. The last test runs SWS itself (`bootstrap.build`,
`SWS_CDN_ORIGIN_SECRET` set) on that proxy: the API's create and delete grant and revoke.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from swiftclient import client

from sws.cdn.model import Backend, CacheSettings, EdgeDistribution, EdgeState
from sws.cdn.origin_access import ContainerPath, SwiftOriginKeys, grant, origin_query, revoke
from sws.cdn.renderer import render
from sws.clock import SimulatedClock
from sws.config import Settings, SwiftConfig
from sws_agent.cdn import CDNAgent, Varnish
from tests.api.conftest import Cloud, open_cloud
from tests.api.test_storage import make_container, put

from .conftest import Swift
from .test_cdn_edges import _proxy, edge  # noqa: F401  (edge: the real Varnish fixture)

SECRET = b"operator-secret-for-the-cdn-origins"
PIPELINE = """[pipeline:main]
pipeline = catch_errors proxy-logging cache tempauth tempurl proxy-logging proxy-server

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
user_sws_storage = {reseller_key} .reseller_admin
"""


@pytest.fixture
def proxy(swift_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    pipeline = PIPELINE.format(reseller_key=swift_env["SWIFT_DEV_RESELLER_KEY"])
    yield from _proxy(swift_env, tmp_path, pipeline)


def anonymous(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def through(varnish: Varnish, host: str, path: str) -> tuple[int, bytes]:
    address, port = varnish.options.listen[0].rsplit(":", 1)
    connection = http.client.HTTPConnection(address, int(port), timeout=30)
    try:
        connection.request("GET", path, headers={"Host": host})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def distribution(dist_id: str, proxy: str, origin: ContainerPath) -> EdgeDistribution:
    port = int(proxy.rsplit(":", 1)[1])
    return EdgeDistribution(dist_id, (f"{dist_id}.cdn.example.com",),
                            Backend("127.0.0.1", port, f"127.0.0.1:{port}", origin.path),
                            CacheSettings())


def test_a_private_container_is_served_by_the_edge_and_by_no_one_else(
    swift: Swift, swift_env: dict[str, str], proxy: str, edge: Varnish,  # noqa: F811
) -> None:
    origin = ContainerPath(f"/v1/{swift_env['SWIFT_DEV_ACCOUNT']}/{swift.container}")
    keys = SwiftOriginKeys(lambda call: call(swift.internal))
    grant(keys, SECRET, origin)
    signed = origin_query(SECRET, origin, datetime.now(UTC))
    CDNAgent(edge).apply(EdgeState(render(
        [distribution("aaaaaaaaaaaa", proxy, origin),  # with the edges' signature
         distribution("bbbbbbbbbbbb", proxy, origin)],  # without it
        origin_queries={"aaaaaaaaaaaa": signed})))

    assert through(edge, "aaaaaaaaaaaa.cdn.example.com", "/o") == (200, b"hello")
    assert through(edge, "bbbbbbbbbbbb.cdn.example.com", "/o")[0] == 401
    assert anonymous(f"{proxy}{origin.path}/o") == 401  # no public read
    assert anonymous(f"{proxy}{origin.path}/o?{signed.replace('sig=', 'sig=0')}") == 401
    storage_url, token = client.get_auth(f"{proxy}/auth/v1.0", swift_env["SWIFT_DEV_USER"],
                                         swift_env["SWIFT_DEV_KEY"])
    assert client.get_object(storage_url, token, swift.container, "o")[1] == b"hello"

    revoke(keys, origin)
    client.put_object(storage_url, token, swift.container, "new", b"after the revocation")

    assert through(edge, "aaaaaaaaaaaa.cdn.example.com", "/new")[0] == 401
    assert anonymous(f"{proxy}{origin.path}/o?{signed}") == 401


def test_a_visitors_own_tempurl_parameters_do_not_replace_the_edges(
    swift: Swift, swift_env: dict[str, str], proxy: str, edge: Varnish,  # noqa: F811
) -> None:
    origin = ContainerPath(f"/v1/{swift_env['SWIFT_DEV_ACCOUNT']}/{swift.container}")
    grant(SwiftOriginKeys(lambda call: call(swift.internal)), SECRET, origin)
    kept = distribution("cccccccccccc", proxy, origin)
    kept = EdgeDistribution(kept.id, kept.hosts, kept.backend,
                            CacheSettings(query_in_key=True))
    CDNAgent(edge).apply(EdgeState(render(
        [kept], origin_queries={kept.id: origin_query(SECRET, origin, datetime.now(UTC))})))

    status, body = through(edge, "cccccccccccc.cdn.example.com",
                           "/o?temp_url_sig=forged&temp_url_expires=1&v=2")

    assert (status, body) == (200, b"hello")


@pytest.fixture
def cdn_cloud(tmp_path: Path, swift_env: dict[str, str], proxy: str) -> Iterator[Cloud]:
    swift = SwiftConfig(
        proxy_url=proxy,
        internal_client_conf=Path(swift_env["SWIFT_DEV_INTERNAL_CLIENT_CONF"]),
        auth="tempauth",
        tempauth_user=swift_env["SWIFT_DEV_RESELLER_USER"],
        tempauth_key=swift_env["SWIFT_DEV_RESELLER_KEY"],
    )
    settings = Settings(
        home=tmp_path, database_url=f"sqlite:///{tmp_path / 'sws.db'}", demo_data=False,
        swift={"RegionOne": swift}, cdn_origin_secret=SECRET.decode(),
    )
    with open_cloud(settings, SimulatedClock(datetime.now(UTC))) as cloud:
        yield cloud


def desired_vcl(cloud: Cloud) -> str:
    state: dict[str, Any] = cloud.client.get("/v1/admin/cdn-edges/edge-1/desired-state",
                                             headers=cloud.admin).json()
    return str(state["vcl"])


def test_sws_grants_the_edges_a_private_container_and_revokes_with_the_distribution(
    cdn_cloud: Cloud, proxy: str, edge: Varnish,  # noqa: F811
) -> None:
    cloud = cdn_cloud
    make_container(cloud, "site")
    assert put(cloud.client, cloud, "o", b"hello", container="site").status_code == 201
    made = cloud.client.post("/v1/cdn/distributions", headers=cloud.acme.headers,
                             json={"name": "site", "origin": {"kind": "container", "ref": "site"}})
    assert made.status_code == 201, made.text
    host, dist_id = made.json()["host"], made.json()["id"]
    CDNAgent(edge).apply(EdgeState(desired_vcl(cloud)))

    assert through(edge, host, "/o") == (200, b"hello")
    assert anonymous(f"{proxy}/v1/AUTH_{cloud.acme.id}/site/o") == 401

    deleted = cloud.client.delete(f"/v1/cdn/distributions/{dist_id}", headers=cloud.acme.headers)
    assert deleted.status_code == 204
    assert put(cloud.client, cloud, "new", b"after", container="site").status_code == 201

    assert through(edge, host, "/new")[0] == 401  # the edge still runs the signed VCL
    assert "temp_url" not in desired_vcl(cloud)
