"""Error responses a route declares for its OpenAPI document, as `application/problem+json`
with the one Problem schema (sws.web.openapi adds the statuses every route shares)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from sws.web.problems import PROBLEM_JSON


class Problem(BaseModel):
    """RFC 9457 problem details: what went wrong, and which input was at fault."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    field: str | None = None


WHY = {
    400: "the code is not valid",
    401: "no token, or one that is unknown, expired or revoked",
    403: "the caller may not do this (or sign-up is closed)",
    404: "no such resource",
    409: "the code was used already, or the request conflicts with the resource's state",
    410: "the code has expired",
    422: "the input is not valid: `field` names it",
    429: "too many requests: wait `Retry-After` seconds",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for these statuses; a 429 carries `Retry-After`."""
    found: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        found[status] = {
            "model": Problem,
            "description": WHY[status],
            "content": {PROBLEM_JSON: {}},
        }
        if status == 429:
            found[status]["headers"] = {
                "Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}
            }
    return found
