"""Use cases of the CDN: distributions, their custom domains and purge jobs; and the edges'
side (their desired state by long poll, their reports).

Every change is validated first, then written in one transaction with its audit entry and a
bump of the version the edges long-poll on, so an edge sees whole changes only. A purge job is
addressed to every configured edge; each edge reports its part done (or failed), and the job is
`accepted` until one edge has reported, `propagating` until all have, then `done`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from sqlalchemy import Connection

from sws.agents.model import AgentStatus, Freshness, agent_status
from sws.agents.versions import VersionWatch
from sws.audit.model import AuditRecord, check_record
from sws.audit.repository import insert_entry
from sws.cdn import renderer, terminator
from sws.cdn import repository as repo
from sws.cdn.certificates import CertificateUpload, check_certificate
from sws.cdn.limiter import PurgeLimiter
from sws.cdn.model import (
    Backend,
    CacheSettings,
    DistributionSpec,
    EdgeCertificate,
    EdgeDistribution,
    EdgePurge,
    EdgeState,
    OriginSpec,
    PurgeSpec,
    ShieldEdge,
    Shielding,
    auto_host,
    check_origin_methods,
    check_signed_seconds,
    check_ttl,
    job_state,
    new_id,
    new_signing_key,
    signed_path,
)
from sws.cdn.origin_access import ContainerPath, OriginKeys, grant, origin_query, revoke
from sws.cdn.repository import DistributionRow, PurgeRow
from sws.clock import Clock
from sws.db.engine import Database
from sws.drivers.base import ObjectStore
from sws.errors import Conflict, Duplicate, Forbidden, Invalid, NotFound
from sws.loadbalancer import ownership
from sws.loadbalancer import repository as lb_repo
from sws.loadbalancer import service as loadbalancers
from sws.loadbalancer.model import normalise_host
from sws.paging import PageRequest
from sws.text import check_text

T = TypeVar("T")
POLL_SECONDS = 0.1
WILDCARD = "wildcard"  # the operator certificate's file name on the edges
MAX_CUSTOM_DOMAINS = 20
_versions = VersionWatch(POLL_SECONDS)


@dataclass(frozen=True, slots=True)
class SwiftOrigin:
    """A region's Swift proxy as the edges reach it, and its account prefix (`AUTH_`)."""

    host: str
    port: int
    account_prefix: str = "AUTH_"

    @classmethod
    def from_url(cls, url: str, account_prefix: str) -> SwiftOrigin:
        parts = urlsplit(url)
        default = 443 if parts.scheme == "https" else 80
        return cls(parts.hostname or "127.0.0.1", parts.port or default, account_prefix)


@dataclass(frozen=True, slots=True)
class OriginAccess:
    """The edges' credential for private container origins (`sws.cdn.origin_access`): the
    operator's secret the container keys derive from, each region's Swift (to set and remove
    them), and the clock the signatures' validity window is read from."""

    secret: bytes = field(repr=False)
    keys: Callable[[str], OriginKeys]
    clock: Clock


