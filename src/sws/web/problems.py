"""Errors as RFC 9457 `application/problem+json` bodies; nothing else ever reaches a user."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sws.errors import SWSError, Unauthorized

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("sws.web")


def problem(
    status: int, title: str, detail: str, *, field: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    if field is not None:
        body["field"] = field
    body.update(extra)
    headers = {"WWW-Authenticate": 'Bearer realm="sws"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_WHERE = ("body", "query", "path", "header")


def _field_path(location: tuple[Any, ...]) -> str:
    """pydantic's loc as the dotted path to the leaf at fault: `custom_hosts.3`,
    `members.0.port`; without the part of the request it came in (`body`, `query`) nor a
    validator's step (`function-after[...]`)."""
    parts = location[1:] if location[:1] and location[0] in _WHERE else location
    named = [str(p) for p in parts if not (isinstance(p, str) and "[" in p)]
    return ".".join(named) or ".".join(str(p) for p in location)


def _json_error(body: Any, error: dict[str, Any]) -> dict[str, str]:
    """A body that is not JSON, located the way an editor shows it: line and column."""
    offset = error["loc"][1] if len(error["loc"]) > 1 else 0
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    reason = error.get("ctx", {}).get("error", "invalid JSON")
    return {"field": "body", "reason": f"body is not valid JSON at line {line} column {column}: "
            f"{reason}"}


async def _on_sws_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SWSError)
    answer = problem(exc.status, exc.title, exc.detail, field=exc.field)
    retry_after = getattr(exc, "retry_after", None)  # a rate limit's 429 says when to retry
    if isinstance(retry_after, int):
        answer.headers["Retry-After"] = str(retry_after)
    return answer


def _reason(exc: RequestValidationError, error: dict[str, Any]) -> dict[str, str]:
    if error.get("type") == "json_invalid":
        return _json_error(exc.body, error)
    return {"field": _field_path(tuple(error["loc"])), "reason": error["msg"]}


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_reason(exc, e) for e in exc.errors()]
    first = errors[0] if errors else {"field": "", "reason": "invalid request"}
    detail = f"{first['field']}: {first['reason']}"
    return problem(422, "Invalid input", detail, field=first["field"], errors=errors)


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem(exc.status_code, _title(exc.status_code), str(exc.detail))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "Internal error", "SWS could not complete this request; it was logged.")


def _title(status: int) -> str:
    titles = {404: "Not found", 405: "Method not allowed", 401: Unauthorized.title}
    return titles.get(status, "Error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(SWSError, _on_sws_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
