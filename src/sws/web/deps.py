"""Request dependencies: the container, the calling principal and the chosen region's driver."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request

from sws.bootstrap import Container
from sws.drivers.base import CloudDriver
from sws.errors import Forbidden, SWSError, Unauthorized
from sws.identity.model import Principal

MAX_PAGE = 1000


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


def principal(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_auth_token: Annotated[str | None, Header()] = None,
) -> Principal:
    secret = _bearer(authorization, x_auth_token)
    return container(request).auth.validate(secret=secret)


def admin(caller: Annotated[Principal, Depends(principal)]) -> Principal:
    if not caller.is_admin:
        raise Forbidden("this needs the admin role")
    return caller


def driver(
    request: Request, x_sws_region: Annotated[str | None, Header()] = None
) -> CloudDriver:
    return container(request).driver(x_sws_region)


class Paging:
    """`limit` and `marker` query parameters, as Nova pages its lists."""

    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
        marker: Annotated[str | None, Query(max_length=64)] = None,
    ) -> None:
        self.limit = limit
        self.marker = marker


Caller = Annotated[Principal, Depends(principal)]
Admin = Annotated[Principal, Depends(admin)]
Driver = Annotated[CloudDriver, Depends(driver)]
Services = Annotated[Container, Depends(container)]
Page = Annotated[Paging, Depends(Paging)]