@dataclass(frozen=True, slots=True)
class CDNConfig:
    """The cloud-wide CDN settings (from `Settings`, by the container's `cdn_config`)."""

    zone: str = "example.com"
    edges: tuple[tuple[str, str, str], ...] = (("edge-1", "127.0.0.1", "default"),)
    edge_timeout_seconds: float = 10.0
    swift: dict[str, SwiftOrigin] = field(default_factory=dict)  # by region
    lb: loadbalancers.LBConfig = field(default_factory=loadbalancers.LBConfig)
    txt: ownership.TxtResolver = field(default_factory=ownership.DnsTxtResolver, compare=False)
    wildcard: EdgeCertificate | None = None  # the operator's *.cdn.<zone> (chain and key)
    shielding: Shielding = field(default_factory=Shielding)
    origin_access: OriginAccess | None = None  # None: container origins are read anonymously

    @classmethod
    def from_settings(cls, settings: Any, *, lb: loadbalancers.LBConfig,
                      txt: ownership.TxtResolver,
                      origin_access: OriginAccess | None = None) -> CDNConfig:
        zone = settings.cdn_zone
        pem = settings.cdn_tls_certificate
        return cls(
            zone=zone,
            edges=tuple((e.name, e.address, e.isp) for e in settings.cdn_edges),
            edge_timeout_seconds=settings.cdn_edge_timeout_seconds,
            swift={region: SwiftOrigin.from_url(s.proxy_url, s.account_prefix)
                   for region, s in settings.swift.items()},
            lb=lb, txt=txt,
            wildcard=(EdgeCertificate(WILDCARD, (f"*.cdn.{zone}",), pem.read_text())
                      if pem is not None else None),
            shielding=Shielding(tuple(
                ShieldEdge(e.name, e.address, settings.cdn_edge_varnish_port, e.region or "",
                           e.name in settings.cdn_shield_parents)
                for e in settings.cdn_edges)),
            origin_access=origin_access,
        )

    @property
    def cdn_zone(self) -> str:
        return f"cdn.{self.zone}"

    @property
    def edge_names(self) -> list[str]:
        return [name for name, _, _ in self.edges]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change, for the audit log."""

    user_id: str
    name: str
    source: str = "api"


@dataclass(frozen=True, slots=True)
class Origins:
    """What the service needs to check and resolve an origin: the region's object store."""

    object_store: Callable[[str], ObjectStore]


@dataclass(frozen=True, slots=True)
class Caller:
    """A tenant acting on its distributions: its project, the user (audit), the region."""

    project_id: str
    actor: Actor
    region: str


@dataclass(frozen=True, slots=True)
class PurgeView:
    row: PurgeRow

    @property
    def state(self) -> str:
        return job_state(list(self.row.edges.values()))


# ---- reads --------------------------------------------------------------------------------


def list_distributions(*, db: Database, project_id: str | None,
                       page: PageRequest | None = None) -> list[DistributionRow]:
    with db.read() as conn:
        return repo.list_distributions(conn, project_id=project_id, page=page)


def get_distribution(*, db: Database, project_id: str, distribution_id: str) -> DistributionRow:
    with db.read() as conn:
        return _owned(conn, project_id, distribution_id)


def _owned(conn: Connection, project_id: str | None, distribution_id: str) -> DistributionRow:
    """The distribution if `project_id` owns it (any project's for the operator: None)."""
    row = repo.get_distribution(conn, distribution_id=distribution_id, project_id=project_id)
    if row is None:
        raise NotFound(f"Distribution {distribution_id} could not be found.")
    return row


# ---- distributions ------------------------------------------------------------------------


def create_distribution(
    *, db: Database, clock: Clock, config: CDNConfig, origins: Origins, caller: Caller,
    spec: DistributionSpec,
) -> DistributionRow:
    """Check the name and that the caller owns the origin; then write the distribution, its
    automatic name and the audit entry in one transaction."""
    name = _check_name(spec.name)
    check_origin_methods(spec.origin.kind, spec.settings.allowed_methods)
    backend = resolve_origin(db, config, origins, caller, spec.origin)
    region = spec.origin.region or caller.region
    if spec.origin.kind == "container" and config.origin_access is not None:
        access = config.origin_access
        grant(access.keys(region), access.secret, ContainerPath(backend.path_prefix))
    dist_id, now = new_id(), clock.now()
    values = {
        "id": dist_id, "project_id": caller.project_id,
        "region": spec.origin.region or caller.region, "name": name,
        "origin_kind": spec.origin.kind, "origin_ref": spec.origin.ref,
        "created_at": now, "updated_at": now,
        **repo.backend_columns(backend), **repo.settings_columns(spec.settings),
    }
    with db.begin() as conn:
        repo.insert_distribution(conn, values)
        repo.insert_host(conn, host=auto_host(dist_id, config.zone), distribution_id=dist_id,
                         kind="auto", now=now)
        _changed_in(conn, clock, caller.actor, "create", dist_id,
                    {"origin": f"{spec.origin.kind}:{spec.origin.ref}", "name": name})
    _versions.changed()
    return get_distribution(db=db, project_id=caller.project_id, distribution_id=dist_id)


