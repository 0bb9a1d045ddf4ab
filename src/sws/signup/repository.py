"""Persistence of sign-ups and reset codes (SQLAlchemy Core); database errors become SWS's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, and_, insert, or_, select, update

from sws.db.once import insert_once
from sws.signup.model import Signup
from sws.signup.tables import password_resets, signups

_S = signups.c
_R = password_resets.c


def _locked(query: Select[Any], conn: Connection) -> Select[Any]:
    return query if conn.dialect.name == "sqlite" else query.with_for_update()


def _signup(row: RowMapping) -> Signup:
    return Signup(
        id=row["id"],
        email=row["email"],
        email_key=row["email_key"],
        tenant_name=row["tenant_name"],
        language=row["language"],
        state=row["state"],
        created_at=row["created_at"],
        token_expires_at=row["token_expires_at"],
        address=row["address"],
        tenant_id=row["tenant_id"],
    )


def find_by_key(conn: Connection, email_key: str) -> tuple[Signup, int] | None:
    """The sign-up of this person (locked) and how many verification mails it has sent."""
    query = _locked(select(signups).where(_S.email_key == email_key), conn)
    row = conn.execute(query).mappings().first()
    return (_signup(row), int(row["sends"])) if row else None


def find_by_token(conn: Connection, token_hash: str) -> tuple[Signup, str] | None:
    """The sign-up holding this code (locked), with its password hash."""
    query = _locked(select(signups).where(_S.token_hash == token_hash), conn)
    row = conn.execute(query).mappings().first()
    return (_signup(row), str(row["password_hash"])) if row else None


def get(conn: Connection, signup_id: str) -> tuple[Signup, str] | None:
    query = _locked(select(signups).where(_S.id == signup_id), conn)
    row = conn.execute(query).mappings().first()
    return (_signup(row), str(row["password_hash"])) if row else None


def name_reserved(conn: Connection, name: str, *, email_key: str, now: datetime) -> bool:
    """Another person's live sign-up (awaiting a decision, or a code not yet expired) holds
    this tenant name."""
    live = or_(_S.state == "pending", and_(_S.state == "unverified", _S.token_expires_at > now))
    query = select(_S.id).where(_S.tenant_name == name, _S.email_key != email_key, live)
    return conn.execute(query).first() is not None


def insert_signup(conn: Connection, values: dict[str, Any]) -> bool:
    """False when a sign-up with the same e-mail key won the race to be inserted."""
    return insert_once(conn, signups, values, key="email_key")


def update_signup(conn: Connection, signup_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(signups).where(_S.id == signup_id).values(**values))


def pending(conn: Connection, limit: int = 500) -> list[Signup]:
    query = select(signups).where(_S.state == "pending").order_by(_S.created_at).limit(limit)
    return [_signup(row) for row in conn.execute(query).mappings()]


def insert_reset(
    conn: Connection, *, user_id: str, token_hash: str, now: datetime, expires_at: datetime
) -> None:
    """A new code for `user_id`; the user's older unused codes stop working."""
    conn.execute(
        update(password_resets)
        .where(_R.user_id == user_id, _R.used_at.is_(None))
        .values(used_at=now)
    )
    conn.execute(
        insert(password_resets).values(
            user_id=user_id, token_hash=token_hash, created_at=now, expires_at=expires_at
        )
    )


def find_reset(conn: Connection, token_hash: str) -> RowMapping | None:
    query = _locked(select(password_resets).where(_R.token_hash == token_hash), conn)
    return conn.execute(query).mappings().first()


def use_reset(conn: Connection, reset_id: int, now: datetime) -> bool:
    """Mark the code used; False if another request used it first."""
    result = conn.execute(
        update(password_resets).where(_R.id == reset_id, _R.used_at.is_(None)).values(used_at=now)
    )
    return result.rowcount == 1
