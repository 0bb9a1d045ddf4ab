"""Connect's single-use console tokens, and whether a remote console's URL may be shown.

A token is minted by a POST from the instance page and opens one websocket: it is stored only
as its SHA-256, names its tenant, region and instance, and lives `TOKEN_SECONDS`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sws.clock import Clock

TOKEN_SECONDS = 60
_INTERNAL_SUFFIXES = (".local", ".internal", ".lan", ".localdomain", ".svc", ".cluster.local")


@dataclass(frozen=True, slots=True)
class ConsoleGrant:
    """What a console token allows: one instance of one tenant, in one region."""

    tenant_id: str
    region: str
    server_id: str
    expires_at: datetime


def _hashed(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ConsoleTokens:
    """The live tokens of this process, by hash; each one is taken at most once."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._grants: dict[str, ConsoleGrant] = {}
        self._lock = threading.Lock()

    def mint(self, *, tenant_id: str, region: str, server_id: str) -> str:
        now = self._clock.now()
        token = secrets.token_urlsafe(32)
        grant = ConsoleGrant(tenant_id, region, server_id, now + timedelta(seconds=TOKEN_SECONDS))
        with self._lock:
            self._grants = {k: g for k, g in self._grants.items() if g.expires_at > now}
            self._grants[_hashed(token)] = grant
        return token

    def take(self, token: str, server_id: str) -> ConsoleGrant | None:
        """The token's grant if it is live and for `server_id`; a token is gone once taken."""
        with self._lock:
            grant = self._grants.pop(_hashed(token), None)
        if grant is None or grant.server_id != server_id or grant.expires_at <= self._clock.now():
            return None
        return grant


def is_internal_url(url: str) -> bool:
    """True when the URL's host is one a browser on the Internet cannot reach."""
    host = (urlsplit(url).hostname or "").lower()
    if not host or "." not in host or host.endswith(_INTERNAL_SUFFIXES):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global
