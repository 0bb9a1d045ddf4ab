"""The caller's own account through the API: two-factor login, API credentials, sessions,
e-mail change and settings, as a tenant's user would use them."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from sws.identity.account_model import time_step, totp_at
from sws.identity.tables import users
from sws.mail.tables import mail_outbox
from tests.api.conftest import PASSWORD, Cloud

ALICE = {"name": "alice", "password": PASSWORD}


def _code(cloud: Cloud, secret: str, later: int = 0) -> str:
    """The authenticator app's code now (or `later` steps on)."""
    return totp_at(secret, time_step(cloud.clock.now()) + later)


def _log_in(cloud: Cloud, **extra: str) -> Any:
    return cloud.client.post("/v1/auth/tokens", json={**ALICE, **extra},
                             headers={"User-Agent": "acme-deploy/1.0"})


def _enable_2fa(cloud: Cloud) -> tuple[str, list[str]]:
    headers = cloud.acme.headers
    enrolled = cloud.client.post("/v1/account/2fa", json={"password": PASSWORD}, headers=headers)
    assert enrolled.status_code == 201, enrolled.text
    secret = enrolled.json()["secret"]
    assert enrolled.json()["otpauth_uri"].startswith("otpauth://totp/SWS:alice?secret=")
    confirmed = cloud.client.post("/v1/account/2fa/confirm", json={"code": _code(cloud, secret)},
                                  headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]


def _mails(cloud: Cloud) -> list[dict[str, Any]]:
    with cloud.container.db.read() as conn:
        rows = conn.execute(select(mail_outbox).order_by(mail_outbox.c.id)).mappings()
        return [{"key": r["key"], **json.loads(r["payload"])} for r in rows]


def _set_email(cloud: Cloud, name: str, email: str) -> None:
    with cloud.container.db.begin() as conn:
        conn.execute(update(users).where(users.c.name == name).values(email=email))


# ---- two-factor authentication -------------------------------------------------------------


def test_once_2fa_is_on_a_login_needs_a_code_that_works_once(cloud: Cloud) -> None:
    secret, _ = _enable_2fa(cloud)

    without = _log_in(cloud)
    assert (without.status_code, without.json()["field"]) == (401, "code")
    cloud.clock.advance(timedelta(seconds=30))
    code = _code(cloud, secret)
    assert _log_in(cloud, code=code).status_code == 201
    replayed = _log_in(cloud, code=code)
    assert (replayed.status_code, replayed.json()["field"]) == (401, "code")
    assert _log_in(cloud, code="000000" if code != "000000" else "111111").status_code == 401


def test_a_recovery_code_logs_in_once_and_new_ones_replace_the_old(cloud: Cloud) -> None:
    _, codes = _enable_2fa(cloud)
    assert len(codes) == 10 and len(set(codes)) == 10

    assert _log_in(cloud, code=codes[0].upper()).status_code == 201
    assert _log_in(cloud, code=codes[0]).status_code == 401
    status = cloud.client.get("/v1/account/2fa", headers=cloud.acme.headers).json()
    assert status == {"enabled": True, "pending": False, "recovery_codes_left": 9}

    fresh = cloud.client.post("/v1/account/2fa/recovery-codes", headers=cloud.acme.headers,
                              json={"password": PASSWORD, "code": codes[1]})
    assert fresh.status_code == 200, fresh.text
    assert _log_in(cloud, code=codes[2]).status_code == 401  # the old set is gone
    assert _log_in(cloud, code=fresh.json()["recovery_codes"][0]).status_code == 201


def test_turning_2fa_off_needs_the_password_and_a_code(cloud: Cloud) -> None:
    secret, codes = _enable_2fa(cloud)
    headers = cloud.acme.headers
    cloud.clock.advance(timedelta(seconds=30))

    wrong_password = cloud.client.post("/v1/account/2fa/disable", headers=headers,
                                       json={"password": "not-it-at-all", "code": codes[0]})
    assert (wrong_password.status_code, wrong_password.json()["field"]) == (403, "password")
    wrong_code = cloud.client.post("/v1/account/2fa/disable", headers=headers,
                                   json={"password": PASSWORD, "code": "123-bad"})
    assert (wrong_code.status_code, wrong_code.json()["field"]) == (403, "code")
    off = cloud.client.post("/v1/account/2fa/disable", headers=headers,
                            json={"password": PASSWORD, "code": _code(cloud, secret)})
    assert off.status_code == 204, off.text
    assert _log_in(cloud).status_code == 201


def test_wrong_codes_are_throttled_like_logins(cloud: Cloud) -> None:
    _enable_2fa(cloud)
    answers = [_log_in(cloud, code="999999").status_code for _ in range(12)]
    assert answers[0] == 401 and answers[-1] == 429


