"""Pure values and rules of the CDN: distributions, their origins and cache settings, purges.

Nothing here touches a database or a framework. `EdgeState` is what every edge should run: the
VCL that `sws.cdn.renderer` made from the distributions, and the purges the edge still owes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from sws.errors import Invalid

OriginKind = Literal["container", "loadbalancer"]
PurgeKind = Literal["url", "prefix", "key", "all"]
PurgeMode = Literal["soft", "hard"]
PurgeState = Literal["accepted", "propagating", "done"]
EdgePurgeState = Literal["pending", "done", "failed"]

ORIGIN_KINDS: tuple[OriginKind, ...] = ("container", "loadbalancer")
PURGE_KINDS: tuple[PurgeKind, ...] = ("url", "prefix", "key", "all")
MIN_TTL = 0  # 0: pass through, nothing cached unless the origin says so (when honoured)
MAX_TTL = 31_536_000  # one year
DEFAULT_TTL = 3600
MAX_NAME = 255
MAX_PATH = 1024
MAX_KEY = 128
ID_BYTES = 6  # 12 hex characters: one DNS label
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
PATH_CHARS = re.compile(r"^/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$")
#: The methods a distribution may let through, in the order an `Allow` header lists them. GET
#: and HEAD are always allowed and cached; the others are passed to the origin, never cached.
METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
CACHED_METHODS = ("GET", "HEAD")
DEFAULT_METHODS = CACHED_METHODS
#: A container origin is read-only through the edges: Swift would take a write as the edges'.
READ_METHODS = ("GET", "HEAD", "OPTIONS")
DisabledReason = Literal["origin_deleted"]
ORIGIN_DELETED: DisabledReason = "origin_deleted"


@dataclass(frozen=True, slots=True)
class CacheSettings:
    """How an edge caches a distribution's objects."""

    default_ttl: int = DEFAULT_TTL
    honour_origin: bool = True  # the origin's Cache-Control wins over default_ttl when present
    query_in_key: bool = False  # whether /a?x=1 and /a?x=2 are two objects
    enabled: bool = True
    allowed_methods: tuple[str, ...] = DEFAULT_METHODS  # canonical: METHODS' order

    def __post_init__(self) -> None:
        check_ttl(self.default_ttl)
        object.__setattr__(self, "allowed_methods", check_methods(self.allowed_methods))

    @property
    def passed_methods(self) -> tuple[str, ...]:
        """The allowed methods the edges pass to the origin uncached."""
        return tuple(m for m in self.allowed_methods if m not in CACHED_METHODS)


def check_methods(methods: Iterable[str]) -> tuple[str, ...]:
    """The methods upper-cased, without repeats, in `METHODS`' order; GET and HEAD required,
    an unknown method refused."""
    asked = {str(m).strip().upper() for m in methods}
    unknown = sorted(asked - set(METHODS))
    if unknown:
        raise Invalid(f"unknown method {unknown[0]!r}: allowed methods are among "
                      f"{', '.join(METHODS)}", field="allowed_methods")
    if not set(CACHED_METHODS) <= asked:
        raise Invalid("allowed_methods must include GET and HEAD", field="allowed_methods")
    return tuple(m for m in METHODS if m in asked)


def check_origin_methods(origin_kind: str, methods: tuple[str, ...]) -> None:
    """A container origin takes reads only (GET, HEAD, OPTIONS)."""
    writes = [m for m in methods if m not in READ_METHODS]
    if origin_kind == "container" and writes:
        raise Invalid(f"a container origin is read-only through the edges: {writes[0]} "
                      f"cannot be allowed (only {', '.join(READ_METHODS)})",
                      field="allowed_methods")


def check_ttl(ttl: int) -> int:
    if isinstance(ttl, bool) or not MIN_TTL <= ttl <= MAX_TTL:
        raise Invalid(f"default_ttl must be between {MIN_TTL} and {MAX_TTL} seconds",
                      field="default_ttl")
    return ttl


