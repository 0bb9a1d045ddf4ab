"""TOTP two-factor authentication with recovery codes.

Enrolling (password needed) gives a secret, shown once as text and as an otpauth:// URI;
the first right code confirms it and answers ten recovery codes, shown once and stored as
SHA-256. From then on every local login needs a code: a TOTP code (never the same time step
twice) or an unused recovery code (spent). Turning 2FA off, or a fresh set of recovery
codes, needs the password and a code; the cloud's admin can turn it off for a user who lost
both phone and codes. Wrong passwords and codes count as failed logins of
the user from that address (the login throttle), and every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, RowMapping

from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Conflict, Forbidden, NotFound, SWSError, Unauthorized
from sws.identity import account_repository as account_repo
from sws.identity import repository as repo
from sws.identity.account_audit import audit_admin, audit_own
from sws.identity.account_model import (
    Enrolment,
    TwoFactorStatus,
    matching_step,
    new_recovery_codes,
    new_totp_secret,
    recovery_hash,
    require_session,
    totp_uri,
)
from sws.identity.auth import PasswordHashing
from sws.identity.model import Principal
from sws.identity.throttle import LoginThrottle

_passwords = PasswordHashing()
WRONG_CODE = "the code is wrong, expired or used already"


class SecondFactorRequired(SWSError):
    """The password was right; this account also needs its TOTP or a recovery code."""

    status = 401
    title = "Unauthorized"

    def __init__(self) -> None:
        super().__init__(
            "this account has two-factor authentication: send its code (TOTP or recovery)",
            field="code",
        )


@dataclass(frozen=True, slots=True)
class Proof:
    """What a sensitive change needs: the password, a code when 2FA is on, and the caller's
    address (for the throttle and the audit log)."""

    password: str
    code: str | None = None
    address: str = "unknown"


@dataclass(frozen=True, slots=True)
class Gate:
    """The database, the clock and the login throttle every use case here needs."""

    db: Database
    clock: Clock
    throttle: LoginThrottle


def status(*, db: Database, user_id: str) -> TwoFactorStatus:
    with db.read() as conn:
        factor = account_repo.totp_factor(conn, user_id)
        left = account_repo.recovery_codes_left(conn, user_id)
    enabled = factor is not None and factor["confirmed_at"] is not None
    return TwoFactorStatus(enabled=enabled, pending=factor is not None and not enabled,
                           recovery_codes_left=left if enabled else 0)


def enrol(*, gate: Gate, caller: Principal, proof: Proof) -> Enrolment:
    """A new secret for the caller (replacing one not yet confirmed)."""
    require_session(caller)
    check_password(gate, caller, proof)
    secret = new_totp_secret()
    with gate.db.begin() as conn:
        factor = account_repo.totp_factor(conn, caller.user_id, lock=True)
        if factor is not None and factor["confirmed_at"] is not None:
            raise Conflict("two-factor authentication is on already; turn it off first",
                           field="code")
        account_repo.put_totp_factor(conn, caller.user_id, secret, gate.clock.now())
        audit_own(conn, gate.clock, caller, "two_factor.enrol", address=proof.address)
    return Enrolment(secret=secret, uri=totp_uri(secret, caller.user_name))


def confirm(*, gate: Gate, caller: Principal, code: str, address: str = "unknown") -> list[str]:
    """Turn 2FA on with the first right code; the recovery codes, shown this once."""
    require_session(caller)
    gate.throttle.check(caller.user_name, address)
    now = gate.clock.now()
    codes: list[str] = []
    with gate.db.begin() as conn:
        factor = account_repo.totp_factor(conn, caller.user_id, lock=True)
        if factor is None or factor["confirmed_at"] is not None:
            raise Conflict("there is no enrolment waiting for a code: enrol first", field="code")
        step = matching_step(factor["secret"], code, now, factor["last_step"])
        ok = step is not None and account_repo.accept_step(conn, caller.user_id, step)
        if ok:
            account_repo.confirm_totp(conn, caller.user_id, now)
            codes = _fresh_codes(conn, caller.user_id, gate)
            audit_own(conn, gate.clock, caller, "two_factor.enable", address=address)
    if not ok:
        _refuse(gate, caller, address)
    return codes


def disable(*, gate: Gate, caller: Principal, proof: Proof) -> None:
    """Turn 2FA off: the password and a code (TOTP or recovery) are both needed."""
    require_session(caller)
    check_password(gate, caller, proof)
    with gate.db.begin() as conn:
        spent = _spend_code(conn, gate, caller, proof)
        if spent:
            account_repo.delete_second_factor(conn, caller.user_id)
            audit_own(conn, gate.clock, caller, "two_factor.disable", address=proof.address)
    if not spent:
        _refuse(gate, caller, proof.address)


def regenerate(*, gate: Gate, caller: Principal, proof: Proof) -> list[str]:
    """A new set of recovery codes (the old ones stop working); password and code needed."""
    require_session(caller)
    check_password(gate, caller, proof)
    codes: list[str] = []
    with gate.db.begin() as conn:
        spent = _spend_code(conn, gate, caller, proof)
        if spent:
            codes = _fresh_codes(conn, caller.user_id, gate)
            audit_own(conn, gate.clock, caller, "two_factor.recovery_codes",
                      address=proof.address)
    if not spent:
        _refuse(gate, caller, proof.address)
    return codes


def reset_by_admin(*, db: Database, clock: Clock, admin: Principal, user_id: str) -> None:
    """The cloud's admin turns off a user's 2FA (a lost phone and lost recovery codes); the
    user's sessions end, so the next login is with the password alone."""
    if not admin.is_admin:
        raise Forbidden("this needs the admin role")
    with db.begin() as conn:
        user = repo.get_user(conn, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        account_repo.delete_second_factor(conn, user_id)
        repo.revoke_user_tokens(conn, user_id, clock.now())
        audit_admin(conn, clock, admin, "two_factor.reset", user)


def check_login(
    *, gate: Gate, user_id: str, code: str | None, required: bool = False
) -> None:
    """Nothing when the user has no 2FA (unless `required`) or `code` is right (spending
    it); else `SecondFactorRequired` (no code) or Unauthorized (a wrong one)."""
    with gate.db.begin() as conn:
        factor = account_repo.totp_factor(conn, user_id, lock=True)
        if factor is None or factor["confirmed_at"] is None:
            if required:
                raise Unauthorized(WRONG_CODE, field="code")
            return
        if not code:
            raise SecondFactorRequired()
        if not _spent(conn, gate, user_id, factor, code):
            raise Unauthorized(WRONG_CODE, field="code")


def _spend_code(conn: Connection, gate: Gate, caller: Principal, proof: Proof) -> bool:
    """Whether the proof's code was right (and is now spent); Conflict when 2FA is off."""
    factor = account_repo.totp_factor(conn, caller.user_id, lock=True)
    if factor is None or factor["confirmed_at"] is None:
        raise Conflict("two-factor authentication is not on", field="code")
    return bool(proof.code) and _spent(conn, gate, caller.user_id, factor, proof.code or "")


def _refuse(gate: Gate, caller: Principal, address: str) -> None:
    """Count a wrong code as a failed login (after the transaction: SQLite has one writer)."""
    gate.throttle.failed(caller.user_name, address)
    raise Forbidden(WRONG_CODE, field="code")


def _spent(conn: Connection, gate: Gate, user_id: str, factor: RowMapping, code: str) -> bool:
    """Accept `code` once: a TOTP step later than the last one, or an unused recovery code."""
    now = gate.clock.now()
    step = matching_step(factor["secret"], code.strip(), now, factor["last_step"])
    if step is not None:
        return account_repo.accept_step(conn, user_id, step)
    hashed = recovery_hash(code)
    return hashed is not None and account_repo.use_recovery_code(conn, user_id, hashed, now)


def _fresh_codes(conn: Connection, user_id: str, gate: Gate) -> list[str]:
    codes = new_recovery_codes()
    hashes = [h for h in map(recovery_hash, codes) if h is not None]
    account_repo.replace_recovery_codes(conn, user_id, hashes, gate.clock.now())
    return codes


def check_password(gate: Gate, caller: Principal, proof: Proof) -> None:
    """The caller's password, throttled as logins are."""
    gate.throttle.check(caller.user_name, proof.address)
    with gate.db.read() as conn:
        found = repo.find_credentials(conn, caller.user_name)
    if found is None or not _passwords.verify(found.password_hash, proof.password):
        gate.throttle.failed(caller.user_name, proof.address)
        raise Forbidden("the password is wrong", field="password")
