"""How the edges read a private container origin: a container-scoped Swift TempURL key that SWS
sets on the container, and a prefix signature covering the whole container; pure but for the
`OriginKeys` port.

The key lives in the container's `X-Container-Meta-Temp-URL-Key-2` (the tenant keeps the first
slot for its own links). It is derived from the operator's secret and the container's path, so
SWS never stores it and can sign again at any time. The signature is a GET prefix signature
(`prefix:/v1/<account>/<container>/`): it lets its holder GET and HEAD any object of that one
container, and nothing else, until it expires. SWS signs for a whole validity window and ships
the query to the edges inside the VCL; Varnish appends it to every origin fetch. Removing the
key from the container (the last distribution on it deleted) makes every signature void at once.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import unquote

KEY_HEADER = "X-Container-Meta-Temp-URL-Key-2"
WINDOW_SECONDS = 86400  # a signature is re-made once per window: the VCL changes once a day


class OriginKeys(Protocol):
    """A region's Swift, where SWS writes and removes container keys (as the operator)."""

    def set_key(self, account: str, container: str, key: str) -> None: ...
    def remove_key(self, account: str, container: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ContainerPath:
    """A container origin as the edges fetch it: `/v1/<account>/<container>` (URL-encoded)."""

    path: str

    @property
    def account(self) -> str:
        return unquote(self._parts[1])

    @property
    def container(self) -> str:
        return unquote(self._parts[2])

    @property
    def _parts(self) -> list[str]:
        parts = self.path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "v1" or not all(parts):
            raise ValueError(f"{self.path!r} is not a container path")
        return parts


def container_key(secret: bytes, origin: ContainerPath) -> str:
    """The container's TempURL key: the same for the same secret and container, never stored."""
    return hmac.new(secret, b"sws-cdn-origin\n" + origin.path.encode(), hashlib.sha256).hexdigest()


def expiry(now: datetime) -> int:
    """When a signature made at `now` expires: the end of the next window, so one made at any
    moment of a window is good for at least a whole window more (equal within a window, so the
    VCL only changes at a window's start)."""
    start = int(now.timestamp()) // WINDOW_SECONDS * WINDOW_SECONDS
    return start + 2 * WINDOW_SECONDS


def origin_query(secret: bytes, origin: ContainerPath, now: datetime) -> str:
    """The query string Varnish puts first on its fetches from `origin` (Swift's tempurl takes
    a parameter's first value, so a visitor's own `temp_url_*` cannot replace it; `inline`
    keeps Swift from answering with `Content-Disposition: attachment`)."""
    expires = expiry(now)
    message = f"GET\n{expires}\nprefix:{origin.path}/"
    signature = hmac.new(container_key(secret, origin).encode(), message.encode(),
                         hashlib.sha256).hexdigest()
    return f"temp_url_sig={signature}&temp_url_expires={expires}&temp_url_prefix=&inline"


def grant(keys: OriginKeys, secret: bytes, origin: ContainerPath) -> None:
    """Let the edges read the container (idempotent: the key is always the same)."""
    keys.set_key(origin.account, origin.container, container_key(secret, origin))


def revoke(keys: OriginKeys, origin: ContainerPath) -> None:
    """Void every signature for the container: the key is gone from it."""
    keys.remove_key(origin.account, origin.container)


class SwiftOriginKeys:
    """`OriginKeys` through Swift's InternalClient (`sws_swift.writer.internal_client`), which
    `run` hands to a call (the driver runs it on the client's own thread).

    Temp-URL keys are owner headers: the proxy drops them from a request whose environment does
    not say `swift_owner` (what auth middleware says of an account's owner), so the POST goes
    through the client's pipeline with that mark. It also clears the container's info from the
    cluster's memcache, so the proxies see the change on their next request."""

    def __init__(self, run: Callable[[Callable[[Any], None]], None]) -> None:
        self._run = run

    def set_key(self, account: str, container: str, key: str) -> None:
        self._run(lambda internal: _post_key(internal, account, container, key))

    def remove_key(self, account: str, container: str) -> None:
        self._run(lambda internal: _post_key(internal, account, container, ""))


def _post_key(internal: Any, account: str, container: str, key: str) -> None:
    from swift.common.swob import Request
    from swift.common.utils import quote

    path = f"/v1/{quote(account)}/{quote(container)}"
    request = Request.blank(path, environ={"REQUEST_METHOD": "POST", "swift_owner": True},
                            headers={KEY_HEADER: key, "User-Agent": internal.user_agent})
    response = request.get_response(internal.app)
    if response.status_int // 100 != 2:
        raise RuntimeError(f"Swift answered {response.status} to setting {path}'s CDN key")