def _check_name(name: str) -> str:
    return check_text(name, field="name", max_length=255, required=True)


def resolve_origin(db: Database, config: CDNConfig, origins: Origins, caller: Caller,
                   origin: OriginSpec) -> Backend:
    """Where the edges fetch from; the caller must own the origin (else it is 'not found')."""
    region = origin.region or caller.region
    if origin.kind == "container":
        return _container_backend(config, origins, caller.project_id, region, origin.ref)
    return _lb_backend(db, config, caller.project_id, origin.ref)


def _container_backend(config: CDNConfig, origins: Origins, project_id: str, region: str,
                       container: str) -> Backend:
    try:
        origins.object_store(region).get_container(project_id, container)
    except NotFound:
        raise Invalid(f"Container {container} could not be found in your project in {region}.",
                      field="origin.ref") from None
    swift = config.swift.get(region)
    if swift is None:
        raise Invalid(f"the object storage of {region} cannot be a CDN origin (it is not a "
                      "Swift the edges can reach)", field="origin.region")
    prefix = f"/v1/{swift.account_prefix}{quote(project_id, safe='')}/{quote(container, safe='')}"
    return Backend(swift.host, swift.port, f"{swift.host}:{swift.port}", prefix)


def _lb_backend(db: Database, config: CDNConfig, project_id: str, lb_id: str) -> Backend:
    lb = config.lb
    with db.read() as conn:
        found = lb_repo.get_lb(conn, lb_id=lb_id, project_id=project_id)
    if found is None:
        raise Invalid(f"Load balancer {lb_id} could not be found in your project.",
                      field="origin.ref")
    if found.type != "http":
        raise Invalid("a load balancer origin must be an http load balancer", field="origin.ref")
    host = next(h for h, kind in found.hosts if kind == "auto")
    return Backend(lb.nodes[0][1], lb.http_port, host)


@dataclass(frozen=True, slots=True)
class DistributionChange:
    """What a tenant may change: its name and any cache setting (None leaves it)."""

    name: str | None = None
    default_ttl: int | None = None
    honour_origin: bool | None = None
    query_in_key: bool | None = None
    enabled: bool | None = None
    allowed_methods: tuple[str, ...] | None = None

    def applied_to(self, current: CacheSettings) -> CacheSettings:
        return CacheSettings(
            default_ttl=check_ttl(_or(self.default_ttl, current.default_ttl)),
            honour_origin=_or(self.honour_origin, current.honour_origin),
            query_in_key=_or(self.query_in_key, current.query_in_key),
            enabled=_or(self.enabled, current.enabled),
            allowed_methods=_or(self.allowed_methods, current.allowed_methods),
        )


def _or(value: T | None, default: T) -> T:
    return default if value is None else value


def _regrant(config: CDNConfig | None, row: DistributionRow) -> None:
    """A container created again lost the edges' key with the old one: set it again."""
    access = config.origin_access if config is not None else None
    if access is not None and row.origin_kind == "container":
        grant(access.keys(row.region), access.secret, ContainerPath(row.backend.path_prefix))


def _origin_deleted(row: DistributionRow, origins: Origins | None) -> bool:
    """Whether re-enabling `row` is a change at all: True when SWS disabled it for a deleted
    origin that exists again; Conflict while it is still gone."""
    if not row.origin_deleted:
        return False
    what = "load balancer" if row.origin_kind == "loadbalancer" else "container"
    refusal = Conflict(
        f"the origin ({what} {row.origin_ref}) was deleted: this distribution cannot be "
        "enabled; create one on an origin that exists", field="enabled")
    if row.origin_missing or origins is None:
        raise refusal
    try:
        origins.object_store(row.region).get_container(row.project_id, row.origin_ref)
    except NotFound:
        raise refusal from None
    return True


