"""A distribution's allowed methods, and a distribution on a deleted origin: disabled with its
reason, served 403 by the edges, the tenant told (audit and mail, in each user's language), and
re-enabling refused while the origin is gone."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select, update

from sws.audit.tables import audit_log
from sws.cdn import lifecycle
from sws.cdn import service as cdn
from sws.cdn.model import CacheSettings, DistributionSpec, OriginSpec
from sws.drivers.base import ContainerInfo
from sws.errors import Conflict, NotFound, SWSError
from sws.identity import service as identity
from sws.identity.tables import users
from sws.mail.tables import mail_outbox
from tests.api.conftest import PASSWORD, Cloud

D = "/v1/cdn/distributions"


def _lb(cloud: Cloud) -> str:
    made = cloud.client.post(
        "/v1/loadbalancers", json={"name": "web", "type": "http"}, headers=cloud.acme.headers
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _create(cloud: Cloud, lb_id: str, **settings: Any) -> Any:
    body = {"name": "site", "origin": {"kind": "loadbalancer", "ref": lb_id}, **settings}
    return cloud.client.post(D, json=body, headers=cloud.acme.headers)


def _vcl(cloud: Cloud) -> str:
    return str(
        cloud.client.get("/v1/admin/cdn-edges/edge-1/desired-state", headers=cloud.admin).json()[
            "vcl"
        ]
    )


# ---- allowed methods ------------------------------------------------------------------------


def test_get_and_head_by_default_and_more_when_asked(cloud: Cloud) -> None:
    plain = _create(cloud, _lb(cloud)).json()
    wider = _create(cloud, _lb(cloud), allowed_methods=["options", "HEAD", "GET"])

    assert plain["allowed_methods"] == ["GET", "HEAD"]
    assert wider.status_code == 422  # the API takes the methods' names as written
    wider = _create(cloud, _lb(cloud), allowed_methods=["OPTIONS", "HEAD", "GET", "GET"]).json()
    assert wider["allowed_methods"] == ["GET", "HEAD", "OPTIONS"]
    vcl = _vcl(cloud)
    assert 'set req.http.x-sws-allow = "GET, HEAD, OPTIONS";' in vcl
    assert 'set req.http.x-sws-allow = "GET, HEAD";' in vcl


@pytest.mark.parametrize("methods", [["GET"], ["HEAD", "POST"], ["GET", "HEAD", "TRACE"], []])
def test_methods_without_get_and_head_or_unknown_are_a_422(
    cloud: Cloud, methods: list[str]
) -> None:
    answer = _create(cloud, _lb(cloud), allowed_methods=methods)

    assert answer.status_code == 422, answer.text
    assert "allowed_methods" in answer.text


def test_a_load_balancer_origin_may_pass_writes_through(cloud: Cloud) -> None:
    made = _create(cloud, _lb(cloud)).json()

    changed = cloud.client.patch(
        f"{D}/{made['id']}",
        headers=cloud.acme.headers,
        json={"allowed_methods": ["GET", "HEAD", "POST", "DELETE"]},
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["allowed_methods"] == ["GET", "HEAD", "POST", "DELETE"]
    assert 'set req.http.x-sws-allow = "GET, HEAD, POST, DELETE";' in _vcl(cloud)


def test_a_container_origin_is_read_only(cloud: Cloud) -> None:
    body = {
        "name": "s",
        "origin": {"kind": "container", "ref": "site"},
        "allowed_methods": ["GET", "HEAD", "PUT"],
    }

    answer = cloud.client.post(D, json=body, headers=cloud.acme.headers)

    assert answer.status_code == 422
    assert answer.json()["field"] == "allowed_methods"
    assert "read-only" in answer.json()["detail"]


# ---- a deleted load balancer --------------------------------------------------------------


def _mail_to(cloud: Cloud, name: str, email: str, language: str | None) -> None:
    with cloud.container.db.begin() as conn:
        conn.execute(
            update(users).where(users.c.name == name).values(email=email, language=language)
        )


def _outbox(cloud: Cloud) -> list[tuple[str, str, str]]:
    with cloud.container.db.read() as conn:
        rows = conn.execute(
            select(mail_outbox.c.recipient, mail_outbox.c.subject, mail_outbox.c.payload)
        ).all()
    return sorted((r.recipient, r.subject, json.loads(r.payload)["text"]) for r in rows)


def _audit(cloud: Cloud, distribution_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    with cloud.container.db.read() as conn:
        rows = (
            conn.execute(
                select(audit_log)
                .where(audit_log.c.target_id == distribution_id)
                .order_by(audit_log.c.id)
            )
            .mappings()
            .all()
        )
    return [(r["action"], r["source"], json.loads(r["detail"])) for r in rows]


def test_deleting_the_load_balancer_disables_the_distribution_and_tells_the_tenant(
    cloud: Cloud,
) -> None:
    identity.create_user(
        db=cloud.container.db,
        clock=cloud.clock,
        tenant_id=cloud.acme.id,
        name="li",
        password=PASSWORD,
        role="member",
    )
    _mail_to(cloud, "alice", "alice@acme.test", "en")
    _mail_to(cloud, "li", "li@acme.test", "zh")
    _mail_to(cloud, "bob", "bob@globex.test", "en")  # another tenant: not told
    lb_id = _lb(cloud)
    made = _create(cloud, lb_id).json()
    other = _create(cloud, _lb(cloud)).json()

    deleted = cloud.client.delete(f"/v1/loadbalancers/{lb_id}", headers=cloud.acme.headers)

    assert deleted.status_code == 204
    shown = cloud.client.get(f"{D}/{made['id']}", headers=cloud.acme.headers).json()
    assert (shown["enabled"], shown["disabled_reason"], shown["origin_missing"]) == (
        False,
        "origin_deleted",
        True,
    )
    assert (
        cloud.client.get(f"{D}/{other['id']}", headers=cloud.acme.headers).json()["enabled"] is True
    )
    vcl = _vcl(cloud)
    route = vcl[vcl.index(f'"{made["host"]}"') :]
    assert route.index('synth(403, "Distribution disabled")') < route.index("}")
    assert _audit(cloud, made["id"])[-1] == (
        "cdn.disable",
        "system",
        {"origin": f"loadbalancer:{lb_id}", "reason": "origin_deleted"},
    )
    mails = _outbox(cloud)
    assert [(to, subject) for to, subject, _ in mails] == [
        ("alice@acme.test", "CDN distribution site disabled: its origin was deleted"),
        ("li@acme.test", "CDN 分发 site 已停用：其源站已被删除"),  # noqa: RUF001
    ]
    assert f"load balancer {lb_id}" in mails[0][2] and made["host"] in mails[0][2]
    assert f"负载均衡 {lb_id}" in mails[1][2]


def test_re_enabling_on_a_deleted_load_balancer_is_a_409_naming_why(cloud: Cloud) -> None:
    lb_id = _lb(cloud)
    made = _create(cloud, lb_id).json()
    cloud.client.delete(f"/v1/loadbalancers/{lb_id}", headers=cloud.acme.headers)
    url = f"{D}/{made['id']}"

    refused = cloud.client.patch(url, json={"enabled": True}, headers=cloud.acme.headers)
    other_change = cloud.client.patch(url, json={"default_ttl": 60}, headers=cloud.acme.headers)

    assert refused.status_code == 409
    assert refused.json()["field"] == "enabled"
    assert f"load balancer {lb_id}" in refused.json()["detail"]
    assert other_change.status_code == 200
    assert (other_change.json()["default_ttl"], other_change.json()["enabled"]) == (60, False)


# ---- a deleted container (checked, with a fake object store) --------------------------------


@dataclass
class FakeStore:
    """An object store holding a set of (project, container); `down` makes every call fail."""

    containers: set[tuple[str, str]] = field(default_factory=set)
    down: bool = False

    def get_container(self, project_id: str, name: str) -> ContainerInfo:
        if self.down:
            raise SWSError("the object store is unavailable")
        if (project_id, name) not in self.containers:
            raise NotFound(f"Container {name} could not be found.")
        return ContainerInfo(name=name, object_count=0, bytes_used=0)


def _container_distribution(cloud: Cloud, store: FakeStore) -> str:
    store.containers.add((cloud.acme.id, "site"))
    config = cdn.CDNConfig(swift={"RegionOne": cdn.SwiftOrigin("127.0.0.1", 8080)})
    caller = cdn.Caller(cloud.acme.id, cdn.Actor("u", "alice"), "RegionOne")
    spec = DistributionSpec("site", OriginSpec("container", "site"), CacheSettings())
    row = cdn.create_distribution(
        db=cloud.container.db,
        clock=cloud.clock,
        config=config,
        origins=cdn.Origins(lambda _: store),
        caller=caller,  # type: ignore[arg-type, return-value]
        spec=spec,
    )
    return row.id


def _check(cloud: Cloud, store: FakeStore) -> list[str]:
    return lifecycle.check_container_origins(
        db=cloud.container.db, clock=cloud.clock, object_store=lambda _: store
    )  # type: ignore[arg-type, return-value]


def test_a_deleted_container_is_found_once_and_a_store_that_is_down_deletes_nothing(
    cloud: Cloud,
) -> None:
    _mail_to(cloud, "alice", "alice@acme.test", None)
    store = FakeStore()
    dist_id = _container_distribution(cloud, store)
    assert _check(cloud, store) == []

    store.containers.clear()
    store.down = True
    assert _check(cloud, store) == []
    store.down = False

    assert _check(cloud, store) == [dist_id]
    assert _check(cloud, store) == []  # told once
    shown = cloud.client.get(f"{D}/{dist_id}", headers=cloud.acme.headers).json()
    assert (shown["enabled"], shown["disabled_reason"]) == (False, "origin_deleted")
    assert [subject for _, subject, _ in _outbox(cloud)] == [
        "CDN distribution site disabled: its origin was deleted"
    ]
    assert [action for action, _, _ in _audit(cloud, dist_id)] == ["cdn.create", "cdn.disable"]


def test_a_container_created_again_lets_the_tenant_re_enable(cloud: Cloud) -> None:
    store = FakeStore()
    dist_id = _container_distribution(cloud, store)
    store.containers.clear()
    _check(cloud, store)
    caller = cdn.Caller(cloud.acme.id, cdn.Actor("u", "alice"), "RegionOne")

    def enable() -> Any:
        return cdn.update_distribution(
            db=cloud.container.db,
            clock=cloud.clock,
            caller=caller,
            distribution_id=dist_id,
            change=cdn.DistributionChange(enabled=True),
            origins=cdn.Origins(lambda _: store),
        )  # type: ignore[arg-type, return-value]

    with pytest.raises(Conflict, match="container site"):
        enable()
    store.containers.add((cloud.acme.id, "site"))
    row = enable()

    assert (row.settings.enabled, row.disabled_reason) == (True, None)
    assert f'"{dist_id}.cdn.example.com"' in _vcl(cloud)
    assert 'synth(403, "Distribution disabled")' not in _vcl(cloud)
