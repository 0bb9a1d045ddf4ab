"""Alarms: every alarm of the tenant, its state and history; create, edit, enable, delete.

A thin adapter over `sws.metering.alarms`: threshold alarms are created as on an instance's
monitoring page (`monitoring.create_from_form`); an alarm's description, repeat setting and
enabled flag are what `update_alarm` lets change.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response

from sws.errors import SWSError
from sws.metering import alarms as alarm_service
from sws.web.console import pages
from sws.web.console.context import Session, Tenant, TenantPost
from sws.web.console.i18n import N_
from sws.web.console.render import page, redirect
from sws.web.console.routing import ConsoleRoute
from sws.web.console.views import monitoring

router = APIRouter(prefix="/console/alarms", route_class=ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=255)]
LongText = Annotated[str, Form(max_length=2048)]
HISTORY = 50


def _list_page(s: Session, values: dict[str, str], error: SWSError | None) -> Response:
    found = alarm_service.list_alarms(db=s.container.db, project_id=s.tenant_id)
    servers = pages.live_briefs(s)
    return page(
        s, "alarms/index.html", code=error.status if error else 200, alarms=found,
        names=pages.names_by_id(servers), servers=servers,
        summary=monitoring.summary(s, found), states=monitoring.STATE_LABELS,
        meters=monitoring.ALARM_METERS, aggregates=monitoring.AGGREGATES,
        comparisons=monitoring.COMPARISONS, windows=monitoring.WINDOWS,
        values=values, error=error,
    )


@router.get("")
def index(s: Tenant) -> Response:
    return _list_page(s, {}, None)


@router.post("")
def create(
    s: TenantPost, server_id: Text = "", name: Text = "", meter: Text = "",
    aggregate: Text = "mean", comparison: Text = "gt", threshold: Text = "",
    granularity: Text = "60", evaluation_periods: Text = "3", action: Text = "none",
    url: LongText = "", secret: Text = "", email: Text = "",
) -> Response:
    form = monitoring.AlarmForm(name, meter, aggregate, comparison, threshold, granularity,
                                evaluation_periods, action, url, secret, email)
    try:
        server = s.driver.get_server(s.tenant_id, server_id)
        created = monitoring.create_from_form(s, server, form)
    except SWSError as error:
        return _list_page(s, {**form.shown(), "server_id": server_id}, error)
    done = s.gettext("Alarm %(name)s created.", name=created.name)
    return redirect(s, f"/console/alarms/{created.id}", [("ok", done)])


@router.get("/{alarm_id}")
def detail(s: Tenant, alarm_id: str) -> Response:
    db = s.container.db
    alarm = alarm_service.get_alarm(db=db, project_id=s.tenant_id, alarm_id=alarm_id)
    entries = alarm_service.history(db=db, project_id=s.tenant_id, alarm_id=alarm_id,
                                    limit=HISTORY)
    names = pages.names_by_id(pages.live_briefs(s))
    return page(s, "alarms/detail.html", alarm=alarm, history=entries, names=names,
                states=monitoring.STATE_LABELS)


def _change(s: Session, alarm_id: str, changes: dict[str, object], done: str) -> Response:
    target = f"/console/alarms/{alarm_id}"
    try:
        alarm = alarm_service.update_alarm(db=s.container.db, project_id=s.tenant_id,
                                           alarm_id=alarm_id, changes=changes)
    except SWSError as error:
        return redirect(s, target, [("error", s.gettext(error.detail))])
    return redirect(s, target, [("ok", s.gettext(done, name=alarm.name))])


@router.post("/{alarm_id}/enabled")
def set_enabled(s: TenantPost, alarm_id: str, enabled: Text = "") -> Response:
    on = enabled == "true"
    done = N_("Alarm %(name)s enabled.") if on else N_("Alarm %(name)s disabled.")
    return _change(s, alarm_id, {"enabled": on}, done)


@router.post("/{alarm_id}/edit")
def edit(s: TenantPost, alarm_id: str, description: Text = "", repeat_actions: Text = ""
         ) -> Response:
    changes = {"description": description.strip(), "repeat_actions": repeat_actions == "on"}
    return _change(s, alarm_id, changes, N_("Alarm %(name)s saved."))


@router.post("/{alarm_id}/delete")
def delete(s: TenantPost, alarm_id: str) -> Response:
    db = s.container.db
    try:
        found = alarm_service.get_alarm(db=db, project_id=s.tenant_id, alarm_id=alarm_id)
        alarm_service.delete_alarm(db=db, project_id=s.tenant_id, alarm_id=alarm_id)
    except SWSError as error:
        return redirect(s, "/console/alarms", [("error", s.gettext(error.detail))])
    return redirect(s, "/console/alarms",
                    [("ok", s.gettext("Alarm %(name)s deleted.", name=found.name))])
