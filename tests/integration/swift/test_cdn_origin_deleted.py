"""A container origin deleted on the real Swift: SWS's check (the ticker's `OriginChecks`)
disables the distribution with its reason, a real Varnish edge answers 403 from the next
configuration on, the tenant's mail is queued; re-enabling is 409 until the container is back.
"""

from __future__ import annotations

from sqlalchemy import select, update

from sws.cdn.model import EdgeState
from sws.identity.tables import users
from sws.mail.tables import mail_outbox
from sws_agent.cdn import CDNAgent, Varnish
from tests.api.conftest import Cloud
from tests.api.test_storage import C, make_container, put

from .test_cdn_edges import edge  # noqa: F401  (edge: the real Varnish fixture)
from .test_cdn_private_origin import (  # noqa: F401  (fixtures: the proxy, SWS on it)
    cdn_cloud,
    desired_vcl,
    proxy,
    through,
)

D = "/v1/cdn/distributions"


def test_a_deleted_container_disables_its_distribution_at_the_edge_and_tells_the_tenant(
    cdn_cloud: Cloud,  # noqa: F811
    edge: Varnish,  # noqa: F811
) -> None:
    cloud = cdn_cloud
    with cloud.container.db.begin() as conn:
        conn.execute(
            update(users)
            .where(users.c.name == "alice")
            .values(email="alice@acme.test", language="zh")
        )
    make_container(cloud, "site")
    assert put(cloud.client, cloud, "o", b"hello", container="site").status_code == 201
    made = cloud.client.post(
        D,
        headers=cloud.acme.headers,
        json={"name": "site", "origin": {"kind": "container", "ref": "site"}},
    )
    assert made.status_code == 201, made.text
    host, dist_id = made.json()["host"], made.json()["id"]
    agent = CDNAgent(edge)
    agent.apply(EdgeState(desired_vcl(cloud)))
    assert through(edge, host, "/o") == (200, b"hello")
    checks = cloud.container.cdn_origin_checks
    assert checks is not None
    assert checks.tick() == []  # the container is there

    assert cloud.client.delete(f"{C}/site/objects/o", headers=cloud.acme.headers).status_code == 204
    assert cloud.client.delete(f"{C}/site", headers=cloud.acme.headers).status_code == 204
    cloud.clock.advance(checks.cadence.every)

    assert checks.tick() == [dist_id]
    shown = cloud.client.get(f"{D}/{dist_id}", headers=cloud.acme.headers).json()
    assert (shown["enabled"], shown["disabled_reason"]) == (False, "origin_deleted")
    agent.apply(EdgeState(desired_vcl(cloud)))
    assert through(edge, host, "/o")[0] == 403
    with cloud.container.db.read() as conn:
        (subject,) = conn.execute(select(mail_outbox.c.subject)).scalars().all()
    assert subject.startswith("CDN 分发 site 已停用")
    refused = cloud.client.patch(
        f"{D}/{dist_id}", json={"enabled": True}, headers=cloud.acme.headers
    )
    assert refused.status_code == 409 and "container site" in refused.json()["detail"]

    make_container(cloud, "site")  # the same name again: the tenant may re-enable
    enabled = cloud.client.patch(
        f"{D}/{dist_id}", json={"enabled": True}, headers=cloud.acme.headers
    )
    assert enabled.status_code == 200, enabled.text
    assert put(cloud.client, cloud, "p", b"again", container="site").status_code == 201
    agent.apply(EdgeState(desired_vcl(cloud)))
    assert through(edge, host, "/p") == (200, b"again")
