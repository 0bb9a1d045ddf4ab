"""The cloud always keeps an admin, and only the operator tenant makes one; when every admin
password is lost, `sws admin recover` gives one back."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sws.cli import app
from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.errors import Conflict, Invalid, Unauthorized
from sws.identity import service as identity
from sws.identity.auth import LocalAuth

PASSWORD = "correct horse battery"


def _auth(database: Database, clock: SimulatedClock) -> LocalAuth:
    return LocalAuth(db=database, clock=clock, ttl=timedelta(hours=1))


def _operator(database: Database, clock: SimulatedClock) -> tuple[str, str]:
    tenant = identity.create_tenant(db=database, clock=clock, name="operator")
    root = identity.create_user(db=database, clock=clock, tenant_id=tenant.id, name="root",
                                password=PASSWORD, role="admin")
    return tenant.id, root.id


def test_the_last_enabled_admin_stays_enabled(database: Database, clock: SimulatedClock) -> None:
    tenant_id, root = _operator(database, clock)
    with pytest.raises(Conflict):
        identity.set_user_enabled(db=database, clock=clock, user_id=root, enabled=False)
    second = identity.create_user(db=database, clock=clock, tenant_id=tenant_id, name="ops2",
                                  password=PASSWORD, role="admin")
    identity.set_user_enabled(db=database, clock=clock, user_id=root, enabled=False)
    with pytest.raises(Conflict):
        identity.set_user_enabled(db=database, clock=clock, user_id=second.id, enabled=False)


def test_the_operator_tenant_cannot_be_disabled(database: Database, clock: SimulatedClock) -> None:
    tenant_id, _ = _operator(database, clock)
    with pytest.raises(Conflict):
        identity.update_tenant(db=database, tenant_id=tenant_id,
                               changes=identity.TenantChanges(enabled=False))


def test_a_renamed_operator_tenant_is_followed(database: Database, clock: SimulatedClock) -> None:
    ops = identity.create_tenant(db=database, clock=clock, name="noc")
    with pytest.raises(Invalid):  # "noc" is not the operator tenant by default
        identity.create_user(db=database, clock=clock, tenant_id=ops.id, name="root",
                             password=PASSWORD, role="admin")
    identity.create_user(db=database, clock=clock, tenant_id=ops.id, name="root",
                         password=PASSWORD, role="admin", operator_tenant="noc")
    auth = LocalAuth(db=database, clock=clock, ttl=timedelta(hours=1), operator_tenant="noc")
    assert auth.issue_token(name="root", password=PASSWORD).principal.is_admin


def test_recover_re_enables_and_resets_a_locked_out_admin(
    database: Database, clock: SimulatedClock
) -> None:
    tenant_id, root = _operator(database, clock)
    old = _auth(database, clock).issue_token(name="root", password=PASSWORD)
    with database.begin() as conn:  # an operator who locked themselves out by hand
        conn.exec_driver_sql("UPDATE users SET enabled = false")
        conn.exec_driver_sql("UPDATE tenants SET enabled = false")
    user = identity.recover_admin(db=database, clock=clock, name="root",
                                  password="a brand new passphrase")
    assert (user.id, user.enabled, user.role) == (root, True, "admin")
    assert identity.get_tenant(db=database, tenant_id=tenant_id).enabled
    issued = _auth(database, clock).issue_token(name="root", password="a brand new passphrase")
    assert issued.principal.is_admin
    with pytest.raises(Unauthorized):
        _auth(database, clock).validate(secret=old.secret)


def test_recover_creates_the_operator_and_admin_on_an_empty_cloud(
    database: Database, clock: SimulatedClock
) -> None:
    user = identity.recover_admin(db=database, clock=clock, name="admin", password=PASSWORD)
    assert _auth(database, clock).issue_token(name="admin", password=PASSWORD).principal.is_admin
    assert user.role == "admin"


def test_recover_never_takes_over_a_tenants_user(
    database: Database, clock: SimulatedClock
) -> None:
    _operator(database, clock)
    acme = identity.create_tenant(db=database, clock=clock, name="acme")
    identity.create_user(db=database, clock=clock, tenant_id=acme.id, name="alice",
                         password=PASSWORD)
    with pytest.raises(Conflict):
        identity.recover_admin(db=database, clock=clock, name="alice", password=PASSWORD)


def test_sws_admin_recover_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWS_HOME", str(tmp_path))
    monkeypatch.delenv("SWS_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    done = runner.invoke(app, ["admin", "recover", "--name", "rescue"],
                         input="a brand new passphrase\na brand new passphrase\n")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output.strip().splitlines()[-1])["role"] == "admin"
    short = runner.invoke(app, ["admin", "recover", "--password", "short"])
    assert short.exit_code == 2 and "password" in short.output
