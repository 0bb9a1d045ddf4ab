"""Identity tables: regions, tenants, users (and their places in other teams), hashed bearer
tokens, failed logins, and the account's own security: TOTP factors, recovery codes, API
credentials and e-mail changes."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table

from sws.db.metadata import UTCDateTime, metadata

regions = Table(
    "regions",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("description", String(255), nullable=False, default=""),
)

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("billing_timezone", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("name", String(64), nullable=False, unique=True),
    # Lower-case; set for users who signed up (they log in and reset by it), else empty.
    Column("email", String(254), nullable=True, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    # The user's own settings; empty means the default (sign-up language, UTC).
    Column("language", String(8), nullable=True),
    Column("timezone", String(64), nullable=True),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    # What the user's sessions list shows: where the login came from, and when last used.
    Column("address", String(64), nullable=True),
    Column("agent", String(255), nullable=True),
    Column("last_seen_at", UTCDateTime, nullable=True),
    # The tenant this session acts in when it is not the user's own (a team it joined).
    Column("tenant_id", String(36), nullable=True),
)

# One row per failed login, keyed by a hash of (user name, client address); rows older than
# the throttle window are deleted as new failures arrive.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, index=True),
    Column("failed_at", UTCDateTime, nullable=False, index=True),
)


# A user's TOTP secret (RFC 6238), in force once confirmed; `last_step` is the time step of
# the last code accepted, so a code is never accepted twice.
totp_factors = Table(
    "totp_factors",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id"), primary_key=True),
    Column("secret", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime, nullable=True),
    Column("last_step", Integer, nullable=True),
)

# Single-use recovery codes (SHA-256 of 80 random bits each); a new set deletes the old.
recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)

# Named keys for scripts, bound to a user and its tenant; only the SHA-256 is kept.
api_credentials = Table(
    "api_credentials",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("tenant_id", String(36), nullable=False),
    Column("name", String(64), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("last_used_at", UTCDateTime, nullable=True),
)

# A requested change of address: the code mailed to the new address (SHA-256), single-use.
email_changes = Table(
    "email_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("new_email", String(254), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)

# An owner's invitation to join its tenant with a role: the mailed code's SHA-256 only,
# usable once until it expires or the owner revokes it.
invitations = Table(
    "invitations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("email", String(254), nullable=False),
    Column("role", String(16), nullable=False),
    Column("language", String(8), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("invited_by", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("accepted_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("user_id", String(36), nullable=True),
)

# A user's place in a tenant other than its own (users.tenant_id): a team it joined by
# accepting an invitation with the account it already had, with its role in that team.
memberships = Table(
    "memberships",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id"), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), primary_key=True, index=True),
    Column("role", String(16), nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
)
