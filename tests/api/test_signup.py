"""Sign-up, confirmation, approval and password reset through the API, as a stranger and an
operator meet them; mails are read from the outbox as the mail worker would send them."""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import argon2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sws.audit.tables import audit_log
from sws.billing.tables import billing_accounts
from sws.clock import SimulatedClock
from sws.config import Settings
from sws.identity import auth
from sws.identity.tables import tenants, users
from sws.mail.tables import mail_outbox
from tests.api.conftest import Cloud, open_cloud

START = datetime(2026, 3, 2, 10, 27, tzinfo=UTC)
GOOD = "correct horse battery"


def _settings(tmp_path: Path, database_url: str, **extra: Any) -> Settings:
    return Settings(
        home=tmp_path,
        database_url=database_url,
        demo_data=False,
        public_url="https://cloud.example",
        **extra,
    )


@pytest.fixture
def door(tmp_path: Path, database_url: str) -> Iterator[Cloud]:
    settings = _settings(tmp_path, database_url, signup="open")
    with open_cloud(settings, SimulatedClock(START)) as cloud:
        yield cloud


@pytest.fixture
def gated(tmp_path: Path, database_url: str) -> Iterator[Cloud]:
    settings = _settings(tmp_path, database_url, signup="approval")
    with open_cloud(settings, SimulatedClock(START)) as cloud:
        yield cloud


def _sign_up(
    client: TestClient,
    email: str = "ann@example.com",
    tenant: str = "anncorp",
    password: str = GOOD,
    **extra: str,
) -> Any:
    body = {"email": email, "password": password, "tenant_name": tenant, **extra}
    return client.post("/v1/signup", json=body)


def _mails(cloud: Cloud) -> list[dict[str, Any]]:
    with cloud.container.db.read() as conn:
        rows = conn.execute(select(mail_outbox).order_by(mail_outbox.c.id)).mappings()
        return [json.loads(r["payload"]) for r in rows]


def _code(mail: dict[str, Any]) -> str:
    found = re.search(r"token=([A-Za-z0-9_-]+)", mail["text"])
    assert found, mail["text"]
    return found.group(1)


def _log_in(client: TestClient, name: str, password: str) -> int:
    return client.post("/v1/auth/tokens", json={"name": name, "password": password}).status_code


def test_a_stranger_signs_up_confirms_and_logs_in_as_the_tenant_s_owner(door: Cloud) -> None:
    answer = _sign_up(door.client, language="zh")
    assert answer.status_code == 202, answer.text
    (mail,) = _mails(door)
    assert mail["to"] == "ann@example.com" and "确认" in mail["subject"]
    assert "https://cloud.example/console/signup/verify?token=" in mail["text"]
    verified = door.client.post("/v1/signup/verify", json={"token": _code(mail)})
    assert verified.status_code == 200, verified.text
    outcome = verified.json()
    assert outcome["state"] == "active" and outcome["user_name"] == "ann@example.com"
    token = door.client.post("/v1/auth/tokens", json={"name": "Ann@Example.com", "password": GOOD})
    assert token.status_code == 201, token.text
    assert token.json()["principal"]["role"] == "owner"
    assert token.json()["principal"]["tenant_id"] == outcome["tenant_id"]
    with door.container.db.read() as conn:
        account = (
            conn.execute(
                select(billing_accounts).where(billing_accounts.c.id == outcome["tenant_id"])
            )
            .mappings()
            .one()
        )
    assert account["payment_mode"] == "prepaid" and account["currency"] == "CNY"


def test_a_confirmation_code_works_once(door: Cloud) -> None:
    _sign_up(door.client)
    code = _code(_mails(door)[0])
    assert door.client.post("/v1/signup/verify", json={"token": code}).status_code == 200
    again = door.client.post("/v1/signup/verify", json={"token": code})
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert "used already" in again.json()["detail"]
    unknown = door.client.post("/v1/signup/verify", json={"token": "x" * 43})
    assert unknown.status_code == 400 and unknown.json()["field"] == "token"