def update_distribution(
    *, db: Database, clock: Clock, caller: Caller, distribution_id: str,
    change: DistributionChange, origins: Origins | None = None, config: CDNConfig | None = None,
) -> DistributionRow:
    """Change its name or settings. Re-enabling one SWS disabled because its origin was deleted
    is refused (409, naming the origin) unless the origin exists again: a container created
    again under its name (checked through `origins`); a load balancer never comes back."""
    name = _check_name(change.name) if change.name is not None else None
    current = get_distribution(db=db, project_id=caller.project_id,
                               distribution_id=distribution_id)
    reenable = bool(change.enabled) and _origin_deleted(current, origins)
    if reenable:
        _regrant(config, current)
    with db.begin() as conn:
        row = _owned(conn, caller.project_id, distribution_id)
        settings = change.applied_to(row.settings)
        check_origin_methods(row.origin_kind, settings.allowed_methods)
        values: dict[str, Any] = {"updated_at": clock.now(), **repo.settings_columns(settings)}
        if reenable:
            values["disabled_reason"] = None
        if name is not None:
            values["name"] = name
        repo.update_distribution(conn, distribution_id, values)
        _changed_in(conn, clock, caller.actor, "update", distribution_id,
                    {k: v for k, v in values.items() if k != "updated_at"})
    _versions.changed()
    return get_distribution(db=db, project_id=caller.project_id, distribution_id=distribution_id)


def delete_distribution(*, db: Database, clock: Clock, caller: Caller,
                        distribution_id: str, config: CDNConfig | None = None) -> None:
    """Delete it; the last distribution on a container takes the edges' access with it (before
    the deletion commits: if Swift cannot be told, the distribution stays and the call fails)."""
    access = config.origin_access if config is not None else None
    with db.begin() as conn:
        row = _owned(conn, caller.project_id, distribution_id)
        repo.delete_distribution(conn, distribution_id)
        _changed_in(conn, clock, caller.actor, "delete", distribution_id, {})
        if access is not None and row.origin_kind == "container" and not _container_served(
                conn, row):
            revoke(access.keys(row.region), ContainerPath(row.backend.path_prefix))
    _versions.changed()


def _container_served(conn: Connection, gone: DistributionRow) -> bool:
    """Whether another distribution still fetches from `gone`'s container."""
    return any(r.origin_kind == "container" and r.region == gone.region
               and r.backend.path_prefix == gone.backend.path_prefix
               for r in repo.list_distributions(conn))


# ---- custom domains -----------------------------------------------------------------------


def add_domain(*, db: Database, clock: Clock, config: CDNConfig, caller: Caller,
               distribution_id: str, domain: str) -> DistributionRow:
    """A tenant's own name, served once its TXT record proves the tenant controls it."""
    name = normalise_host(domain, "domain")
    with db.read() as conn:
        _owned(conn, caller.project_id, distribution_id)  # another tenant's: 404 first
    _may_claim(name, config, caller.project_id)
    try:
        with db.begin() as conn:
            row = _owned(conn, caller.project_id, distribution_id)
            if sum(kind == "custom" for _, kind in row.hosts) >= MAX_CUSTOM_DOMAINS:
                raise Conflict(f"at most {MAX_CUSTOM_DOMAINS} custom domains", field="domain")
            if repo.host_taken(conn, name):
                raise Conflict(f"{name} is already served by a distribution", field="domain")
            repo.insert_host(conn, host=name, distribution_id=distribution_id, kind="custom",
                             now=clock.now())
            _changed_in(conn, clock, caller.actor, "domain_add", distribution_id,
                        {"domain": name})
    except Duplicate:
        raise Conflict(f"{name} is already served by a distribution", field="domain") from None
    _versions.changed()
    return get_distribution(db=db, project_id=caller.project_id, distribution_id=distribution_id)


