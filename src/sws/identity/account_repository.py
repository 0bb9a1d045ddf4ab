"""SQL of a user's own account: settings, sessions, TOTP factors, recovery codes, API
credentials and e-mail changes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from sws.db.bulk import among
from sws.errors import Conflict
from sws.identity import tables as t
from sws.identity.account_model import Credential, SessionInfo
from sws.signup.tables import signups  # a user's sign-up holds its first language and address

SEEN_EVERY = timedelta(minutes=1)  # last-seen times are this coarse, to spare writes
_DEFAULT_LANGUAGE = "en"


# ---- settings and the language of mails ------------------------------------------------


def user_settings(conn: Connection, user_id: str) -> RowMapping | None:
    """The user's name, e-mail, language (stored, else its sign-up's, else English; and
    `known_language` without that default) and time zone (stored or None)."""
    query = select(
        t.users.c.id, t.users.c.name, t.users.c.email, t.users.c.timezone,
        _language(t.users).label("language"),
        _language(t.users, None).label("known_language"),
    ).where(t.users.c.id == user_id)
    return conn.execute(query).mappings().first()


def _language(users: Any, default: str | None = _DEFAULT_LANGUAGE) -> Any:
    """The user's language: chosen, else its sign-up's, else `default`."""
    signed = (
        select(signups.c.language).where(signups.c.user_id == users.c.id)
        .limit(1).scalar_subquery()
    )
    return func.coalesce(users.c.language, signed, default)


def mail_language(conn: Connection, user_id: str) -> str:
    """The language of mails to this user."""
    row = user_settings(conn, user_id)
    return str(row["language"]) if row else _DEFAULT_LANGUAGE


def language_by_email(conn: Connection, emails: list[str]) -> dict[str, str]:
    """The mail language of each address that belongs to a user (others left out)."""
    lowered = sorted({e.lower() for e in emails})
    query = select(t.users.c.email, _language(t.users).label("language")).where(
        t.users.c.email.in_(lowered)
    )
    return {str(row.email): str(row.language) for row in conn.execute(query)}


def tenant_recipients(conn: Connection, tenant_id: str) -> list[tuple[str, str]]:
    """(address, mail language) of each enabled user of the tenant with an address."""
    return recipients_of(conn, [tenant_id]).get(tenant_id, [])


def recipients_of(conn: Connection, tenant_ids: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """`tenant_recipients` of several tenants in one query (tenants without one left out)."""
    found: dict[str, list[tuple[str, str]]] = {}
    rows = conn.execute(_recipients(conn.dialect.name), {"ids": sorted(set(tenant_ids))})
    for row in rows:
        if row.email:
            found.setdefault(row.tenant_id, []).append((str(row.email), str(row.language)))
    return {tenant: sorted(reached) for tenant, reached in found.items()}


@cache
def _recipients(dialect: str) -> Select[Any]:
    users = t.users.c
    return select(users.tenant_id, users.email, _language(t.users).label("language")).where(
        among(dialect, users.tenant_id), users.enabled.is_(True), users.email.is_not(None)
    )


def update_settings(conn: Connection, user_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(t.users).where(t.users.c.id == user_id).values(**values))


# ---- sessions ----------------------------------------------------------------------------


def stale(last_seen: datetime | None, now: datetime) -> bool:
    """Whether a last-seen time is old enough to be written again."""
    return last_seen is None or last_seen < now - SEEN_EVERY


def describe_session(
    conn: Connection, token_id: str, *, address: str, agent: str, now: datetime
) -> None:
    conn.execute(
        update(t.tokens).where(t.tokens.c.id == token_id)
        .values(address=address[:64], agent=agent[:255], last_seen_at=now)
    )


def seen(conn: Connection, token_id: str, now: datetime) -> None:
    """Mark the session used now, unless it was marked within the last minute."""
    stale = or_(t.tokens.c.last_seen_at.is_(None), t.tokens.c.last_seen_at < now - SEEN_EVERY)
    conn.execute(
        update(t.tokens).where(t.tokens.c.id == token_id, stale).values(last_seen_at=now)
    )


def live_sessions(
    conn: Connection, user_id: str, now: datetime, current: str
) -> list[SessionInfo]:
    query = (
        select(t.tokens)
        .where(t.tokens.c.user_id == user_id, t.tokens.c.revoked_at.is_(None),
               t.tokens.c.expires_at > now)
        .order_by(t.tokens.c.issued_at.desc(), t.tokens.c.id)
    )
    return [
        SessionInfo(
            id=row["id"], issued_at=row["issued_at"], expires_at=row["expires_at"],
            last_seen_at=row["last_seen_at"], address=row["address"], agent=row["agent"],
            current=row["id"] == current,
        )
        for row in conn.execute(query).mappings()
    ]


def revoke_session(conn: Connection, user_id: str, token_id: str, now: datetime) -> bool:
    """Revoke one of the user's live sessions; False if it has none by that id."""
    result = conn.execute(
        update(t.tokens)
        .where(t.tokens.c.id == token_id, t.tokens.c.user_id == user_id,
               t.tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount == 1


# ---- TOTP factors and recovery codes -----------------------------------------------------


def totp_factor(conn: Connection, user_id: str, *, lock: bool = False) -> RowMapping | None:
    query = select(t.totp_factors).where(t.totp_factors.c.user_id == user_id)
    return conn.execute(query.with_for_update() if lock else query).mappings().first()


def put_totp_factor(conn: Connection, user_id: str, secret: str, now: datetime) -> None:
    """A new, unconfirmed secret for the user (replacing an unconfirmed one)."""
    conn.execute(delete(t.totp_factors).where(t.totp_factors.c.user_id == user_id))
    conn.execute(
        t.totp_factors.insert().values(
            user_id=user_id, secret=secret, created_at=now, confirmed_at=None, last_step=None
        )
    )


def accept_step(conn: Connection, user_id: str, step: int) -> bool:
    """Record `step` as used, only if no later or equal step was (the replay guard)."""
    c = t.totp_factors.c
    result = conn.execute(
        update(t.totp_factors)
        .where(c.user_id == user_id, or_(c.last_step.is_(None), c.last_step < step))
        .values(last_step=step)
    )
    return result.rowcount == 1


def confirm_totp(conn: Connection, user_id: str, now: datetime) -> None:
    c = t.totp_factors.c
    conn.execute(update(t.totp_factors).where(c.user_id == user_id).values(confirmed_at=now))


def delete_second_factor(conn: Connection, user_id: str) -> None:
    conn.execute(delete(t.totp_factors).where(t.totp_factors.c.user_id == user_id))
    conn.execute(delete(t.recovery_codes).where(t.recovery_codes.c.user_id == user_id))


def replace_recovery_codes(
    conn: Connection, user_id: str, hashes: list[str], now: datetime
) -> None:
    conn.execute(delete(t.recovery_codes).where(t.recovery_codes.c.user_id == user_id))
    conn.execute(
        t.recovery_codes.insert(),
        [{"user_id": user_id, "code_hash": h, "created_at": now, "used_at": None}
         for h in hashes],
    )


def use_recovery_code(conn: Connection, user_id: str, code_hash: str, now: datetime) -> bool:
    """Spend an unused recovery code of the user; False if there is none with that hash."""
    c = t.recovery_codes.c
    found = conn.execute(
        select(c.id).where(c.user_id == user_id, c.code_hash == code_hash, c.used_at.is_(None))
        .limit(1)
    ).scalar()
    if found is None:
        return False
    result = conn.execute(
        update(t.recovery_codes).where(c.id == found, c.used_at.is_(None)).values(used_at=now)
    )
    return result.rowcount == 1


def recovery_codes_left(conn: Connection, user_id: str) -> int:
    c = t.recovery_codes.c
    query = select(func.count()).where(c.user_id == user_id, c.used_at.is_(None))
    return int(conn.execute(query).scalar_one())


# ---- API credentials ---------------------------------------------------------------------


def _credential(row: RowMapping) -> Credential:
    return Credential(
        id=row["id"], name=row["name"], created_at=row["created_at"],
        expires_at=row["expires_at"], last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


def insert_credential(conn: Connection, values: dict[str, Any]) -> Credential:
    conn.execute(t.api_credentials.insert().values(**values, revoked_at=None, last_used_at=None))
    row = conn.execute(
        select(t.api_credentials).where(t.api_credentials.c.id == values["id"])
    ).mappings().one()
    return _credential(row)


def live_credential_named(conn: Connection, user_id: str, name: str, now: datetime) -> bool:
    c = t.api_credentials.c
    query = select(c.id).where(
        c.user_id == user_id, c.name == name, c.revoked_at.is_(None), c.expires_at > now
    )
    return conn.execute(query).first() is not None


def credentials_of(conn: Connection, user_id: str, now: datetime) -> list[Credential]:
    """The user's credentials that still work, newest first."""
    c = t.api_credentials.c
    query = (
        select(t.api_credentials)
        .where(c.user_id == user_id, c.revoked_at.is_(None), c.expires_at > now)
        .order_by(c.created_at.desc(), c.id)
    )
    return [_credential(row) for row in conn.execute(query).mappings()]


def revoke_credential(conn: Connection, user_id: str, credential_id: str, now: datetime) -> bool:
    c = t.api_credentials.c
    result = conn.execute(
        update(t.api_credentials)
        .where(c.id == credential_id, c.user_id == user_id, c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount == 1


def find_live_credential(conn: Connection, secret_hash: str, now: datetime) -> RowMapping | None:
    """The credential joined with its user and tenant, if neither revoked nor expired."""
    c = t.api_credentials.c
    query = (
        select(c.id.label("credential_id"), c.expires_at, c.tenant_id.label("bound_tenant"),
               c.last_used_at, t.users, t.tenants.c.enabled.label("tenant_enabled"),
               t.tenants.c.name.label("tenant_name"))
        .join(t.users, t.users.c.id == c.user_id)
        .join(t.tenants, t.tenants.c.id == t.users.c.tenant_id)
        .where(c.secret_hash == secret_hash, c.revoked_at.is_(None), c.expires_at > now)
    )
    return conn.execute(query).mappings().first()


def credential_used(conn: Connection, credential_id: str, now: datetime) -> None:
    c = t.api_credentials.c
    stale = or_(c.last_used_at.is_(None), c.last_used_at < now - SEEN_EVERY)
    conn.execute(
        update(t.api_credentials).where(c.id == credential_id, stale).values(last_used_at=now)
    )


# ---- e-mail changes ------------------------------------------------------------------------


def insert_email_change(conn: Connection, values: dict[str, Any]) -> None:
    """A new change request; the user's earlier unused ones stop working."""
    c = t.email_changes.c
    conn.execute(
        update(t.email_changes)
        .where(c.user_id == values["user_id"], c.used_at.is_(None))
        .values(used_at=values["created_at"])
    )
    conn.execute(t.email_changes.insert().values(**values, used_at=None))


def find_email_change(conn: Connection, token_hash: str) -> RowMapping | None:
    query = select(t.email_changes).where(t.email_changes.c.token_hash == token_hash)
    return conn.execute(query.with_for_update()).mappings().first()


def use_email_change(conn: Connection, change_id: int, now: datetime) -> bool:
    c = t.email_changes.c
    result = conn.execute(
        update(t.email_changes).where(c.id == change_id, c.used_at.is_(None)).values(used_at=now)
    )
    return result.rowcount == 1


def email_taken(conn: Connection, email: str, user_id: str) -> bool:
    query = select(t.users.c.id).where(t.users.c.email == email.lower(), t.users.c.id != user_id)
    return conn.execute(query).first() is not None


def set_email(conn: Connection, user_id: str, email: str) -> None:
    """The user's new address; another user's taking it first is a Conflict."""
    try:
        with conn.begin_nested():
            conn.execute(
                update(t.users).where(t.users.c.id == user_id).values(email=email.lower())
            )
    except IntegrityError as error:
        raise Conflict("this address belongs to another account now", field="token") from error


def move_signup_email(conn: Connection, user_id: str, email: str, key: str) -> None:
    """The user's sign-up follows its address, so resets and sign-ups find the person by the
    new one (and the old one is free again)."""
    try:
        with conn.begin_nested():
            conn.execute(
                update(signups).where(signups.c.user_id == user_id)
                .values(email=email, email_key=key)
            )
    except IntegrityError as error:
        raise Conflict("this address belongs to another account now", field="token") from error


def email_key_held(conn: Connection, key: str, user_id: str) -> bool:
    """Another person's sign-up (in any state) holds this address key."""
    query = select(signups.c.id).where(
        signups.c.email_key == key,
        or_(signups.c.user_id.is_(None), signups.c.user_id != user_id),
    )
    return conn.execute(query).first() is not None