def test_an_expired_confirmation_code_is_gone_and_a_new_sign_up_sends_a_fresh_one(
    door: Cloud,
) -> None:
    _sign_up(door.client)
    first = _code(_mails(door)[0])
    door.clock.advance(timedelta(hours=24))
    expired = door.client.post("/v1/signup/verify", json={"token": first})
    assert expired.status_code == 410 and "expired" in expired.json()["detail"]
    assert _sign_up(door.client).status_code == 202
    second = _code(_mails(door)[1])
    assert door.client.post("/v1/signup/verify", json={"token": first}).status_code == 400
    assert door.client.post("/v1/signup/verify", json={"token": second}).status_code == 200


def test_signing_up_again_answers_the_same_and_warns_the_owner_instead(door: Cloud) -> None:
    first = _sign_up(door.client)
    door.client.post("/v1/signup/verify", json={"token": _code(_mails(door)[0])})
    again = _sign_up(door.client, email="ANN@example.com", tenant="otherco")
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    warning = _mails(door)[-1]
    assert warning["to"] == "ann@example.com" and "tried to sign up" in warning["subject"]
    assert "token=" not in warning["text"]
    with door.container.db.read() as conn:
        assert conn.execute(select(tenants.c.name)).scalars().all().count("otherco") == 0


def test_gmail_dots_and_tags_are_one_person(door: Cloud) -> None:
    _sign_up(door.client, email="ann.lee@gmail.com")
    door.client.post("/v1/signup/verify", json={"token": _code(_mails(door)[0])})
    _sign_up(door.client, email="a.n.n.l.e.e+cloud@googlemail.com", tenant="second")
    assert "tried to sign up" in _mails(door)[-1]["subject"]
    with door.container.db.read() as conn:
        owners = conn.execute(select(users.c.name).where(users.c.role == "owner")).all()
    assert len(owners) == 1