def _may_claim(name: str, config: CDNConfig, project_id: str) -> None:
    if name == config.cdn_zone or name.endswith("." + config.cdn_zone):
        raise Invalid(f"names under {config.cdn_zone} are given out by SWS", field="domain")
    try:
        ownership.check_claim(name, zone=config.cdn_zone, project_id=project_id,
                              resolver=config.txt)
    except Forbidden as refused:
        raise Invalid(refused.detail, field="domain") from None


def _domain_name(domain: str) -> str:
    """A custom domain as stored: lower case, without the root's dot."""
    return domain.strip().lower().removesuffix(".")


def remove_domain(*, db: Database, clock: Clock, caller: Caller, distribution_id: str,
                  domain: str) -> None:
    name = _domain_name(domain)
    with db.begin() as conn:
        _owned(conn, caller.project_id, distribution_id)
        if repo.delete_host(conn, distribution_id=distribution_id, host=name) == 0:
            raise NotFound(f"Domain {domain} could not be found on this distribution.")
        repo.delete_certificate(conn, distribution_id=distribution_id, host=name)
        _changed_in(conn, clock, caller.actor, "domain_remove", distribution_id,
                    {"domain": name})
    _versions.changed()


def domain_proof(project_id: str, domain: str) -> tuple[str, str]:
    """The TXT record (name, text) that proves `domain` is the project's."""
    return ownership.challenge_name(domain), ownership.proof_text(project_id)


# ---- signed URLs ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SigningView:
    """A distribution's signed-URL mode and its current key (the tenant's own secret: its
    servers sign links with it); the previous key still verifies until the next rotation."""

    enabled: bool
    key: str | None
    rotated_at: datetime | None


def get_signing(*, db: Database, project_id: str, distribution_id: str) -> SigningView:
    with db.read() as conn:
        _owned(conn, project_id, distribution_id)
        row = repo.get_signing(conn, distribution_id)
    if row is None:
        return SigningView(False, None, None)
    return SigningView(bool(row["enabled"]), row["current_key"], row["rotated_at"])


def set_signing(*, db: Database, clock: Clock, caller: Caller, distribution_id: str,
                enabled: bool) -> SigningView:
    """Turn signed-URL mode on or off; the first time on makes the distribution's key."""
    with db.begin() as conn:
        _owned(conn, caller.project_id, distribution_id)
        values: dict[str, Any] = {"enabled": enabled}
        if repo.get_signing(conn, distribution_id) is None:
            values |= {"current_key": new_signing_key(), "rotated_at": clock.now()}
        repo.put_signing(conn, distribution_id, values)
        _changed_in(conn, clock, caller.actor, "signing", distribution_id, {"enabled": enabled})
    _versions.changed()
    return get_signing(db=db, project_id=caller.project_id, distribution_id=distribution_id)


def rotate_signing_key(*, db: Database, clock: Clock, caller: Caller,
                       distribution_id: str) -> SigningView:
    """A new current key; the old one keeps verifying links already given out, until the
    next rotation."""
    with db.begin() as conn:
        _owned(conn, caller.project_id, distribution_id)
        row = repo.get_signing(conn, distribution_id)
        values: dict[str, Any] = {"current_key": new_signing_key(), "rotated_at": clock.now(),
                                  "previous_key": row["current_key"] if row else None}
        if row is None:
            values["enabled"] = False
        repo.put_signing(conn, distribution_id, values)
        _changed_in(conn, clock, caller.actor, "signing_rotate", distribution_id, {})
    _versions.changed()
    return get_signing(db=db, project_id=caller.project_id, distribution_id=distribution_id)


@dataclass(frozen=True, slots=True)
class SignedLink:
    url: str
    path: str
    expires_at: datetime


def sign(*, db: Database, clock: Clock, project_id: str | None, distribution_id: str, path: str,
         seconds: int) -> SignedLink:
    """A link to `path` on the distribution's host that the edges serve for `seconds` (the
    operator's CLI signs for any project: `project_id` None)."""
    check_signed_seconds(seconds)
    with db.read() as conn:
        row = _owned(conn, project_id, distribution_id)
        signing = repo.get_signing(conn, distribution_id)
    if signing is None or not signing["enabled"]:
        raise Invalid("signed URLs are off for this distribution: turn them on first",
                      field="path")
    expires_at = clock.now() + timedelta(seconds=seconds)
    link = signed_path(signing["current_key"], path, int(expires_at.timestamp()))
    return SignedLink(f"https://{row.hosts[0][0]}{link}", link, expires_at)