@dataclass(frozen=True, slots=True)
class OriginSpec:
    """What a tenant points a distribution at: one of its containers or HTTP load balancers."""

    kind: str
    ref: str  # the container's name, or the load balancer's id
    region: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ORIGIN_KINDS:
            raise Invalid(f"origin.kind is one of {', '.join(ORIGIN_KINDS)}", field="origin.kind")
        if not self.ref or len(self.ref) > MAX_NAME:
            raise Invalid("origin.ref names a container or a load balancer", field="origin.ref")


@dataclass(frozen=True, slots=True)
class Backend:
    """Where an edge fetches a distribution's misses: an address, the Host it sends, and a
    path prefix put in front of every URL (a Swift container's `/v1/AUTH_x/name`)."""

    host: str
    port: int
    host_header: str
    path_prefix: str = ""


@dataclass(frozen=True, slots=True)
class DistributionSpec:
    """What a tenant asks for when creating a distribution (checked by the service)."""

    name: str
    origin: OriginSpec
    settings: CacheSettings = field(default_factory=CacheSettings)


@dataclass(frozen=True, slots=True)
class EdgeDistribution:
    """What an edge needs to serve one distribution."""

    id: str
    hosts: tuple[str, ...]  # the automatic name first, then verified custom domains
    backend: Backend
    settings: CacheSettings
    # Signed-URL mode when not empty: hex HMAC keys, the current one first, then the one it
    # replaced (links signed before a rotation keep working until they expire).
    signing_keys: tuple[str, ...] = ()

    @property
    def signed(self) -> bool:
        return bool(self.signing_keys)


@dataclass(frozen=True, slots=True)
class ShieldEdge:
    """An edge as its peers reach its Varnish (for shielding): its name, address and port,
    its region, and whether it is its region's parent."""

    name: str
    address: str
    port: int
    region: str = ""
    parent: bool = False


@dataclass(frozen=True, slots=True)
class Shielding:
    """Which edges fetch their misses from a parent edge instead of the origin.

    In a region with a parent, every other edge sends its misses to the parent and only the
    parent asks the origin, so a miss arriving on every edge at once reaches the origin once.
    """

    edges: tuple[ShieldEdge, ...] = ()

    def parent_of(self, edge: ShieldEdge) -> ShieldEdge | None:
        if edge.parent:
            return None
        return next((e for e in self.edges if e.parent and e.region == edge.region), None)

    def children(self, parent: ShieldEdge) -> tuple[ShieldEdge, ...]:
        return tuple(e for e in self.edges if self.parent_of(e) == parent)

    @property
    def parents(self) -> tuple[ShieldEdge, ...]:
        return tuple(e for e in self.edges if e.parent and self.children(e))


SIGNING_KEY_BYTES = 32
MAX_SIGNED_SECONDS = 31_536_000


def new_signing_key() -> str:
    return secrets.token_hex(SIGNING_KEY_BYTES)


def url_signature(key: str, path: str, expires: int) -> str:
    """HMAC-SHA256 of `<path>:<expires>` under the hex `key`, in lower-case hex: what the
    edge's terminator recomputes (the path as sent, URL-encoded, without the query)."""
    return hmac.new(bytes.fromhex(key), f"{path}:{expires}".encode(), hashlib.sha256).hexdigest()


def signed_path(key: str, path: str, expires: int) -> str:
    """`path?expires=<unix>&sig=<hex>`: a link the edges serve until `expires`."""
    check_path(path)
    bare, _, query = path.partition("?")
    token = f"expires={expires}&sig={url_signature(key, bare, expires)}"
    return f"{bare}?{query}&{token}" if query else f"{bare}?{token}"


def check_signed_seconds(seconds: int) -> int:
    if isinstance(seconds, bool) or not 1 <= seconds <= MAX_SIGNED_SECONDS:
        raise Invalid(f"seconds must be between 1 and {MAX_SIGNED_SECONDS}", field="seconds")
    return seconds