# ---- API credentials -------------------------------------------------------------------------


def test_an_api_credential_is_shown_once_works_as_a_token_and_dies_when_revoked(
    cloud: Cloud,
) -> None:
    client, headers = cloud.client, cloud.acme.headers
    made = client.post("/v1/account/credentials", headers=headers,
                       json={"name": "deploy", "expires_in_days": 30})
    assert made.status_code == 201, made.text
    secret, credential_id = made.json()["secret"], made.json()["id"]
    assert secret.startswith("swsk_")

    listed = client.get("/v1/account/credentials", headers=headers).json()
    assert [c["name"] for c in listed] == ["deploy"] and secret not in json.dumps(listed)
    for sent in ({"X-Auth-Token": secret}, {"Authorization": f"Bearer {secret}"}):
        who = client.get("/v1/auth/tokens", headers=sent)
        assert (who.status_code, who.json()["user_name"]) == (200, "alice")
        assert client.get("/v1/servers", headers=sent).status_code == 200
    # A credential cannot change the account's security.
    as_key = {"X-Auth-Token": secret}
    again = client.post("/v1/account/credentials", headers=as_key, json={"name": "more"})
    assert again.status_code == 403

    assert client.delete(f"/v1/account/credentials/{credential_id}",
                         headers=headers).status_code == 204
    assert client.get("/v1/servers", headers=as_key).status_code == 401


def test_a_credential_expires_and_cannot_outlive_its_user(cloud: Cloud) -> None:
    client, headers = cloud.client, cloud.acme.headers
    short = client.post("/v1/account/credentials", headers=headers,
                        json={"name": "short", "expires_in_days": 1}).json()["secret"]
    assert client.get("/v1/servers", headers={"X-Auth-Token": short}).status_code == 200
    cloud.clock.advance(timedelta(days=1, seconds=1))
    assert client.get("/v1/servers", headers={"X-Auth-Token": short}).status_code == 401

    long = client.post("/v1/account/credentials", headers=_fresh(cloud),
                       json={"name": "long"}).json()["secret"]
    with cloud.container.db.begin() as conn:
        conn.execute(update(users).where(users.c.name == "alice").values(enabled=False))
    assert client.get("/v1/servers", headers={"X-Auth-Token": long}).status_code == 401


def test_credential_names_and_lifetimes_are_checked(cloud: Cloud) -> None:
    client, headers = cloud.client, cloud.acme.headers
    assert client.post("/v1/account/credentials", headers=headers,
                       json={"name": "ci"}).status_code == 201
    twice = client.post("/v1/account/credentials", headers=headers, json={"name": "ci"})
    assert (twice.status_code, twice.json()["field"]) == (409, "name")
    bad = client.post("/v1/account/credentials", headers=headers,
                      json={"name": "x y", "expires_in_days": 30})
    assert bad.status_code == 422
    too_long = client.post("/v1/account/credentials", headers=headers,
                           json={"name": "forever", "expires_in_days": 400})
    assert too_long.status_code == 422


def _fresh(cloud: Cloud) -> dict[str, str]:
    token = _log_in(cloud).json()["token"]
    return {"Authorization": f"Bearer {token}"}


# ---- sessions ---------------------------------------------------------------------------


def test_sessions_show_where_they_came_from_and_end_one_by_one_or_all_at_once(
    cloud: Cloud,
) -> None:
    laptop = _fresh(cloud)
    phone = _fresh(cloud)
    listed = cloud.client.get("/v1/account/sessions", headers=laptop).json()
    assert len(listed) == 3  # the fixture's login, the laptop and the phone
    mine = [s for s in listed if s["current"]]
    assert len(mine) == 1 and mine[0]["agent"] == "acme-deploy/1.0"
    assert mine[0]["address"] and mine[0]["last_seen_at"]

    phone_id = next(s["id"] for s in cloud.client.get("/v1/account/sessions",
                                                      headers=phone).json() if s["current"])
    assert cloud.client.delete(f"/v1/account/sessions/{phone_id}",
                               headers=laptop).status_code == 204
    assert cloud.client.get("/v1/servers", headers=phone).status_code == 401
    assert cloud.client.get("/v1/servers", headers=laptop).status_code == 200

    everywhere = cloud.client.post("/v1/account/sessions/revoke-all", headers=laptop)
    assert everywhere.status_code == 204
    for headers in (laptop, cloud.acme.headers):
        assert cloud.client.get("/v1/servers", headers=headers).status_code == 401


# ---- e-mail change ----------------------------------------------------------------------


