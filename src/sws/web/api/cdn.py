"""CDN routes: tenants' distributions, their custom domains and certificates, signed URLs and
purge jobs; and the edges' side (desired state by long poll, reports) under
/v1/admin/cdn-edges."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from sws.cdn import service
from sws.cdn.certificates import MAX_PEM, CertificateUpload
from sws.cdn.limiter import TooManyPurges
from sws.cdn.model import (
    MAX_SIGNED_SECONDS,
    MAX_TTL,
    MIN_TTL,
    CacheSettings,
    DistributionSpec,
    OriginSpec,
    PurgeSpec,
)
from sws.cdn.repository import DistributionRow
from sws.cdn.service import DistributionChange, PurgeRequest, PurgeView
from sws.identity.model import Principal
from sws.web import problems as problem_json
from sws.web.api.responses import problems
from sws.web.deps import Admin, Caller, Page, Paged, Services

router = APIRouter(prefix="/v1/cdn", tags=["cdn"])
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"])
Id = Annotated[str, Path(max_length=64)]
MAX_WAIT = 30.0
Method = Literal["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]
METHODS = Field(min_length=1, max_length=16, description=(
    "methods the edges let through (others: 405 with Allow); GET and HEAD are required and "
    "cached, the others passed to the origin uncached; a container origin takes GET, HEAD and "
    "OPTIONS only"))
TTL = Field(ge=MIN_TTL, le=MAX_TTL, description="seconds an object is cached when the origin "
            "does not say (or always, when honour_origin is false)")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OriginBody(Body):
    kind: Literal["container", "loadbalancer"]
    ref: str = Field(min_length=1, max_length=255,
                     description="the container's name, or the http load balancer's id")
    region: str | None = Field(default=None, max_length=64)


def _cached_methods() -> list[Method]:
    return ["GET", "HEAD"]


class DistributionCreate(Body):
    name: str = Field(min_length=1, max_length=255)
    origin: OriginBody
    default_ttl: Annotated[int, TTL] = 3600
    honour_origin: bool = True
    query_in_key: bool = False
    enabled: bool = True
    allowed_methods: Annotated[list[Method], METHODS] = Field(default_factory=_cached_methods)

    def spec(self) -> DistributionSpec:
        return DistributionSpec(
            name=self.name,
            origin=OriginSpec(self.origin.kind, self.origin.ref, self.origin.region),
            settings=CacheSettings(self.default_ttl, self.honour_origin, self.query_in_key,
                                   self.enabled, tuple(self.allowed_methods)),
        )


class DistributionUpdate(Body):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    default_ttl: Annotated[int | None, TTL] = None
    honour_origin: bool | None = None
    query_in_key: bool | None = None
    enabled: bool | None = Field(default=None, description=(
        "false disables it; true on one SWS disabled because its origin was deleted is 409 "
        "while the origin is gone"))
    allowed_methods: Annotated[list[Method] | None, METHODS] = None

    def change(self) -> DistributionChange:
        methods = tuple(self.allowed_methods) if self.allowed_methods is not None else None
        return DistributionChange(
            name=self.name, default_ttl=self.default_ttl, honour_origin=self.honour_origin,
            query_in_key=self.query_in_key, enabled=self.enabled, allowed_methods=methods)


class DomainCreate(Body):
    domain: str = Field(min_length=1, max_length=253)


class PurgeCreate(Body):
    kind: Literal["url", "prefix", "key", "all"]
    value: str = Field(default="", max_length=1024,
                       description="a path (url, prefix), a surrogate key (key); empty for all")
    mode: Literal["soft", "hard"] = "soft"


class OriginRead(BaseModel):
    kind: str
    ref: str
    region: str


class DomainRead(BaseModel):
    """A custom domain: point it (CNAME) at the distribution's host; its TXT record proved it."""

    domain: str
    txt_name: str
    txt_text: str


class DistributionRead(BaseModel):
    id: str
    project_id: str
    name: str
    host: str
    origin: OriginRead
    domains: list[DomainRead]
    default_ttl: int
    honour_origin: bool
    query_in_key: bool
    enabled: bool
    allowed_methods: list[str]
    origin_missing: bool = Field(
        description="its origin (load balancer or container) was deleted: the edges answer 403"
    )
    disabled_reason: str | None = Field(
        description="why SWS disabled it: origin_deleted (the tenant was mailed); null otherwise"
    )
    created_at: datetime
    updated_at: datetime


class PurgeRead(BaseModel):
    id: str
    distribution_id: str
    kind: str
    value: str
    mode: str
    state: Literal["accepted", "propagating", "done"]
    edges: dict[str, str]
    created_at: datetime