def test_the_answer_takes_as_long_for_a_known_address_as_for_a_new_one(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With production Argon2 (~0.2 CPU-seconds a hash), so that skipping the hash on one
    path would show: medians of interleaved answers stay within half of each other."""
    monkeypatch.setattr(auth, "PasswordHasher", argon2.PasswordHasher)
    many = {"signup-address": 100, "signup-network": 100, "signup-email": 100}
    settings = _settings(tmp_path, database_url, signup="open", signup_limits=many)
    with open_cloud(settings, SimulatedClock(START)) as door:
        _sign_up(door.client, email="known@example.com", tenant="known")
        door.client.post("/v1/signup/verify", json={"token": _code(_mails(door)[0])})
        known: list[float] = []
        fresh: list[float] = []
        for n in range(3):
            for email, times in (("known@example.com", known), (f"new{n}@example.com", fresh)):
                start = time.perf_counter()
                answer = _sign_up(door.client, email=email, tenant=f"t{n}-{len(times)}")
                times.append(time.perf_counter() - start)
                assert answer.status_code == 202
    known_median, fresh_median = statistics.median(known), statistics.median(fresh)
    assert abs(known_median - fresh_median) < 0.5 * max(known_median, fresh_median), (
        known,
        fresh,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"email": "x@mailinator.com"}, "email"),
        ({"email": "x@eu.mailinator.com"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "password1234"}, "password"),
        ({"tenant_name": "no spaces"}, "tenant_name"),
        ({"language": "fr"}, "language"),
    ],
)
def test_bad_sign_ups_are_refused_naming_the_field(
    door: Cloud, body: dict[str, str], field: str
) -> None:
    answer = _sign_up(door.client, **body)
    assert answer.status_code == 422 and answer.json()["field"] == field, answer.text
    assert _mails(door) == []


def test_a_taken_tenant_name_is_a_conflict(door: Cloud) -> None:
    answer = _sign_up(door.client, tenant="acme")
    assert answer.status_code == 409 and answer.json()["field"] == "tenant_name"


def test_a_closed_cloud_refuses_sign_ups(tmp_path: Path, database_url: str) -> None:
    with open_cloud(_settings(tmp_path, database_url), SimulatedClock(START)) as cloud:
        answer = _sign_up(cloud.client)
    assert answer.status_code == 403 and "closed" in answer.json()["detail"]


def test_in_approval_mode_an_admin_approves_and_it_is_audited(gated: Cloud) -> None:
    _sign_up(gated.client)
    waiting = gated.client.post("/v1/signup/verify", json={"token": _code(_mails(gated)[0])})
    assert waiting.json() == {"state": "pending", "tenant_id": None, "user_name": None}
    assert "awaits approval" in _mails(gated)[-1]["subject"]
    assert _log_in(gated.client, "ann@example.com", GOOD) == 401
    queue = gated.client.get("/v1/admin/signups", headers=gated.admin).json()["items"]
    assert [s["email"] for s in queue] == ["ann@example.com"]
    refused = gated.client.get("/v1/admin/signups", headers=gated.acme.headers)
    assert refused.status_code == 403
    approved = gated.client.post(f"/v1/admin/signups/{queue[0]['id']}/approve", headers=gated.admin)
    assert approved.status_code == 200 and approved.json()["state"] == "active"
    assert _log_in(gated.client, "ann@example.com", GOOD) == 201
    assert "is ready" in _mails(gated)[-1]["subject"]
    twice = gated.client.post(f"/v1/admin/signups/{queue[0]['id']}/deny", headers=gated.admin)
    assert twice.status_code == 409
    with gated.container.db.read() as conn:
        actions = conn.execute(select(audit_log.c.action, audit_log.c.actor_name)).all()
    assert ("signup.approve", "root-admin") in actions


def test_a_denied_sign_up_opens_nothing_and_is_audited(gated: Cloud) -> None:
    _sign_up(gated.client)
    gated.client.post("/v1/signup/verify", json={"token": _code(_mails(gated)[0])})
    (pending,) = gated.client.get("/v1/admin/signups", headers=gated.admin).json()["items"]
    denied = gated.client.post(f"/v1/admin/signups/{pending['id']}/deny", headers=gated.admin)
    assert denied.status_code == 204
    assert "not approved" in _mails(gated)[-1]["subject"]
    assert gated.client.get("/v1/admin/signups", headers=gated.admin).json()["items"] == []
    with gated.container.db.read() as conn:
        assert "signup.deny" in conn.execute(select(audit_log.c.action)).scalars().all()
        assert "anncorp" not in conn.execute(select(tenants.c.name)).scalars().all()


# ---- password reset --------------------------------------------------------------------------


@pytest.fixture
def owner(door: Cloud) -> Cloud:
    _sign_up(door.client)
    door.client.post("/v1/signup/verify", json={"token": _code(_mails(door)[0])})
    return door


def test_a_reset_sets_a_new_password_once_and_ends_every_session(owner: Cloud) -> None:
    session = owner.client.post(
        "/v1/auth/tokens", json={"name": "ann@example.com", "password": GOOD}
    ).json()["token"]
    asked = owner.client.post("/v1/password-reset", json={"email": "ann@example.com"})
    assert asked.status_code == 202
    code = _code(_mails(owner)[-1])
    body = {"token": code, "password": "a brand new secret"}
    done = owner.client.post("/v1/password-reset/confirm", json=body)
    assert done.status_code == 200 and done.json()["user_name"] == "ann@example.com"
    assert _log_in(owner.client, "ann@example.com", GOOD) == 401
    assert _log_in(owner.client, "ann@example.com", "a brand new secret") == 201
    old = owner.client.get("/v1/auth/tokens", headers={"Authorization": f"Bearer {session}"})
    assert old.status_code == 401
    replay = owner.client.post("/v1/password-reset/confirm", json=body)
    assert replay.status_code == 409 and "used already" in replay.json()["detail"]


def test_an_expired_reset_code_is_gone_and_a_weak_password_keeps_the_code(owner: Cloud) -> None:
    owner.client.post("/v1/password-reset", json={"email": "ann@example.com"})
    code = _code(_mails(owner)[-1])
    weak = owner.client.post(
        "/v1/password-reset/confirm", json={"token": code, "password": "qwerty123"}
    )
    assert weak.status_code == 422 and weak.json()["field"] == "password"
    owner.clock.advance(timedelta(minutes=30))
    late = owner.client.post(
        "/v1/password-reset/confirm", json={"token": code, "password": "a brand new secret"}
    )
    assert late.status_code == 410


def test_a_reset_for_an_unknown_address_answers_the_same_and_mails_nothing(owner: Cloud) -> None:
    before = len(_mails(owner))
    known = owner.client.post("/v1/password-reset", json={"email": "ann@example.com"})
    unknown = owner.client.post("/v1/password-reset", json={"email": "nobody@example.com"})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert len(_mails(owner)) == before + 1


def test_a_new_reset_code_voids_the_one_before(owner: Cloud) -> None:
    for _ in range(2):
        owner.client.post("/v1/password-reset", json={"email": "ann@example.com"})
    first, second = (_code(m) for m in _mails(owner)[-2:])
    body = {"password": "a brand new secret"}
    assert (
        owner.client.post("/v1/password-reset/confirm", json={**body, "token": first}).status_code
        == 409
    )
    assert (
        owner.client.post("/v1/password-reset/confirm", json={**body, "token": second}).status_code
        == 200
    )


# ---- abuse limits: each one refuses past its count, and only that one --------------------


def _from(cloud: Cloud, address: str) -> TestClient:
    return TestClient(cloud.client.app, client=(address, 40000), raise_server_exceptions=False)


def test_sign_ups_per_address_are_limited(door: Cloud) -> None:
    client = _from(door, "203.0.113.7")
    codes = [
        _sign_up(client, email=f"u{n}@example.com", tenant=f"t{n}").status_code for n in range(6)
    ]
    assert codes == [202] * 5 + [429]
    refused = _sign_up(client, email="u9@example.com", tenant="t9")
    assert int(refused.headers["Retry-After"]) > 0
    assert (
        _sign_up(_from(door, "198.51.100.1"), email="u9@example.com", tenant="t9").status_code
        == 202
    )
    door.clock.advance(timedelta(hours=1))
    assert _sign_up(client, email="u10@example.com", tenant="t10").status_code == 202


def test_sign_ups_per_network_are_limited_over_many_addresses(door: Cloud) -> None:
    codes = [
        _sign_up(
            _from(door, f"203.0.113.{n}"), email=f"u{n}@example.com", tenant=f"t{n}"
        ).status_code
        for n in range(21)
    ]
    assert codes == [202] * 20 + [429]
    assert (
        _sign_up(_from(door, "203.0.114.1"), email="x@example.com", tenant="tx").status_code == 202
    )


def test_ipv6_sign_ups_are_counted_per_64(door: Cloud) -> None:
    codes = [
        _sign_up(
            _from(door, f"2001:db8:1:2::{n:x}"), email=f"u{n}@example.com", tenant=f"t{n}"
        ).status_code
        for n in range(21)
    ]
    assert codes[-1] == 429
    assert (
        _sign_up(_from(door, "2001:db8:1:3::1"), email="x@example.com", tenant="tx").status_code
        == 202
    )


def test_sign_ups_per_e_mail_are_limited_whatever_its_spelling(door: Cloud) -> None:
    spellings = ["ann@gmail.com", "a.nn@gmail.com", "ann+x@gmail.com", "ANN@googlemail.com"]
    codes = [
        _sign_up(_from(door, f"198.51.100.{n}"), email=e).status_code
        for n, e in enumerate(spellings)
    ]
    assert codes == [202, 202, 202, 429]


def test_confirmation_attempts_are_limited(door: Cloud) -> None:
    codes = [
        door.client.post("/v1/signup/verify", json={"token": f"guess{n}"}).status_code
        for n in range(21)
    ]
    assert codes == [400] * 20 + [429]


def test_reset_requests_are_limited_per_address_and_per_e_mail(owner: Cloud) -> None:
    client = _from(owner, "203.0.113.50")
    codes = [
        client.post("/v1/password-reset", json={"email": f"n{n}@example.com"}).status_code
        for n in range(6)
    ]
    assert codes == [202] * 5 + [429]
    per_email = [
        _from(owner, f"198.51.100.{n}")
        .post("/v1/password-reset", json={"email": "ann@example.com"})
        .status_code
        for n in range(4)
    ]
    assert per_email == [202] * 3 + [429]


def test_reset_confirmations_are_limited(owner: Cloud) -> None:
    body = {"password": "a brand new secret"}
    codes = [
        owner.client.post(
            "/v1/password-reset/confirm", json={**body, "token": f"guess{n}"}
        ).status_code
        for n in range(21)
    ]
    assert codes == [400] * 20 + [429]


# ---- the owner manages the tenant's users ------------------------------------------------


def _owner_headers(cloud: Cloud) -> dict[str, str]:
    token = cloud.client.post(
        "/v1/auth/tokens", json={"name": "ann@example.com", "password": GOOD}
    ).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_the_owner_adds_and_disables_members_and_a_member_cannot(owner: Cloud) -> None:
    headers = _owner_headers(owner)
    added = owner.client.post(
        "/v1/users", json={"name": "ann-dev", "password": "dev-secret-1"}, headers=headers
    )
    assert added.status_code == 201 and added.json()["role"] == "member", added.text
    member = owner.client.post(
        "/v1/auth/tokens", json={"name": "ann-dev", "password": "dev-secret-1"}
    ).json()["token"]
    as_member = {"Authorization": f"Bearer {member}"}
    refused = owner.client.post(
        "/v1/users", json={"name": "sneaky", "password": "dev-secret-2"}, headers=as_member
    )
    assert refused.status_code == 403
    disabled = owner.client.patch(
        f"/v1/users/{added.json()['id']}", json={"enabled": False}, headers=headers
    )
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    assert owner.client.get("/v1/auth/tokens", headers=as_member).status_code == 401
    with owner.container.db.read() as conn:
        actions = conn.execute(select(audit_log.c.action)).scalars().all()
    assert {"user.create", "user.disable"} <= set(actions)


def test_an_owner_cannot_touch_another_tenant_s_users_nor_lock_itself_out(owner: Cloud) -> None:
    headers = _owner_headers(owner)
    with owner.container.db.read() as conn:
        alice = conn.execute(select(users.c.id).where(users.c.name == "alice")).scalar_one()
        me = conn.execute(select(users.c.id).where(users.c.role == "owner")).scalar_one()
    other = owner.client.patch(f"/v1/users/{alice}", json={"enabled": False}, headers=headers)
    assert other.status_code == 404
    myself = owner.client.patch(f"/v1/users/{me}", json={"enabled": False}, headers=headers)
    assert myself.status_code == 409
    member = owner.client.post(
        "/v1/users",
        json={"name": "acme-dev", "password": "dev-secret-1"},
        headers=owner.acme.headers,
    )
    assert member.status_code == 403


def test_the_admin_s_queue_pages_like_every_list(gated: Cloud) -> None:
    for n in range(3):
        _sign_up(gated.client, email=f"p{n}@example.com", tenant=f"pending{n}")
        code = _code(_mails(gated)[-1])
        gated.client.post("/v1/signup/verify", json={"token": code})
    first = gated.client.get("/v1/admin/signups?limit=2", headers=gated.admin).json()
    assert len(first["items"]) == 2 and first["next_marker"]
    rest = gated.client.get(
        f"/v1/admin/signups?limit=2&marker={first['next_marker']}", headers=gated.admin
    ).json()
    emails = [s["email"] for s in first["items"] + rest["items"]]
    assert sorted(emails) == ["p0@example.com", "p1@example.com", "p2@example.com"]
    assert rest["next_marker"] is None


def test_resend_replaces_the_code_and_answers_the_same_for_anyone(door: Cloud) -> None:
    _sign_up(door.client, email="ann.lee@gmail.com")
    first = _code(_mails(door)[0])
    again = door.client.post("/v1/signup/resend", json={"email": "annlee+x@gmail.com"})
    stranger = door.client.post("/v1/signup/resend", json={"email": "who@example.com"})
    assert (again.status_code, again.json()) == (stranger.status_code, stranger.json())
    assert again.status_code == 202 and len(_mails(door)) == 2
    assert _mails(door)[1]["to"] == "ann.lee@gmail.com"  # the address signed up, not the ask
    second = _code(_mails(door)[1])
    assert door.client.post("/v1/signup/verify", json={"token": first}).status_code == 400
    assert door.client.post("/v1/signup/verify", json={"token": second}).status_code == 200
    door.client.post("/v1/signup/resend", json={"email": "ann.lee@gmail.com"})
    assert len(_mails(door)) == 2  # an open account gets no new code