# ---- certificates -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CertificateView:
    """What SWS shows of a tenant's certificate (never its key)."""

    domain: str
    fingerprint: str
    not_after: datetime
    created_at: datetime


def upload_certificate(*, db: Database, clock: Clock, caller: Caller, distribution_id: str,
                       domain: str, upload: CertificateUpload) -> CertificateView:
    """The tenant's certificate for one of the distribution's verified custom domains; the
    edges present it by SNI from the next configuration on."""
    name = _domain_name(domain)
    now = clock.now()
    with db.read() as conn:
        row = _owned(conn, caller.project_id, distribution_id)
    if (name, "custom") not in row.hosts:
        raise Invalid(f"{name} is not a custom domain of this distribution: add it (with its "
                      "TXT record) first", field="domain")
    checked = check_certificate(upload, name, now)
    with db.begin() as conn:
        _owned(conn, caller.project_id, distribution_id)
        repo.put_certificate(conn, {
            "host": name, "distribution_id": distribution_id, "chain": checked.chain,
            "private_key": checked.private_key, "fingerprint": checked.fingerprint,
            "not_after": checked.not_after, "created_at": now,
        })
        _changed_in(conn, clock, caller.actor, "certificate_upload", distribution_id,
                    {"domain": name, "fingerprint": checked.fingerprint,
                     "not_after": checked.not_after.isoformat()})
    _versions.changed()
    return CertificateView(name, checked.fingerprint, checked.not_after, now)


def list_certificates(*, db: Database, project_id: str,
                      distribution_id: str) -> list[CertificateView]:
    with db.read() as conn:
        _owned(conn, project_id, distribution_id)
        rows = repo.certificates(conn, distribution_id)
    return [CertificateView(r["host"], r["fingerprint"], r["not_after"], r["created_at"])
            for r in rows]


def remove_certificate(*, db: Database, clock: Clock, caller: Caller, distribution_id: str,
                       domain: str) -> None:
    name = _domain_name(domain)
    with db.begin() as conn:
        _owned(conn, caller.project_id, distribution_id)
        if repo.delete_certificate(conn, distribution_id=distribution_id, host=name) == 0:
            raise NotFound(f"No certificate for {domain} on this distribution.")
        _changed_in(conn, clock, caller.actor, "certificate_remove", distribution_id,
                    {"domain": name})
    _versions.changed()


# ---- purges -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PurgeRequest:
    """A tenant's purge: what, and the Idempotency-Key that makes a retry safe."""

    distribution_id: str
    spec: PurgeSpec
    idempotency_key: str | None = None


def create_purge(
    *, db: Database, clock: Clock, config: CDNConfig, limiter: PurgeLimiter, caller: Caller,
    request: PurgeRequest,
) -> tuple[PurgeView, bool]:
    """The job, and whether it is new (False: a replay of the same Idempotency-Key).

    Lean, for purge visibility: a replay is looked up only when a key is given; the job, its
    audit entry and the version bump are one transaction; the edges' long polls wake as soon
    as it commits (before the rate limiter counts the job); the answer is built from what was
    written rather than read back."""
    key = _check_idempotency_key(request.idempotency_key)
    if key is not None:
        with db.read() as conn:
            _owned(conn, caller.project_id, request.distribution_id)
            replay = repo.purge_by_key(conn, caller.project_id, key)
        if replay is not None:
            return _replayed(replay, request), False
    limiter.check(caller.project_id)
    row = PurgeRow(
        id=uuid.uuid4().hex, project_id=caller.project_id,
        distribution_id=request.distribution_id, spec=request.spec, idempotency_key=key,
        created_at=clock.now(), edges={edge: "pending" for edge in sorted(config.edge_names)},
    )
    try:
        with db.begin(immediate=True) as conn:  # read, then write, beside the edges' reports
            _owned(conn, caller.project_id, request.distribution_id)
            repo.insert_purge(conn, purge_id=row.id, project_id=row.project_id,
                              distribution_id=row.distribution_id, spec=row.spec,
                              idempotency_key=key, edges=row.edges, now=row.created_at)
            _audit(conn, clock, caller.actor, "purge", request.distribution_id,
                   {"purge": row.id, "kind": row.spec.kind, "value": row.spec.value,
                    "mode": row.spec.mode})
            repo.bump_version(conn)
    except Duplicate:  # the same key, at the same moment, from another request
        return create_purge(db=db, clock=clock, config=config, limiter=limiter, caller=caller,
                            request=request)
    _versions.changed()
    limiter.count(caller.project_id)
    return PurgeView(row), True


