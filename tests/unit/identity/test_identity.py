"""Tenants, users and local tokens: what an operator and a tenant rely on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.errors import Conflict, Invalid, NotFound, Unauthorized
from sws.identity import service as identity
from sws.identity import tables
from sws.identity.auth import LocalAuth, hash_secret

PASSWORD = "correct horse battery"


def _auth(database: Database, clock: SimulatedClock) -> LocalAuth:
    return LocalAuth(db=database, clock=clock, ttl=timedelta(hours=1))


def _alice(database: Database, clock: SimulatedClock) -> str:
    tenant = identity.create_tenant(
        db=database, clock=clock, name="acme", billing_timezone="Asia/Shanghai", currency="CNY"
    )
    user = identity.create_user(
        db=database, clock=clock, tenant_id=tenant.id, name="alice", password=PASSWORD
    )
    return user.id


def test_a_token_is_stored_only_as_its_hash(database: Database, clock: SimulatedClock) -> None:
    _alice(database, clock)
    issued = _auth(database, clock).issue_token(name="alice", password=PASSWORD)
    with database.read() as conn:
        stored = conn.execute(select(tables.tokens.c.token_hash)).scalars().all()
    assert stored == [hash_secret(issued.secret)]
    assert issued.secret not in stored


def test_a_validated_token_names_its_user_and_itself(
    database: Database, clock: SimulatedClock
) -> None:
    alice = _alice(database, clock)
    auth = _auth(database, clock)
    issued = auth.issue_token(name="alice", password=PASSWORD)
    principal = auth.validate(secret=issued.secret)
    assert (principal.user_id, principal.token_id) == (alice, issued.principal.token_id)
    assert principal == issued.principal


def test_a_token_expires_after_its_ttl(database: Database, clock: SimulatedClock) -> None:
    _alice(database, clock)
    auth = _auth(database, clock)
    issued = auth.issue_token(name="alice", password=PASSWORD)
    clock.advance(timedelta(minutes=59))
    assert auth.validate(secret=issued.secret).user_name == "alice"
    clock.advance(timedelta(minutes=1))
    with pytest.raises(Unauthorized):
        auth.validate(secret=issued.secret)


def test_logout_revokes_only_that_token(database: Database, clock: SimulatedClock) -> None:
    _alice(database, clock)
    auth = _auth(database, clock)
    first = auth.issue_token(name="alice", password=PASSWORD)
    second = auth.issue_token(name="alice", password=PASSWORD)
    auth.revoke(principal=auth.validate(secret=first.secret))
    with pytest.raises(Unauthorized):
        auth.validate(secret=first.secret)
    assert auth.validate(secret=second.secret).tenant_id == first.principal.tenant_id


def test_wrong_password_unknown_user_and_disabled_user_look_alike(
    database: Database, clock: SimulatedClock
) -> None:
    user_id = _alice(database, clock)
    auth = _auth(database, clock)
    messages = set()
    for name, password in (("alice", "wrong password"), ("nobody", PASSWORD)):
        with pytest.raises(Unauthorized) as refused:
            auth.issue_token(name=name, password=password)
        messages.add(refused.value.detail)
    identity.set_user_enabled(db=database, clock=clock, user_id=user_id, enabled=False)
    with pytest.raises(Unauthorized) as disabled:
        auth.issue_token(name="alice", password=PASSWORD)
    messages.add(disabled.value.detail)
    assert len(messages) == 1


def test_disabling_a_user_or_resetting_a_password_revokes_tokens(
    database: Database, clock: SimulatedClock
) -> None:
    user_id = _alice(database, clock)
    auth = _auth(database, clock)
    token = auth.issue_token(name="alice", password=PASSWORD)
    identity.reset_password(db=database, clock=clock, user_id=user_id, password="another secret")
    with pytest.raises(Unauthorized):
        auth.validate(secret=token.secret)
    assert auth.issue_token(name="alice", password="another secret").principal.user_id == user_id


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"name": "x"}, "name"),
        ({"name": "ok-name", "billing_timezone": "Mars/Olympus"}, "billing_timezone"),
        ({"name": "ok-name", "currency": "XYZ"}, "currency"),
    ],
)
def test_bad_tenant_fields_are_named_and_nothing_is_written(
    database: Database, clock: SimulatedClock, fields: dict[str, str], bad_field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        identity.create_tenant(db=database, clock=clock, **fields)
    assert refused.value.field == bad_field
    assert not identity.has_tenants(db=database)


def test_names_are_unique(database: Database, clock: SimulatedClock) -> None:
    _alice(database, clock)
    with pytest.raises(Conflict):
        identity.create_tenant(db=database, clock=clock, name="acme")
    other = identity.create_tenant(db=database, clock=clock, name="globex")
    with pytest.raises(Conflict):
        identity.create_user(
            db=database, clock=clock, tenant_id=other.id, name="alice", password=PASSWORD
        )


def test_user_rules(database: Database, clock: SimulatedClock) -> None:
    tenant = identity.create_tenant(db=database, clock=clock, name="acme")
    with pytest.raises(Invalid) as short:
        identity.create_user(
            db=database, clock=clock, tenant_id=tenant.id, name="al", password="short"
        )
    assert short.value.field == "password"
    with pytest.raises(Invalid) as role:
        identity.create_user(
            db=database, clock=clock, tenant_id=tenant.id, name="al", password=PASSWORD,
            role="root",
        )
    assert role.value.field == "role"
    with pytest.raises(NotFound):
        identity.create_user(
            db=database, clock=clock, tenant_id="missing", name="al", password=PASSWORD
        )


def test_another_tenants_user_is_as_missing_as_a_missing_one(
    database: Database, clock: SimulatedClock
) -> None:
    alice = _alice(database, clock)
    globex = identity.create_tenant(db=database, clock=clock, name="globex")
    with pytest.raises(NotFound) as foreign:
        identity.get_user(db=database, user_id=alice, tenant_id=globex.id)
    with pytest.raises(NotFound) as missing:
        identity.get_user(db=database, user_id="no-such-user", tenant_id=globex.id)
    assert str(foreign.value).replace(alice, "?") == str(missing.value).replace("no-such-user", "?")
