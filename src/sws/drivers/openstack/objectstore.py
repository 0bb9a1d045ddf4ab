"""The `ObjectStore` port over a real Swift: containers, objects and their storage firewall.

A tenant's project maps to the Swift account `<account_prefix><project_id>` (`AUTH_<id>` by
default, as Keystone's reseller prefix names it), so container names are per tenant and another
tenant's container is simply not in the account: 404, like a missing one.

Two paths, as Swift's own services split them:

- **Management** (list, show, create and delete containers; read and write the firewall) goes
  through an `InternalClient` (`sws_swift.writer.internal_client`): a pipeline without
  `gatekeeper` and without `sws_firewall`, which is the only way to write container sysmeta,
  and which the container's own firewall cannot lock its owner out of. It needs the rings,
  `swift.conf` and the cluster's memcache on the SWS host (docs/storage-firewall.md). It is an
  eventlet pipeline, so it is built and called on one thread of the store's own.
- **Objects** (list, upload, download, delete) go through the public proxy with SWS's reseller
  token, carrying the tenant's address in `X-Forwarded-For`: the proxies must list SWS's API
  hosts in `trusted_proxies`, and then the firewall judges the tenant, not SWS. A 403 or 429 from
  the firewall comes back as `Forbidden` or `RateLimited` with the proxy's own wording.

Counts in `list_containers` come from the account listing, which Swift's container-updater
refreshes asynchronously; `get_container` (a container HEAD) is exact.

Usage for billing comes from the Redis that the proxies' `sws_usage` filter fills (requests,
bytes in and out per container and hour) plus SWS's own samples of each container's size
(`sample_storage`, run every few minutes): see `swift_usage`. Without a `usage` reader, `usage()`
reports nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote

from sws.drivers.base import (
    ContainerInfo,
    ContainerUsage,
    ObjectInfo,
    RateLimited,
    StoredObject,
)
from sws.drivers.openstack.swift_usage import SwiftUsage
from sws.errors import Conflict, Forbidden, NotFound, SWSError, Unavailable
from sws_swift.resp import ReplyError
from sws_swift.rules import FirewallRules, RuleError, from_sysmeta, sysmeta_key
from sws_swift.writer import write_rules

GIVE_UP = 3  # accounts in a row that cannot be listed: Swift is down, end the sampling round
T = TypeVar("T")


class SwiftObjectStore:
    """One region's Swift behind the `ObjectStore` port."""

    def __init__(
        self,
        *,
        region: str,
        proxy_url: str,
        token: Callable[[bool], str],
        internal: Callable[[], Any],
        account_prefix: str = "AUTH_",
        timeout: float = 10.0,
        usage: SwiftUsage | None = None,
    ) -> None:
        """`token(refresh)` gives a reseller-admin token (a new one when `refresh` is True);
        `internal()` builds the InternalClient (on the store's own thread: see below)."""
        self.region = region
        self._proxy = proxy_url.rstrip("/")
        self._token = token
        self._prefix = account_prefix
        self._timeout = timeout
        self._lock = threading.Lock()  # an InternalClient is one in-process pipeline
        # ... and an eventlet one: its greenthreads (the proxy app's timeout watchdog, spawned
        # when it is built), timers and pooled memcache connections belong to the hub of the
        # thread that made them. It is built and called on this one thread, so none is ever
        # switched to from another (API worker threads, the ticker), and its timeouts fire.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"swift-internal-{region}")
        self._internal = self._thread.submit(internal).result()
        self._usage = usage

    def account(self, project_id: str) -> str:
        return f"{self._prefix}{project_id}"

    # ---- containers (InternalClient) ---------------------------------------------------------

    def list_containers(self, project_id: str) -> Sequence[ContainerInfo]:
        account = self.account(project_id)
        listing = self._internal_client(
            "list the containers", lambda internal: list(internal.iter_containers(account))
        )
        return [
            ContainerInfo(name=c["name"], object_count=c["count"], bytes_used=c["bytes"])
            for c in listing
        ]

    def get_container(self, project_id: str, name: str) -> ContainerInfo:
        headers = self._manage(project_id, "HEAD", name)
        return ContainerInfo(
            name=name,
            object_count=int(headers.get("X-Container-Object-Count", 0)),
            bytes_used=int(headers.get("X-Container-Bytes-Used", 0)),
        )

    def create_container(self, project_id: str, name: str) -> ContainerInfo:
        try:
            self.get_container(project_id, name)
        except NotFound:
            self._manage(project_id, "PUT", name)
            return ContainerInfo(name=name, object_count=0, bytes_used=0)
        raise Conflict(f"Container {name} already exists.", field="name")

    def delete_container(self, project_id: str, name: str) -> None:
        self._manage(project_id, "DELETE", name)

    def _manage(
        self, project_id: str, method: str, name: str, headers: dict[str, str] | None = None
    ) -> Any:
        path = f"/v1/{quote(self.account(project_id))}/{quote(name, safe='')}"
        response = self._internal_client(
            f"{method} the container",
            lambda internal: internal.make_request(method, path, headers or {}, (2, 404, 409)),
        )
        if response.status_int == 404:
            raise NotFound(f"Container {name} could not be found.")
        if response.status_int == 409:
            raise Conflict(f"Container {name} is not empty: delete its objects first.")
        return response.headers

    # ---- firewall (container sysmeta, InternalClient) ----------------------------------------

    def get_firewall(self, project_id: str, container: str) -> FirewallRules:
        headers = self._manage(project_id, "HEAD", container)
        prefix = "x-container-sysmeta-"
        sysmeta = {k.lower()[len(prefix):]: v for k, v in headers.items()
                   if k.lower().startswith(prefix)}
        key = sysmeta_key(sysmeta)
        if key is None:
            return FirewallRules()
        try:
            return from_sysmeta(key)
        except RuleError as exc:  # written by someone other than SWS
            raise Unavailable(f"the container's firewall sysmeta is unreadable: {exc}") from None

    def set_firewall(self, project_id: str, container: str, rules: FirewallRules) -> None:
        self.get_container(project_id, container)  # 404 for a missing or foreign container
        account = self.account(project_id)
        self._internal_client(
            "write the firewall", lambda internal: write_rules(internal, account, container, rules)
        )

    def with_internal_client(self, doing: str, call: Callable[[Any], T]) -> T:
        """`call(internal_client)` for another domain's adapter (the CDN's origin keys)."""
        return self._internal_client(doing, call)

    def _internal_client(self, doing: str, call: Callable[[Any], T]) -> T:
        """`call(internal_client)` on the InternalClient's own thread, one caller at a time;
        its failures become `Unavailable`.

        A caller waits at most the timeout for the one before it, so a Swift outage fails
        requests instead of queueing every API thread behind the InternalClient.
        """
        if not self._lock.acquire(timeout=self._timeout):
            raise Unavailable(f"object storage is busy; could not {doing} in time, try again")
        try:
            return self._thread.submit(call, self._internal).result()
        except SWSError:
            raise
        except Exception as exc:  # UnexpectedResponse, or a node's socket error
            raise Unavailable(f"object storage could not {doing}: {exc}") from None
        finally:
            self._lock.release()

    # ---- objects (public proxy, X-Forwarded-For) ---------------------------------------------

    def list_objects(
        self, project_id: str, container: str, *, client_ip: str, prefix: str = "",
        limit: int = 1000, marker: str | None = None,
    ) -> Sequence[ObjectInfo]:
        _, listing = self._call(
            "get_container", project_id, container, None, client_ip,
            prefix=prefix or None, limit=limit, marker=marker,
        )
        return [
            ObjectInfo(
                name=o["name"], bytes=o["bytes"], content_type=o["content_type"],
                etag=o["hash"], last_modified=_listing_time(o["last_modified"]),
            )
            for o in listing
        ]

    def put_object(
        self, project_id: str, container: str, name: str, data: bytes, *, content_type: str,
        client_ip: str,
    ) -> ObjectInfo:
        response: dict[str, Any] = {}
        etag = self._call(
            "put_object", project_id, container, name, client_ip,
            contents=data, content_type=content_type, response_dict=response,
        )
        headers = response.get("headers", {})
        return ObjectInfo(
            name=name, bytes=len(data), content_type=content_type, etag=str(etag),
            last_modified=_header_time(headers.get("last-modified")),
        )

    def get_object(
        self, project_id: str, container: str, name: str, *, client_ip: str
    ) -> StoredObject:
        headers, body = self._call("get_object", project_id, container, name, client_ip)
        info = ObjectInfo(
            name=name, bytes=len(body),
            content_type=headers.get("content-type", "application/octet-stream"),
            etag=headers.get("etag", "").strip('"'),
            last_modified=_header_time(headers.get("last-modified")),
        )
        return StoredObject(info=info, data=body)

    def delete_object(self, project_id: str, container: str, name: str, *, client_ip: str) -> None:
        self._call("delete_object", project_id, container, name, client_ip)

    def _call(
        self, operation: str, project_id: str, container: str, name: str | None, client_ip: str,
        **kwargs: Any,
    ) -> Any:
        """One swiftclient call as the tenant's address; a stale token is renewed once."""
        from swiftclient import client

        url = f"{self._proxy}/v1/{quote(self.account(project_id))}"
        args = (container,) if name is None else (container, name)
        headers = {"X-Forwarded-For": client_ip}
        for refresh in (False, True):
            connection = client.http_connection(url, timeout=self._timeout)
            try:
                return getattr(client, operation)(
                    url, self._token(refresh), *args, headers=headers, http_conn=connection,
                    **kwargs,
                )
            except client.ClientException as exc:
                if exc.http_status == 401 and not refresh:
                    continue
                raise _translate(exc, container, name) from None
            except _transport_errors() as exc:
                broken = f"object storage at {self._proxy} failed mid-request: {exc}"
                raise Unavailable(broken) from None
            finally:
                connection[1].close()  # swiftclient closes only connections it opened itself
        raise AssertionError("unreachable")

    def usage(self, *, start: datetime, end: datetime) -> Sequence[ContainerUsage]:
        if self._usage is None:
            return []
        try:
            return self._usage.usage(start=start, end=end)
        except (OSError, ReplyError) as exc:
            raise Unavailable(f"object storage usage cannot be read: {exc}") from None

    def sample_storage(self, project_ids: Iterable[str]) -> int:
        """Sample the size of every container of these projects; returns how many.

        A project whose account cannot be listed is skipped; after `GIVE_UP` such failures in a
        row Swift is taken to be down and the round ends. Redis failing ends it at once.
        """
        if self._usage is None:
            return 0
        sampled, failed, in_a_row, first = 0, 0, 0, ""
        for project_id in project_ids:
            try:
                containers = self.list_containers(project_id)
            except Unavailable as exc:
                failed, in_a_row, first = failed + 1, in_a_row + 1, first or exc.detail
                if in_a_row == GIVE_UP:
                    break
                continue
            in_a_row = 0
            try:
                self._usage.record_storage(project_id, containers)
            except (OSError, ReplyError) as exc:
                raise Unavailable(f"object storage usage cannot be written: {exc}") from None
            sampled += len(containers)
        if failed:
            done = f"{sampled} containers were"
            raise Unavailable(f"projects not sampled: {failed} ({done}): {first}")
        return sampled