def test_a_new_address_takes_effect_only_when_its_mailed_code_is_used(cloud: Cloud) -> None:
    _set_email(cloud, "alice", "alice@acme.test")
    asked = cloud.client.post("/v1/account/email", headers=cloud.acme.headers,
                              json={"email": "Alice@New.example", "password": PASSWORD})
    assert (asked.status_code, asked.json()) == (202, {"status": "accepted"})
    mails = {m["to"]: m for m in _mails(cloud)}
    assert set(mails) == {"Alice@new.example", "alice@acme.test"}
    assert "Alice@new.example" in mails["alice@acme.test"]["text"]  # the old address is told
    token = re.search(r"token=([\w-]+)", mails["Alice@new.example"]["text"])
    assert token
    before = cloud.client.get("/v1/account", headers=cloud.acme.headers).json()
    assert before["email"] == "alice@acme.test"

    done = cloud.client.post("/v1/account/email/confirm", json={"token": token.group(1)})
    assert (done.status_code, done.json()) == (200, {"email": "Alice@new.example"})
    after = cloud.client.get("/v1/account", headers=cloud.acme.headers).json()
    assert after["email"] == "alice@new.example"
    replay = cloud.client.post("/v1/account/email/confirm", json={"token": token.group(1)})
    assert (replay.status_code, replay.json()["field"]) == (409, "token")
    unknown = cloud.client.post("/v1/account/email/confirm", json={"token": "nope"})
    assert unknown.status_code == 400


def test_an_address_of_another_account_gets_the_same_answer_and_its_owner_a_mail(
    cloud: Cloud,
) -> None:
    _set_email(cloud, "bob", "bob@globex.test")
    free = cloud.client.post("/v1/account/email", headers=cloud.acme.headers,
                             json={"email": "free@acme.test", "password": PASSWORD})
    taken = cloud.client.post("/v1/account/email", headers=cloud.acme.headers,
                              json={"email": "BOB@globex.test", "password": PASSWORD})
    assert (free.status_code, free.json()) == (taken.status_code, taken.json())
    to_bob = [m for m in _mails(cloud) if m["to"] == "BOB@globex.test"]
    assert len(to_bob) == 1 and to_bob[0]["key"].startswith("email_change_taken:")
    assert "token=" not in to_bob[0]["text"]


def test_an_expired_code_is_gone_and_a_wrong_password_refused(cloud: Cloud) -> None:
    wrong = cloud.client.post("/v1/account/email", headers=cloud.acme.headers,
                              json={"email": "new@acme.test", "password": "not-the-one"})
    assert (wrong.status_code, wrong.json()["field"]) == (403, "password")
    cloud.client.post("/v1/account/email", headers=cloud.acme.headers,
                      json={"email": "new@acme.test", "password": PASSWORD})
    token = re.search(r"token=([\w-]+)", _mails(cloud)[-1]["text"])
    assert token
    cloud.clock.advance(timedelta(hours=25))
    late = cloud.client.post("/v1/account/email/confirm", json={"token": token.group(1)})
    assert late.status_code == 410


# ---- settings ---------------------------------------------------------------------------


def test_language_and_time_zone_are_the_users_own(cloud: Cloud) -> None:
    headers = cloud.acme.headers
    first = cloud.client.get("/v1/account", headers=headers).json()
    assert (first["language"], first["timezone"], first["two_factor"]) == ("en", "UTC", False)
    changed = cloud.client.patch("/v1/account", headers=headers,
                                 json={"language": "zh", "timezone": "Asia/Shanghai"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["language"], changed.json()["timezone"]) == ("zh", "Asia/Shanghai")
    assert cloud.client.get("/v1/account", headers=cloud.globex.headers).json()["language"] == "en"
    bad = cloud.client.patch("/v1/account", headers=headers, json={"timezone": "Mars/Base"})
    assert (bad.status_code, bad.json()["field"]) == (422, "timezone")


def test_the_clouds_admin_turns_off_2fa_for_a_user_who_lost_phone_and_codes(
    cloud: Cloud,
) -> None:
    _enable_2fa(cloud)
    user_id = cloud.client.get("/v1/account", headers=cloud.acme.headers).json()["user_id"]
    refused = cloud.client.post(f"/v1/admin/users/{user_id}/2fa/reset",
                                headers=cloud.globex.headers)
    assert refused.status_code == 403
    assert _log_in(cloud).status_code == 401

    reset = cloud.client.post(f"/v1/admin/users/{user_id}/2fa/reset", headers=cloud.admin)
    assert reset.status_code == 200, reset.text
    assert cloud.client.get("/v1/servers", headers=cloud.acme.headers).status_code == 401
    assert _log_in(cloud).status_code == 201
    missing = cloud.client.post("/v1/admin/users/nobody/2fa/reset", headers=cloud.admin)
    assert missing.status_code == 404
