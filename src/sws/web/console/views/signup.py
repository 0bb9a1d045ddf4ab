"""The console's front door: sign up, confirm the mailed link, forgot and reset a password,
and the admin's queue of sign-ups awaiting approval. Every page calls the same FrontDoor use
cases as /v1/signup and /v1/password-reset, so the limits and answers are the same.

A link from a mail opens a page with a button: the code is used by the POST, never by the
GET, so a mail scanner that follows links cannot use it up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Query, Response

from sws.errors import SWSError
from sws.signup.limits import TooManyRequests
from sws.signup.service import Decision, SignupRequest
from sws.web.console.context import Admin, AdminPost, AnyVisit, PostedVisit, Session, Visit
from sws.web.console.i18n import N_
from sws.web.console.render import attempt, page, redirect
from sws.web.console.routing import ConsoleRoute

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=255)]
Secret = Annotated[str, Form(max_length=1024)]
Code = Annotated[str, Query(max_length=256)]
SENT = N_(
    "If this address can receive mail, a message is on its way to it. Follow its link "
    "within the time it states."
)
CLOSED = N_("Sign-up is closed on this cloud: ask its operator for an account.")


def _refused(current: Visit, template: str, error: SWSError, **values: object) -> Response:
    """The form again, with why it was refused (and `Retry-After` when it was a limit)."""
    message = current.gettext(error.detail)
    if isinstance(error, TooManyRequests):
        message = current.gettext(
            "Too many attempts. Try again in %(seconds)s seconds.", seconds=error.retry_after
        )
    response = page(
        current, template, code=error.status, error=message, field=error.field, **values
    )
    if isinstance(error, TooManyRequests):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _done(current: Visit, title: str, text: str, code: int = 200) -> Response:
    return page(
        current,
        "front_door_done.html",
        code=code,
        title=current.gettext(title),
        text=current.gettext(text),
    )


# ---- sign-up ---------------------------------------------------------------------------------


@router.get("/console/signup")
def signup_form(current: AnyVisit) -> Response:
    closed = current.container.front_door.config.mode == "closed"
    return page(
        current,
        "signup.html",
        code=403 if closed else 200,
        closed=closed,
        error=None,
        field=None,
        email="",
        tenant_name="",
    )


@router.post("/console/signup")
def sign_up(
    current: PostedVisit, email: Text = "", password: Secret = "", tenant_name: Text = ""
) -> Response:
    spec = SignupRequest(
        email=email,
        password=password,
        tenant_name=tenant_name.strip(),
        language="zh" if current.locale == "zh_CN" else "en",
        address=current.client_ip,
    )
    try:
        current.container.front_door.sign_up(spec)
    except SWSError as error:
        return _refused(
            current, "signup.html", error, closed=False, email=email, tenant_name=tenant_name
        )
    return _done(current, N_("Check your mail"), SENT, code=202)


@router.get("/console/signup/verify")
def verify_form(current: AnyVisit, token: Code = "") -> Response:
    return page(current, "signup_verify.html", token=token, error=None, field=None)


@router.post("/console/signup/verify")
def verify(current: PostedVisit, token: Secret = "") -> Response:
    try:
        outcome = current.container.front_door.verify(token=token, address=current.client_ip)
    except SWSError as error:
        return _refused(current, "signup_verify.html", error, token=token)
    if outcome.state == "pending":
        return _done(
            current,
            N_("Address confirmed"),
            N_(
                "Thank you. The operator of this cloud reviews new accounts; a mail will tell you "
                "when yours is open."
            ),
        )
    done = current.gettext("Your account is open: log in with your e-mail address.")
    return redirect(current, "/console/login", [("ok", done)])


# ---- password reset --------------------------------------------------------------------------


@router.get("/console/password-reset")
def reset_form(current: AnyVisit) -> Response:
    return page(current, "password_reset.html", error=None, field=None, email="")


@router.post("/console/password-reset")
def request_reset(current: PostedVisit, email: Text = "") -> Response:
    try:
        current.container.front_door.request_reset(email=email, address=current.client_ip)
    except SWSError as error:
        return _refused(current, "password_reset.html", error, email=email)
    return _done(current, N_("Check your mail"), SENT, code=202)


@router.get("/console/password-reset/confirm")
def confirm_form(current: AnyVisit, token: Code = "") -> Response:
    return page(current, "password_reset_confirm.html", token=token, error=None, field=None)


@router.post("/console/password-reset/confirm")
def confirm_reset(current: PostedVisit, token: Secret = "", password: Secret = "") -> Response:
    try:
        current.container.front_door.confirm_reset(
            token=token, password=password, address=current.client_ip
        )
    except SWSError as error:
        return _refused(current, "password_reset_confirm.html", error, token=token)
    done = current.gettext(
        "Your password was changed and every session of yours was ended. Log in with the new one."
    )
    return redirect(current, "/console/login", [("ok", done)])


# ---- the admin's queue -----------------------------------------------------------------------


@router.get("/admin/signups")
def pending(s: Admin) -> Response:
    door = s.container.front_door
    return page(s, "admin/signups.html", signups=door.pending(), mode=door.config.mode)


@router.post("/admin/signups/{signup_id}/approve")
def approve(s: AdminPost, signup_id: str) -> Response:
    decide = s.container.front_door.approve
    return _decided(
        s,
        lambda: decide(_decision(s, signup_id)),
        s.gettext("Sign-up approved: the tenant is open."),
    )


@router.post("/admin/signups/{signup_id}/deny")
def deny(s: AdminPost, signup_id: str) -> Response:
    decide = s.container.front_door.deny
    return _decided(s, lambda: decide(_decision(s, signup_id)), s.gettext("Sign-up denied."))


def _decision(s: Session, signup_id: str) -> Decision:
    return Decision(signup_id=signup_id, actor=s.principal, source="console", address=s.client_ip)


def _decided(s: Session, work: Callable[[], object], done: str) -> Response:
    """Back to the queue with the outcome (the use case audits it)."""
    return attempt(s, "/admin/signups", done, work, reason=lambda e: s.gettext(e.detail))
