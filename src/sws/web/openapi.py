"""The OpenAPI document SWS serves at /v1/openapi.json: every error as `application/problem+json`
(one Problem schema), the statuses each route can answer, and auth as security schemes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from sws.web.problems import PROBLEM_JSON

BEARER, TOKEN_HEADER = "bearer", "x-auth-token"
PROBLEM: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details: what went wrong, and which input was at fault.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "field": {"type": "string", "description": "the input at fault, as a dotted path"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
}
SCHEMES: dict[str, Any] = {
    BEARER: {"type": "http", "scheme": "bearer",
             "description": "`Authorization: Bearer <token>`, a token from POST /v1/auth/tokens"},
    TOKEN_HEADER: {"type": "apiKey", "in": "header", "name": "X-Auth-Token",
                   "description": "the same token, as OpenStack clients send it"},
}
WHY = {
    400: "a query parameter this route does not take, a bad marker or a refused request",
    401: "no token, or one that is unknown, expired or revoked",
    402: "the account is suspended for want of funds",
    403: "the token's role may not do this, or a quota or firewall refuses it",
    404: "no such resource (another tenant's answers the same)",
    409: "the request conflicts with the resource's state",
    413: "the request body is larger than this route accepts",
    422: "the input is not valid: `field` names it",
    429: "too many requests: wait `Retry-After` seconds",
    503: "a service SWS needs (the cloud, the database) does not answer",
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}}
WRITES = {"post", "put", "patch", "delete"}


def install(app: FastAPI) -> None:
    """Serve the document built here, once, instead of FastAPI's plain one."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(title=app.title, version=app.version, description=app.description,
                       routes=app.routes)
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for generated in ("HTTPValidationError", "ValidationError"):
        schemas.pop(generated, None)
    schemas["Problem"] = PROBLEM
    components["securitySchemes"] = SCHEMES
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if path.startswith("/v1/") and isinstance(operation, dict):
                _describe(path, method, operation)
    return spec


def _describe(path: str, method: str, operation: dict[str, Any]) -> None:
    secured = bool(operation.pop("security", None))
    if secured:  # either scheme alone is enough: two requirements, not one of both
        operation["security"] = [{BEARER: []}, {TOKEN_HEADER: []}]
    responses = operation["responses"]
    for status in _statuses(path, method, operation, secured):
        responses[str(status)] = _problem(status)


def _statuses(path: str, method: str, operation: dict[str, Any], secured: bool) -> list[int]:
    statuses = [400, 422]
    if secured:
        statuses += [401, 403, 503]
    elif path == "/v1/auth/tokens":
        statuses.append(401)  # a wrong password
    if "{" in path or method in WRITES:
        statuses.append(404)
    if method in WRITES:
        statuses += [402, 409]
    if "requestBody" in operation or method in WRITES:
        statuses.append(413)
    if path.startswith("/v1/storage/") or path == "/v1/auth/tokens":
        statuses.append(429)
    return statuses


def _problem(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": WHY[status],
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status == 429:
        response["headers"] = RETRY_AFTER
    return response