def operator_purge(
    *, db: Database, clock: Clock, config: CDNConfig, limiter: PurgeLimiter, actor: Actor,
    distribution_id: str, spec: PurgeSpec,
) -> PurgeView:
    """The operator's purge of any tenant's distribution (`sws cdn purge`): the same job a
    tenant's own purge is, on the tenant's project and within its rate limit, audited with
    the operator as the actor."""
    with db.read() as conn:
        row = _owned(conn, None, distribution_id)
    caller = Caller(row.project_id, actor, row.region)
    view, _ = create_purge(db=db, clock=clock, config=config, limiter=limiter, caller=caller,
                           request=PurgeRequest(distribution_id, spec))
    return view


def get_any_purge(*, db: Database, purge_id: str, distribution_id: str) -> PurgeView:
    """One purge job of any project's distribution (the operator's look)."""
    with db.read() as conn:
        row = repo.get_purge(conn, purge_id=purge_id, distribution_id=distribution_id)
    if row is None:
        raise NotFound(f"Purge {purge_id} could not be found.")
    return PurgeView(row)


def _check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    return check_text(key, field="Idempotency-Key", max_length=255, required=True)


def _replayed(row: PurgeRow, request: PurgeRequest) -> PurgeView:
    if row.distribution_id != request.distribution_id or row.spec != request.spec:
        raise Conflict("this Idempotency-Key was used for another purge; use a new key",
                       field="Idempotency-Key")
    return PurgeView(row)


def get_purge(*, db: Database, project_id: str, distribution_id: str,
              purge_id: str) -> PurgeView:
    with db.read() as conn:
        _owned(conn, project_id, distribution_id)
        row = repo.get_purge(conn, purge_id=purge_id, distribution_id=distribution_id)
    if row is None:
        raise NotFound(f"Purge {purge_id} could not be found.")
    return PurgeView(row)


def list_purges(*, db: Database, project_id: str, distribution_id: str,
                page: PageRequest) -> list[PurgeView]:
    with db.read() as conn:
        _owned(conn, project_id, distribution_id)
        return [PurgeView(r) for r in repo.list_purges(conn, distribution_id=distribution_id,
                                                         page=page)]


# ---- the edges' side ----------------------------------------------------------------------


def known_edge(config: CDNConfig, edge: str) -> None:
    if edge not in config.edge_names:
        raise NotFound(f"CDN edge {edge} could not be found.")


def edge_state(*, db: Database, config: CDNConfig, edge: str) -> EdgeState:
    """What every edge runs (the VCL, the terminator and its certificates), and the purges
    this edge still owes."""
    known_edge(config, edge)
    with db.read() as conn:
        state = _edge_config(conn, config)
        pending = repo.pending_purges(conn, edge)
    purges = tuple(
        EdgePurge(p["id"], p["distribution_id"], p["kind"], p["value"], p["mode"], p["host"])
        for p in pending
    )
    return replace(state, purges=purges)


