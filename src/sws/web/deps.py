"""Request dependencies: the container, the calling principal and the chosen region's driver."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Header, Query, Request, Response, Security
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from sws.bootstrap import Container
from sws.drivers.base import CloudDriver
from sws.errors import Forbidden, SWSError, Unauthorized
from sws.identity import roles
from sws.identity.model import Principal
from sws.paging import DEFAULT_LIMIT, MAX_LIMIT, PageRequest, next_marker, window

MAX_PAGE = MAX_LIMIT
M = TypeVar("M")


class Page(BaseModel, Generic[M]):
    """Every list's answer: one page of `items`, and the `marker` of the next (null: the last)."""

    items: list[M]
    next_marker: str | None


def _id(item: Any) -> str:
    return str(item.id)


def container(request: Request) -> Container:
    found = request.app.state.container
    assert isinstance(found, Container)
    return found


def _bearer(authorization: str | None, x_auth_token: str | None) -> str:
    bearer = None
    if authorization and authorization.lower().startswith("bearer "):
        bearer = authorization[7:].strip()
    if authorization and x_auth_token and bearer != x_auth_token:
        # One credential per request: never guess which of two callers is meant.
        raise SWSError(
            "send one token: Authorization and X-Auth-Token differ", field="X-Auth-Token"
        )
    secret = x_auth_token or bearer
    if secret:
        return secret
    raise Unauthorized("send a token as 'Authorization: Bearer <token>' or 'X-Auth-Token'")


# The two ways to send a token, as OpenAPI security schemes (the Authorize button in /v1/docs).
# Neither refuses by itself: `principal` reads both and names what is wrong.
_BEARER = HTTPBearer(scheme_name="bearer", auto_error=False)
_TOKEN_HEADER = APIKeyHeader(name="X-Auth-Token", scheme_name="x-auth-token", auto_error=False)


def principal(
    request: Request,
    _bearer_scheme: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)],
    x_auth_token: Annotated[str | None, Security(_TOKEN_HEADER)],
) -> Principal:
    secret = _bearer(request.headers.get("authorization"), x_auth_token)
    caller = container(request).auth.validate(secret=secret)
    roles.authorize(caller.role, roles.action_of(request.method, request.url.path))
    return caller


def known_query(request: Request) -> None:
    """Refuse a query parameter the route does not declare with 400, rather than ignore it
    (`/v1/admin/servers?tenant_id=x` must not answer every server). Routes marked
    `{"x-sws-any-query": True}` in `openapi_extra` (payment callbacks) take any."""
    route = request.scope.get("route")
    if not request.url.path.startswith("/v1/") or not isinstance(route, APIRoute):
        return
    if (route.openapi_extra or {}).get("x-sws-any-query"):
        return
    unknown = sorted(set(request.query_params) - _declared_query(route))
    if unknown:
        raise SWSError(f"unknown query parameter {unknown[0]!r}", field=unknown[0])


def _declared_query(route: APIRoute) -> frozenset[str]:
    found = _QUERY_NAMES.get(id(route))
    if found is None:
        found = _QUERY_NAMES[id(route)] = frozenset(_query_names(route.dependant))
    return found


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for inner in dependant.dependencies:
        names |= _query_names(inner)
    return names


_QUERY_NAMES: dict[int, frozenset[str]] = {}  # by id(route): routes live as long as apps


def admin(caller: Annotated[Principal, Depends(principal)]) -> Principal:
    if not caller.is_admin:
        raise Forbidden("this needs the admin role")
    return caller


def region_name(request: Request, x_sws_region: Annotated[str | None, Header()] = None) -> str:
    """The region a request is for: its `X-SWS-Region` header, else the default region."""
    return x_sws_region or container(request).default_region


def driver(request: Request, region: Annotated[str, Depends(region_name)]) -> CloudDriver:
    return container(request).driver(region)


class Paging:
    """`limit` and `marker` query parameters, as Nova pages its lists; `of` answers the page
    in the one envelope every list shares, with a `Link: <...>; rel="next"` header."""

    def __init__(
        self,
        request: Request,
        response: Response,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="at most this many items")]
        = DEFAULT_LIMIT,
        marker: Annotated[
            str | None, Query(max_length=1024, description="the `next_marker` of the page before")
        ] = None,
    ) -> None:
        self.limit = limit
        self.marker = marker
        self.request = PageRequest(limit=limit, marker=marker)
        self._url = request.url
        self._response = response

    def of(self, items: Sequence[M], key: Callable[[M], str] = _id) -> Page[M]:
        """The envelope of one page already cut to `limit` (by SQL or by `window`)."""
        following = next_marker(items, key, self.limit)
        if following is not None:
            link = self._url.include_query_params(marker=following)
            self._response.headers["Link"] = f'<{link}>; rel="next"'
        return Page[M](items=list(items), next_marker=following)

    def window(self, items: Iterable[M], key: Callable[[M], str] = _id) -> Page[M]:
        """Page a whole list (from a cloud driver or a small table) in `key` order."""
        return self.of(window(items, key, self.request), key)


Caller = Annotated[Principal, Depends(principal)]
Admin = Annotated[Principal, Depends(admin)]
Driver = Annotated[CloudDriver, Depends(driver)]
RegionName = Annotated[str, Depends(region_name)]
Services = Annotated[Container, Depends(container)]
Paged = Annotated[Paging, Depends(Paging)]