def new_id() -> str:
    return secrets.token_hex(ID_BYTES)


def auto_host(distribution_id: str, zone: str) -> str:
    """`<id>.cdn.<zone>`: the name every distribution gets."""
    return f"{distribution_id}.cdn.{zone}"


@dataclass(frozen=True, slots=True)
class PurgeSpec:
    """One invalidation: a URL path, a path prefix, a surrogate key, or everything."""

    kind: str
    value: str = ""
    mode: str = "soft"

    def __post_init__(self) -> None:
        check_purge(self)


def check_purge(spec: PurgeSpec) -> None:
    if spec.kind not in PURGE_KINDS:
        raise Invalid(f"kind is one of {', '.join(PURGE_KINDS)}", field="kind")
    if spec.mode not in ("soft", "hard"):
        raise Invalid("mode is soft or hard", field="mode")
    if spec.kind in ("url", "prefix"):
        check_path(spec.value)
    elif spec.kind == "key" and not KEY_PATTERN.match(spec.value):
        raise Invalid("a key is 1-128 letters, digits or . _ : -", field="value")
    elif spec.kind == "all" and spec.value:
        raise Invalid("a purge of everything takes no value", field="value")


def check_path(path: str) -> None:
    """A URL path (with an optional query): starts with '/', printable, no spaces or '#'."""
    if len(path) > MAX_PATH or not PATH_CHARS.match(path):
        raise Invalid(
            "value must be a URL path starting with '/' (at most 1024 characters, "
            "URL-encoded, without spaces)", field="value",
        )


def job_state(edge_states: list[str]) -> PurgeState:
    """A purge job's state over its edges: done when every edge is, propagating once any is."""
    finished = [s for s in edge_states if s in ("done", "failed")]
    if edge_states and len(finished) == len(edge_states):
        return "done"
    return "propagating" if finished else "accepted"


@dataclass(frozen=True, slots=True)
class EdgePurge:
    """A purge an edge still has to carry out."""

    id: str
    distribution_id: str
    kind: PurgeKind
    value: str
    mode: PurgeMode
    host: str  # the distribution's automatic name (a URL purge is a request for it)


@dataclass(frozen=True, slots=True)
class EdgeCertificate:
    """A certificate the edges present: a file name, the names it serves by SNI, and the PEM
    chain followed by its private key (written 0600 by the agent, never shown to tenants)."""

    name: str
    hosts: tuple[str, ...]
    pem: str


@dataclass(frozen=True, slots=True)
class EdgeState:
    """Everything one edge should run: the VCL (and its digest), and its pending purges."""

    vcl: str
    purges: tuple[EdgePurge, ...] = ()
    terminator: str = ""  # the TLS terminator's HAProxy configuration (sws.cdn.terminator)
    certificates: tuple[EdgeCertificate, ...] = ()

    @property
    def digest(self) -> str:
        return vcl_digest(self.vcl)

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest, "vcl": self.vcl,
            "purges": [
                {"id": p.id, "distribution_id": p.distribution_id, "kind": p.kind,
                 "value": p.value, "mode": p.mode, "host": p.host}
                for p in self.purges
            ],
            "terminator": self.terminator,
            "certificates": [{"name": c.name, "hosts": list(c.hosts), "pem": c.pem}
                             for c in self.certificates],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EdgeState:
        state = cls(
            vcl=str(data["vcl"]),
            purges=tuple(EdgePurge(**p) for p in data.get("purges", [])),
            terminator=str(data.get("terminator", "")),
            certificates=tuple(EdgeCertificate(str(c["name"]), tuple(c["hosts"]), str(c["pem"]))
                               for c in data.get("certificates", [])),
        )
        if data.get("digest") not in (None, state.digest):
            raise ValueError("the desired state's VCL does not match its digest")
        return state


def vcl_digest(vcl: str) -> str:
    return hashlib.sha256(vcl.encode()).hexdigest()
