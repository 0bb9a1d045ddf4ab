"""A user's own account: its settings (language of the console and of mails, time zone),
its sessions (list, end one, log out everywhere) and its API credentials (named keys for
scripts, shown once, stored as SHA-256, revoked at once). Changes are audited."""

from __future__ import annotations

import uuid

from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Conflict, NotFound
from sws.identity import account_repository as account_repo
from sws.identity import repository as repo
from sws.identity.account_audit import audit_own
from sws.identity.account_model import (
    AccountSettings,
    Credential,
    CredentialSpec,
    IssuedCredential,
    SessionInfo,
    SettingsChange,
    check_credential_spec,
    check_settings,
    credential_lifetime,
    new_credential_secret,
    require_session,
)
from sws.identity.auth import hash_secret
from sws.identity.model import Principal
from sws.identity.two_factor import status as two_factor_status

DEFAULT_TIMEZONE = "UTC"


def settings(*, db: Database, caller: Principal) -> AccountSettings:
    with db.read() as conn:
        row = account_repo.user_settings(conn, caller.user_id)
    if row is None:
        raise NotFound("this account's settings are kept by its identity provider")
    return AccountSettings(
        user_id=row["id"], name=row["name"], email=row["email"], language=row["language"],
        timezone=row["timezone"] or DEFAULT_TIMEZONE,
        two_factor=two_factor_status(db=db, user_id=caller.user_id).enabled,
        language_chosen=row["known_language"] is not None,
        timezone_chosen=row["timezone"] is not None,
    )


def change_settings(
    *, db: Database, clock: Clock, caller: Principal, change: SettingsChange
) -> AccountSettings:
    check_settings(change)
    values = {k: v for k, v in (("language", change.language), ("timezone", change.timezone))
              if v is not None}
    settings(db=db, caller=caller)  # the account is ours to change
    with db.begin() as conn:
        account_repo.update_settings(conn, caller.user_id, values)
        detail = " ".join(f"{k}={v}" for k, v in sorted(values.items()))
        audit_own(conn, clock, caller, "account.settings", detail)
    return settings(db=db, caller=caller)


# ---- sessions ----------------------------------------------------------------------------


def sessions(*, db: Database, clock: Clock, caller: Principal) -> list[SessionInfo]:
    with db.read() as conn:
        return account_repo.live_sessions(conn, caller.user_id, clock.now(), caller.token_id)


def end_session(*, db: Database, clock: Clock, caller: Principal, session_id: str) -> None:
    """End one of the caller's sessions; another user's id is as missing as a missing one."""
    require_session(caller)
    with db.begin() as conn:
        if not account_repo.revoke_session(conn, caller.user_id, session_id, clock.now()):
            raise NotFound(f"session {session_id} not found")
        audit_own(conn, clock, caller, "session.revoke", f"session={session_id}")


def end_every_session(*, db: Database, clock: Clock, caller: Principal) -> None:
    """Log out everywhere: every session of the caller ends, this one too."""
    require_session(caller)
    with db.begin() as conn:
        repo.revoke_user_tokens(conn, caller.user_id, clock.now())
        audit_own(conn, clock, caller, "session.revoke_all")


# ---- API credentials -------------------------------------------------------------------


def create_credential(
    *, db: Database, clock: Clock, caller: Principal, spec: CredentialSpec
) -> IssuedCredential:
    """A new credential of the caller, for its tenant; it acts with the caller's role."""
    require_session(caller)
    check_credential_spec(spec)
    secret, now = new_credential_secret(), clock.now()
    values = {
        "id": uuid.uuid4().hex, "user_id": caller.user_id, "tenant_id": caller.tenant_id,
        "name": spec.name, "secret_hash": hash_secret(secret), "created_at": now,
        "expires_at": now + credential_lifetime(spec),
    }
    with db.begin() as conn:
        if repo.get_user(conn, caller.user_id) is None:
            raise NotFound("API credentials are for SWS's own users")
        if account_repo.live_credential_named(conn, caller.user_id, spec.name, now):
            raise Conflict(f"you have a credential named {spec.name!r} already", field="name")
        credential = account_repo.insert_credential(conn, values)
        audit_own(conn, clock, caller, "credential.create", f"name={spec.name}")
    return IssuedCredential(secret=secret, credential=credential)


def credentials(*, db: Database, clock: Clock, caller: Principal) -> list[Credential]:
    with db.read() as conn:
        return account_repo.credentials_of(conn, caller.user_id, clock.now())


def revoke_credential(
    *, db: Database, clock: Clock, caller: Principal, credential_id: str
) -> None:
    """Revoke at once; another user's credential is as missing as a missing one."""
    require_session(caller)
    with db.begin() as conn:
        if not account_repo.revoke_credential(conn, caller.user_id, credential_id, clock.now()):
            raise NotFound(f"credential {credential_id} not found")
        audit_own(conn, clock, caller, "credential.revoke", f"id={credential_id}")