class EdgeRead(BaseModel):
    name: str
    address: str
    isp: str
    alive: bool
    current: bool
    applied_digest: str | None


class EdgeReport(Body):
    digest: str | None = Field(default=None, max_length=64)
    purges: dict[Annotated[str, Field(max_length=64)], Literal["done", "failed"]] = Field(
        default_factory=dict
    )


def _read(row: DistributionRow) -> DistributionRead:
    auto = next(h for h, kind in row.hosts if kind == "auto")
    domains = []
    for host, kind in row.hosts:
        if kind == "custom":
            name, text = service.domain_proof(row.project_id, host)
            domains.append(DomainRead(domain=host, txt_name=name, txt_text=text))
    s = row.settings
    return DistributionRead(
        id=row.id, project_id=row.project_id, name=row.name, host=auto,
        origin=OriginRead(kind=row.origin_kind, ref=row.origin_ref, region=row.region),
        domains=domains, default_ttl=s.default_ttl, honour_origin=s.honour_origin,
        query_in_key=s.query_in_key, enabled=s.enabled, allowed_methods=list(s.allowed_methods),
        origin_missing=row.origin_deleted, disabled_reason=row.disabled_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _purge(view: PurgeView) -> PurgeRead:
    row = view.row
    return PurgeRead(
        id=row.id, distribution_id=row.distribution_id, kind=row.spec.kind,
        value=row.spec.value, mode=row.spec.mode, state=view.state,
        edges=row.edges, created_at=row.created_at,
    )


def _caller(caller: Principal, container: Any, region: str | None) -> service.Caller:
    actor = service.Actor(user_id=caller.user_id, name=caller.user_name)
    return service.Caller(caller.tenant_id, actor, region or container.default_region)


@router.get("/distributions", response_model=Page[DistributionRead])
def list_distributions(
    caller: Caller, container: Services, page: Paged
) -> Page[DistributionRead]:
    """The caller's distributions, oldest first."""
    rows = service.list_distributions(db=container.db, project_id=caller.tenant_id,
                                      page=page.request)
    return page.of([_read(r) for r in rows])


@router.post("/distributions", status_code=201, response_model=DistributionRead,
             responses=problems(404, 422))
def create_distribution(
    body: DistributionCreate, caller: Caller, container: Services,
    x_sws_region: Annotated[str | None, Header(max_length=64)] = None,
) -> DistributionRead:
    origins = service.Origins(object_store=container.object_store)
    return _read(service.create_distribution(
        db=container.db, clock=container.clock, config=container.cdn_config, origins=origins,
        caller=_caller(caller, container, x_sws_region), spec=body.spec(),
    ))


@router.get("/distributions/{distribution_id}", response_model=DistributionRead,
            responses=problems(404))
def get_distribution(distribution_id: Id, caller: Caller, container: Services) -> Any:
    return _read(service.get_distribution(db=container.db, project_id=caller.tenant_id,
                                          distribution_id=distribution_id))


@router.patch("/distributions/{distribution_id}", response_model=DistributionRead,
              responses=problems(404, 409, 422))
def update_distribution(
    distribution_id: Id, body: DistributionUpdate, caller: Caller, container: Services
) -> Any:
    return _read(service.update_distribution(
        db=container.db, clock=container.clock, caller=_caller(caller, container, None),
        distribution_id=distribution_id, change=body.change(),
        origins=service.Origins(object_store=container.object_store),
        config=container.cdn_config,
    ))


@router.delete("/distributions/{distribution_id}", status_code=204, responses=problems(404))
def delete_distribution(distribution_id: Id, caller: Caller, container: Services) -> Response:
    service.delete_distribution(db=container.db, clock=container.clock,
                                caller=_caller(caller, container, None),
                                distribution_id=distribution_id, config=container.cdn_config)
    return Response(status_code=204)


@router.post("/distributions/{distribution_id}/domains", status_code=201,
             response_model=DistributionRead, responses=problems(404, 409, 422))
def add_domain(
    distribution_id: Id, body: DomainCreate, caller: Caller, container: Services
) -> Any:
    """Serve a custom domain, once `_sws-challenge.<domain>` has the TXT record
    `sws-project=<your project id>` (the 422 says what to publish)."""
    return _read(service.add_domain(
        db=container.db, clock=container.clock, config=container.cdn_config,
        caller=_caller(caller, container, None), distribution_id=distribution_id,
        domain=body.domain,
    ))


@router.delete("/distributions/{distribution_id}/domains/{domain}", status_code=204,
               responses=problems(404))
def remove_domain(
    distribution_id: Id, domain: Annotated[str, Path(max_length=253)], caller: Caller,
    container: Services,
) -> Response:
    service.remove_domain(db=container.db, clock=container.clock,
                          caller=_caller(caller, container, None),
                          distribution_id=distribution_id, domain=domain)
    return Response(status_code=204)


REPLAY: dict[int | str, dict[str, Any]] = {
    200: {"model": PurgeRead, "description": "the same job (its Idempotency-Key again)"}
}


@router.post("/distributions/{distribution_id}/purges", status_code=202,
             response_model=PurgeRead, responses={**REPLAY, **problems(404, 409, 422, 429)})
def create_purge(
    distribution_id: Id, body: PurgeCreate, caller: Caller, container: Services,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Any:
    """A purge job (soft by default: objects go stale and are revalidated). The same
    Idempotency-Key answers the same job (200) instead of a second one (202)."""
    request = PurgeRequest(distribution_id, PurgeSpec(body.kind, body.value, body.mode),
                           idempotency_key)
    try:
        view, new = service.create_purge(
            db=container.db, clock=container.clock, config=container.cdn_config,
            limiter=container.purge_limiter, caller=_caller(caller, container, None),
            request=request,
        )
    except TooManyPurges as exc:
        return _limited(exc)
    response.status_code = 202 if new else 200
    return _purge(view)


def _limited(exc: TooManyPurges) -> JSONResponse:
    answer = problem_json.problem(exc.status, exc.title, exc.detail, field=exc.field)
    answer.headers["Retry-After"] = str(exc.retry_after)
    return answer


@router.get("/distributions/{distribution_id}/purges", response_model=Page[PurgeRead],
            responses=problems(404))
def list_purges(
    distribution_id: Id, caller: Caller, container: Services, page: Paged
) -> Page[PurgeRead]:
    """The distribution's purge jobs, newest first."""
    views = service.list_purges(db=container.db, project_id=caller.tenant_id,
                                distribution_id=distribution_id, page=page.request)
    return page.of([_purge(v) for v in views])


@router.get("/distributions/{distribution_id}/purges/{purge_id}", response_model=PurgeRead,
            responses=problems(404))
def get_purge(distribution_id: Id, purge_id: Id, caller: Caller, container: Services) -> Any:
    return _purge(service.get_purge(db=container.db, project_id=caller.tenant_id,
                                    distribution_id=distribution_id, purge_id=purge_id))


# ---- signed URLs and certificates -----------------------------------------------------------


class SigningUpdate(Body):
    enabled: bool


class SigningRead(BaseModel):
    """Signed-URL mode: the edges serve only links `?expires=<unix>&sig=<hex>` where sig is
    HMAC-SHA256(key, "<path>:<expires>"); `key` is yours to sign links with."""

    enabled: bool
    key: str | None
    rotated_at: datetime | None


class SignRequest(Body):
    path: str = Field(min_length=1, max_length=1024, description="a URL path, /a/b.pdf")
    seconds: int = Field(ge=1, le=MAX_SIGNED_SECONDS, description="how long the link works")


class SignedRead(BaseModel):
    url: str
    path: str
    expires_at: datetime


class CertificateCreate(Body):
    certificate: str = Field(min_length=1, max_length=MAX_PEM,
                             description="PEM chain, the leaf first")
    private_key: str = Field(min_length=1, max_length=MAX_PEM,
                             description="unencrypted PEM; stored for the edges, never shown")


class CertificateRead(BaseModel):
    domain: str
    fingerprint: str
    not_after: datetime
    created_at: datetime


class CertificateList(BaseModel):
    items: list[CertificateRead]


def _signing(view: service.SigningView) -> SigningRead:
    return SigningRead(enabled=view.enabled, key=view.key, rotated_at=view.rotated_at)


def _certificate(view: service.CertificateView) -> CertificateRead:
    return CertificateRead(domain=view.domain, fingerprint=view.fingerprint,
                           not_after=view.not_after, created_at=view.created_at)


@router.get("/distributions/{distribution_id}/signing", response_model=SigningRead,
            responses=problems(404))
def get_signing(distribution_id: Id, caller: Caller, container: Services) -> Any:
    return _signing(service.get_signing(db=container.db, project_id=caller.tenant_id,
                                        distribution_id=distribution_id))


@router.put("/distributions/{distribution_id}/signing", response_model=SigningRead,
            responses=problems(404, 422))
def set_signing(
    distribution_id: Id, body: SigningUpdate, caller: Caller, container: Services
) -> Any:
    """Turn signed-URL mode on (the edges then answer 403 to unsigned or expired links) or
    off; the first time makes the distribution's key."""
    return _signing(service.set_signing(
        db=container.db, clock=container.clock, caller=_caller(caller, container, None),
        distribution_id=distribution_id, enabled=body.enabled,
    ))


@router.post("/distributions/{distribution_id}/signing/rotate", response_model=SigningRead,
             responses=problems(404))
def rotate_signing_key(distribution_id: Id, caller: Caller, container: Services) -> Any:
    """A new key; links signed with the previous one keep working until the next rotation."""
    return _signing(service.rotate_signing_key(
        db=container.db, clock=container.clock, caller=_caller(caller, container, None),
        distribution_id=distribution_id,
    ))


@router.post("/distributions/{distribution_id}/sign", response_model=SignedRead,
             responses=problems(404, 422))
def sign(distribution_id: Id, body: SignRequest, caller: Caller, container: Services) -> Any:
    """A link to `path` that the edges serve for `seconds`, then answer 403."""
    link = service.sign(db=container.db, clock=container.clock, project_id=caller.tenant_id,
                        distribution_id=distribution_id, path=body.path, seconds=body.seconds)
    return SignedRead(url=link.url, path=link.path, expires_at=link.expires_at)


@router.get("/distributions/{distribution_id}/certificates", response_model=CertificateList,
            responses=problems(404))
def list_certificates(distribution_id: Id, caller: Caller, container: Services) -> Any:
    views = service.list_certificates(db=container.db, project_id=caller.tenant_id,
                                      distribution_id=distribution_id)
    return CertificateList(items=[_certificate(v) for v in views])


@router.put("/distributions/{distribution_id}/certificates/{domain}",
            response_model=CertificateRead, responses=problems(404, 422))
def upload_certificate(
    distribution_id: Id, domain: Annotated[str, Path(max_length=253)],
    body: CertificateCreate, caller: Caller, container: Services,
) -> Any:
    """The certificate the edges present for a verified custom domain (by SNI). Refused (422,
    naming why) unless it parses, the key is its own, it covers the domain and is valid now."""
    return _certificate(service.upload_certificate(
        db=container.db, clock=container.clock, caller=_caller(caller, container, None),
        distribution_id=distribution_id, domain=domain,
        upload=CertificateUpload(body.certificate, body.private_key),
    ))


@router.delete("/distributions/{distribution_id}/certificates/{domain}", status_code=204,
               responses=problems(404))
def remove_certificate(
    distribution_id: Id, domain: Annotated[str, Path(max_length=253)], caller: Caller,
    container: Services,
) -> Response:
    service.remove_certificate(db=container.db, clock=container.clock,
                               caller=_caller(caller, container, None),
                               distribution_id=distribution_id, domain=domain)
    return Response(status_code=204)


# ---- CDN edges (the agents), operator only --------------------------------------------------


@admin_router.get("/cdn-edges", response_model=Page[EdgeRead])
def list_edges(_: Admin, container: Services, page: Paged) -> Page[EdgeRead]:
    found = service.edges(db=container.db, clock=container.clock, config=container.cdn_config)
    return page.window(
        (EdgeRead(name=e.name, address=e.address, isp=e.isp, alive=e.alive, current=e.current,
                  applied_digest=e.applied_digest) for e in found),
        key=lambda e: e.name,
    )


@admin_router.get("/cdn-edges/{edge}/desired-state", responses=problems(404))
def edge_desired_state(
    edge: Id, _: Admin, container: Services,
    after: Annotated[int, Query(ge=-1)] = -1,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT)] = 0,
) -> dict[str, Any]:
    """The VCL and this edge's pending purges, with the `version` to long-poll after: with
    `after` and `wait`, answers once the version passes `after`, or after `wait` seconds."""
    config = container.cdn_config
    service.known_edge(config, edge)
    version = service.current_version(db=container.db)
    if wait > 0:
        version = service.wait_for_version(db=container.db, after=after, timeout=wait)
    state = service.edge_state(db=container.db, config=config, edge=edge)
    return {"version": version, **state.to_json()}


@admin_router.post("/cdn-edges/{edge}/report", status_code=204, responses=problems(404))
def edge_report(edge: Id, body: EdgeReport, _: Admin, container: Services) -> Response:
    service.report(db=container.db, clock=container.clock, config=container.cdn_config,
                   edge=edge, digest=body.digest, purges=dict(body.purges))
    return Response(status_code=204)
