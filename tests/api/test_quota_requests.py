"""Quota requests (扩容申请) through the API: the rules approve one size step at once, in the
simulated region's own quota; bigger or too-frequent requests wait for the admin, who
approves or denies with a note; the tenant is told by mail and sees the state."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from sws.audit.tables import audit_log
from sws.billing.tables import billing_accounts
from sws.identity.tables import users
from sws.mail.tables import mail_outbox
from tests.api.conftest import Cloud
from tests.api.test_roles import as_user
from tests.api.test_teams import log_in


def ask(cloud: Cloud, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    payload = {"reason": "our shop opens in March", **body}
    return cloud.client.post("/v1/quota-requests", json=payload,
                             headers=headers or cloud.acme.headers)


def limits(cloud: Cloud) -> dict[str, int]:
    found: dict[str, int] = cloud.client.get("/v1/quotas", headers=cloud.acme.headers).json()[
        "limits"]
    return found


def give_alice_an_address(cloud: Cloud) -> None:
    with cloud.container.db.begin() as conn:
        conn.execute(update(users).where(users.c.name == "alice")
                     .values(email="alice@example.com"))


def mails_to(cloud: Cloud, address: str) -> list[dict[str, Any]]:
    with cloud.container.db.read() as conn:
        rows = conn.execute(select(mail_outbox.c.payload)).scalars()
        found = [json.loads(r) for r in rows]
    return [m for m in found if m["to"] == address]


def test_one_size_step_up_is_approved_at_once_and_in_force(cloud: Cloud) -> None:
    give_alice_an_address(cloud)
    sizes = cloud.client.get("/v1/quota-sizes", headers=cloud.acme.headers).json()
    assert [s["name"] for s in sizes] == ["S", "M", "L", "XL"]
    answer = ask(cloud, {"size": "M"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["state"] == "approved" and answer.json()["decided_by"] == "rules"
    assert limits(cloud)["instances"] == 20 and limits(cloud)["cores"] == 40
    (mail,) = mails_to(cloud, "alice@example.com")
    assert "approved" in mail["subject"] and "instances=20" in mail["text"]
    # Globex's quota is its own: unchanged.
    other = cloud.client.get("/v1/quotas", headers=cloud.globex.headers).json()["limits"]
    assert other["instances"] == 10


def test_a_second_request_within_30_days_waits_for_the_admin_who_approves(
    cloud: Cloud,
) -> None:
    assert ask(cloud, {"size": "M"}).json()["state"] == "approved"
    cloud.clock.advance(timedelta(days=10))
    cloud.acme.headers, cloud.admin = log_in(cloud, "alice"), log_in(cloud, "root-admin")
    waiting = ask(cloud, {"limits": {"cores": 60}})
    assert waiting.status_code == 201, waiting.text
    assert waiting.json()["state"] == "pending"
    assert ask(cloud, {"limits": {"cores": 70}}).status_code == 409  # one waits already
    queue = cloud.client.get("/v1/admin/quota-requests", headers=cloud.admin).json()["items"]
    assert [r["id"] for r in queue] == [waiting.json()["id"]]
    done = cloud.client.post(f"/v1/admin/quota-requests/{waiting.json()['id']}/approve",
                             json={"note": "fine for the launch"}, headers=cloud.admin)
    assert done.status_code == 200 and done.json()["state"] == "approved", done.text
    assert limits(cloud)["cores"] == 60
    again = cloud.client.post(f"/v1/admin/quota-requests/{waiting.json()['id']}/deny",
                              json={}, headers=cloud.admin)
    assert again.status_code == 409
    with cloud.container.db.read() as conn:
        actions = list(conn.execute(select(audit_log.c.action)).scalars())
    assert actions.count("quota.approve") == 2 and actions.count("quota.request") == 2


def test_two_steps_or_a_bad_standing_go_to_the_queue_and_a_denial_changes_nothing(
    cloud: Cloud,
) -> None:
    give_alice_an_address(cloud)
    big = ask(cloud, {"size": "L"}, )
    assert big.json()["state"] == "pending"
    denied = cloud.client.post(f"/v1/admin/quota-requests/{big.json()['id']}/deny",
                               json={"note": "start with M"}, headers=cloud.admin)
    assert denied.json()["state"] == "denied" and denied.json()["note"] == "start with M"
    assert limits(cloud)["instances"] == 10
    (mail,) = mails_to(cloud, "alice@example.com")
    assert "start with M" in mail["text"]
    with cloud.container.db.begin() as conn:
        conn.execute(update(billing_accounts).where(billing_accounts.c.id == cloud.acme.id)
                     .values(balance=Decimal("-5")))
    owing = ask(cloud, {"size": "M"})
    assert owing.json()["state"] == "pending"
    seen = cloud.client.get(f"/v1/quota-requests/{owing.json()['id']}",
                            headers=cloud.acme.headers)
    assert seen.json()["state"] == "pending"


def test_bad_requests_are_refused_by_name(cloud: Cloud) -> None:
    cases = [
        ({"size": "XXL"}, "size"),
        ({"size": "M", "limits": {"cores": 40}}, "size"),
        ({}, "size"),
        ({"limits": {"cores": 5}}, "limits"),  # lower than today's 20
        ({"limits": {"cores": 20}}, "limits"),  # nothing more
        ({"size": "M", "reason": "  "}, "reason"),
    ]
    for body, field in cases:
        answer = ask(cloud, body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["field"] == field, (body, answer.text)
    wrong = ask(cloud, {"limits": {"cores": -1}})
    assert wrong.status_code == 422


def test_viewers_and_billing_users_cannot_ask_and_admins_only_decide(cloud: Cloud) -> None:
    for role in ("viewer", "billing"):
        assert ask(cloud, {"size": "M"}, as_user(cloud, f"q-{role}", role)).status_code == 403
    pending = ask(cloud, {"size": "L"}).json()
    refused = cloud.client.post(f"/v1/admin/quota-requests/{pending['id']}/approve", json={},
                                headers=cloud.acme.headers)
    assert refused.status_code == 403
    other = cloud.client.get(f"/v1/quota-requests/{pending['id']}",
                             headers=cloud.globex.headers)
    assert other.status_code == 404
