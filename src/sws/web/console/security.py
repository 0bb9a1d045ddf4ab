"""Console security: the server secret, CSRF tokens and signed flash messages.

- The session cookie holds the opaque API token; only its SHA-256 is stored server-side.
- A form's CSRF token is HMAC-SHA256(secret, session token), or of the anonymous cookie
  before login, so it needs no server-side state and dies with the session.
- Login throttling is identity's (`sws.identity.throttle`), shared with the API and by
  every replica.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

SECRET_FILE = "console-secret"
MAX_TRACKED = 10_000


def load_secret(home: Path, configured: str | None) -> bytes:
    """`SWS_CONSOLE_SECRET` if set (needed when replicas share sessions), else a file under home."""
    if configured:
        return configured.encode()
    path = home / SECRET_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def sign(secret: bytes, purpose: str, value: str) -> str:
    message = f"{purpose}\x00{value}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def csrf_token(secret: bytes, session_value: str) -> str:
    return sign(secret, "csrf", session_value)


def csrf_valid(secret: bytes, session_value: str, submitted: str) -> bool:
    return bool(session_value) and hmac.compare_digest(csrf_token(secret, session_value), submitted)


def encode_flash(secret: bytes, messages: list[tuple[str, str]]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(messages).encode()).decode().rstrip("=")
    return f"{body}.{sign(secret, 'flash', body)}"


def decode_flash(secret: bytes, cookie: str | None) -> list[tuple[str, str]]:
    """The messages of a flash cookie, or none if it is missing or was not signed by us."""
    body, _, signature = (cookie or "").partition(".")
    if not body or not hmac.compare_digest(sign(secret, "flash", body), signature):
        return []
    try:
        decoded = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        return [(str(level), str(text)) for level, text in decoded]
    except (ValueError, TypeError):
        return []