def _translate(exc: Any, container: str, name: str | None) -> SWSError:
    status = exc.http_status
    body = (exc.http_response_content or b"")
    text = body.decode("utf-8", "replace").strip() if isinstance(body, bytes) else str(body)
    if status == 404:
        what = f"Object {name}" if name is not None else f"Container {container}"
        return NotFound(f"{what} could not be found.")
    if status == 403:
        return Forbidden(text or "Swift refused the request.")
    if status == 429:
        retry = (exc.http_response_headers or {}).get("retry-after", "1")
        seconds = int(retry) if str(retry).isdigit() else 1  # an HTTP date is not worth parsing
        return RateLimited(text or "Too many requests.", retry_after=max(seconds, 1))
    if status == 409:
        return Conflict(text or "Swift reported a conflict.")
    return Unavailable(f"object storage answered {status}: {text[:200]}")


def _transport_errors() -> tuple[type[BaseException], ...]:
    """What a request can raise below HTTP: connection errors (requests' are OSErrors) and a
    body cut short (urllib3 and http.client raise their own)."""
    from http.client import HTTPException

    from urllib3.exceptions import HTTPError

    return (OSError, HTTPException, HTTPError)


def _header_time(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    return parsedate_to_datetime(value).astimezone(UTC)


def _listing_time(value: str) -> datetime:
    """A listing's `last_modified` (ISO 8601, UTC, no zone) as an aware datetime."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def tempauth_token(
    auth_url: str, user: str, key: str, timeout: float = 10.0
) -> Callable[[bool], str]:
    """A token source for a tempauth (or Swift v1 auth) reseller admin, renewed on request."""
    from swiftclient import client

    cached: list[str] = []

    def token(refresh: bool) -> str:
        if refresh or not cached:
            _, fresh = client.get_auth(auth_url, user, key, timeout=timeout)
            cached[:] = [fresh]
        return cached[0]

    return token
