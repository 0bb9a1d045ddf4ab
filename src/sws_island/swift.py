"""A chunk store in a Swift container over its HTTP API: pooled connections, retries, re-auth."""

from __future__ import annotations

import hashlib
import http.client
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

from sws_island.errors import StoreError

_RETRYABLE = {408, 429, 500, 502, 503, 504}
LIST_PAGE = 10_000  # Swift's default and maximum container listing limit


@dataclass(frozen=True)
class SwiftAccount:
    """Where chunks live: a service account (tempauth v1 credentials) and one container in it."""

    auth_url: str  # e.g. http://127.0.0.1:8080/auth/v1.0
    user: str
    key: str
    container: str


class SwiftStore:
    """ChunkStore on Swift: at most `connections` requests at once, each tried `attempts` times."""

    def __init__(
        self,
        account: SwiftAccount,
        connections: int = 8,
        attempts: int = 4,
        backoff: float = 0.2,
        timeout: float = 60,
    ) -> None:
        self.account = account
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self._slots = threading.BoundedSemaphore(max(1, connections))
        self._idle: list[http.client.HTTPConnection] = []
        self._auth_lock = threading.Lock()
        self._storage: urllib.parse.SplitResult | None = None
        self._token = ""

    def _authenticate(self) -> None:
        with self._auth_lock:
            last = ""
            for attempt in range(self.attempts):
                try:
                    self._auth_once()
                    return
                except (OSError, http.client.HTTPException) as exc:
                    last = repr(exc)
                time.sleep(self.backoff * (2**attempt))
            raise StoreError(f"Swift auth at {self.account.auth_url}: gave up ({last})")

    def _auth_once(self) -> None:
        url = urllib.parse.urlsplit(self.account.auth_url)
        conn = http.client.HTTPConnection(url.netloc, timeout=self.timeout)
        try:
            headers = {"X-Auth-User": self.account.user, "X-Auth-Key": self.account.key}
            conn.request("GET", url.path, headers=headers)
            reply = conn.getresponse()
            reply.read()
            if reply.status // 100 != 2:
                raise StoreError(f"Swift auth at {self.account.auth_url}: {reply.status}")
            self._storage = urllib.parse.urlsplit(reply.getheader("X-Storage-Url", ""))
            self._token = reply.getheader("X-Auth-Token", "")
        finally:
            conn.close()

    def _path(self, name: str = "", query: str = "") -> str:
        assert self._storage is not None
        path = f"{self._storage.path}/{urllib.parse.quote(self.account.container)}"
        if name:
            path += "/" + urllib.parse.quote(name)
        return f"{path}?{query}" if query else path

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """An idle connection (True: reused) or a new one (False)."""
        try:
            return self._idle.pop(), True
        except IndexError:
            assert self._storage is not None
            return http.client.HTTPConnection(self._storage.netloc, timeout=self.timeout), False

    def _drop_idle(self) -> None:
        """Close the idle connections: one the server closed means the others may be closed too."""
        while self._idle:
            try:
                self._idle.pop().close()
            except IndexError:  # another thread took the last one
                return

    def _exchange(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[http.client.HTTPConnection, int, bytes]:
        """One request. A reused connection that fails (the server closed it while idle, as
        Swift's proxy does after its client timeout) is dropped and the request sent once more
        on a new connection, without spending one of the attempts."""
        conn, reused = self._connection()
        try:
            conn.request(method, path, body=body, headers=headers)
            reply = conn.getresponse()
            return conn, reply.status, reply.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            if not reused:
                raise
        self._drop_idle()
        assert self._storage is not None
        conn = http.client.HTTPConnection(self._storage.netloc, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            reply = conn.getresponse()
            return conn, reply.status, reply.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            raise

    def _request(
        self,
        method: str,
        name: str = "",
        body: bytes | None = None,
        query: str = "",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        if self._storage is None:
            self._authenticate()
        last = ""
        for attempt in range(self.attempts):
            with self._slots:
                sent = {"X-Auth-Token": self._token, **(headers or {})}
                try:
                    conn, status, data = self._exchange(method, self._path(name, query), body, sent)
                except (OSError, http.client.HTTPException) as exc:
                    last = repr(exc)
                else:
                    self._idle.append(conn)
                    if status == 401:
                        self._authenticate()
                        last = "401 Unauthorized"
                        continue
                    if status not in _RETRYABLE:
                        return status, data
                    last = f"{status} {data[:200]!r}"
            time.sleep(self.backoff * (2**attempt))
        raise StoreError(
            f"Swift {method} {name or self.account.container}: gave up after "
            f"{self.attempts} attempts ({last})"
        )

    def _check(self, method: str, name: str, status: int, ok: set[int]) -> None:
        if status not in ok:
            raise StoreError(f"Swift {method} {name}: unexpected status {status}")

    def ensure_container(self) -> None:
        status, _ = self._request("PUT")
        self._check("PUT", self.account.container, status, {201, 202, 204})

    def delete_container(self) -> None:
        """Remove the (empty) container; one already gone is fine."""
        status, _ = self._request("DELETE")
        self._check("DELETE", self.account.container, status, {204, 404})

    def has(self, name: str) -> bool:
        status, _ = self._request("HEAD", name)
        self._check("HEAD", name, status, {200, 204, 404})
        return status != 404

    def put(self, name: str, data: bytes) -> None:
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()  # Swift checks it on arrival
        status, _ = self._request("PUT", name, body=data, headers={"ETag": etag})
        self._check("PUT", name, status, {201})

    def get(self, name: str) -> bytes:
        status, data = self._request("GET", name)
        if status == 404:
            raise FileNotFoundError(name)
        self._check("GET", name, status, {200})
        return data

    def delete(self, name: str) -> None:
        status, _ = self._request("DELETE", name)
        self._check("DELETE", name, status, {204, 404})

    def list(self, prefix: str = "") -> Iterator[str]:
        """Names under `prefix`, a page of LIST_PAGE at a time; a short page is the last."""
        marker = ""
        while True:
            query = urllib.parse.urlencode(
                {"format": "json", "prefix": prefix, "marker": marker, "limit": LIST_PAGE}
            )
            status, data = self._request("GET", query=query)
            if status == 404:
                return
            self._check("GET", self.account.container, status, {200, 204})
            names = [item["name"] for item in json.loads(data or b"[]")]
            if not names:
                return
            yield from names
            if len(names) < LIST_PAGE:  # saves the round trip that would return an empty page
                return
            marker = names[-1]