def _edge_config(conn: Connection, config: CDNConfig) -> EdgeState:
    keys = repo.signing_keys(conn)
    distributions = [
        EdgeDistribution(r.id, tuple(h for h, _ in r.hosts), r.backend, r.serving,
                         keys.get(r.id, ()))
        for r in repo.list_distributions(conn)
    ]
    certificates = [config.wildcard] if config.wildcard else []
    certificates += [EdgeCertificate(_cert_file(c["host"]), (c["host"],),
                                     c["chain"].rstrip("\n") + "\n" + c["private_key"])
                     for c in repo.certificates(conn)]
    vcl = renderer.render(distributions, config.shielding, _origin_queries(conn, config))
    return EdgeState(vcl,
                     terminator=terminator.render(distributions, certificates),
                     certificates=tuple(certificates))


def _origin_queries(conn: Connection, config: CDNConfig) -> dict[str, str]:
    """Each container origin's signature for this validity window (none without access)."""
    access = config.origin_access
    if access is None:
        return {}
    now = access.clock.now()
    return {r.id: origin_query(access.secret, ContainerPath(r.backend.path_prefix), now)
            for r in repo.list_distributions(conn) if r.origin_kind == "container"}


def _cert_file(host: str) -> str:
    """A file name for a host's certificate: its digest (a host name may hold dots and '*')."""
    return "h-" + hashlib.sha256(host.encode()).hexdigest()[:32]


def report(*, db: Database, clock: Clock, config: CDNConfig, edge: str, digest: str | None,
           purges: Mapping[str, str]) -> None:
    """An edge's heartbeat: the VCL digest it runs and the purges it carried out."""
    known_edge(config, edge)
    results = {p: s for p, s in purges.items() if s in ("done", "failed")}
    now = clock.now()
    with db.begin() as conn:
        repo.upsert_edge(conn, edge, {"last_seen_at": now, "applied_digest": digest})
        repo.finish_purges(conn, edge=edge, results=results, now=now)


@dataclass(frozen=True, slots=True)
class EdgeView:
    """A configured edge and its agent's last report."""

    name: str
    address: str
    isp: str
    applied_digest: str | None
    status: AgentStatus

    @property
    def alive(self) -> bool:
        return not self.status.stale

    @property
    def current(self) -> bool:
        return not self.status.behind


def edges(*, db: Database, clock: Clock, config: CDNConfig) -> list[EdgeView]:
    with db.read() as conn:
        rows = repo.edge_rows(conn)
        digest = _edge_config(conn, config).digest
    window = Freshness(interval=timedelta(seconds=config.edge_timeout_seconds), intervals=1)
    out = []
    for name, address, isp in config.edges:
        row: dict[str, Any] = dict(rows[name]) if name in rows else {}
        seen, applied = row.get("last_seen_at"), row.get("applied_digest")
        status = agent_status(reported_at=seen, applied=applied, expected=digest,
                              now=clock.now(), freshness=window)
        out.append(EdgeView(name, address, isp, applied, status))
    return out


def current_version(*, db: Database) -> int:
    with db.read() as conn:
        return repo.version(conn)


def wait_for_version(*, db: Database, after: int, timeout: float) -> int:
    """Block until the configuration version passes `after`, or `timeout` seconds pass."""
    return _versions.wait_past(lambda: current_version(db=db), after=after, timeout=timeout)


# ---- audit --------------------------------------------------------------------------------


def _changed_in(conn: Connection, clock: Clock, actor: Actor, action: str, target: str,
                detail: Mapping[str, Any]) -> None:
    """A configuration change: audited, and the edges' version bumped, in the caller's
    transaction."""
    _audit(conn, clock, actor, action, target, detail)
    repo.bump_version(conn)


def _audit(conn: Connection, clock: Clock, actor: Actor, action: str, target: str,
           detail: Mapping[str, Any]) -> None:
    record = AuditRecord(
        actor_user_id=actor.user_id, actor_name=actor.name, action=f"cdn.{action}",
        target_type="distribution", target_id=target,
        detail=json.dumps(detail, sort_keys=True, default=str), source=actor.source,
    )
    insert_entry(conn, check_record(record), clock.now())
