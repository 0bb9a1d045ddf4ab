"""The activity feed page: what happened to the tenant's resources and account, newest first.

`?show=notices` lists only notices (the bell's link) and marks them read for the user. The
entries come from `sws.activity`; this module gives each kind its translated sentence and
the page where the resource is.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Response

from sws.activity import service as activity
from sws.activity.model import Cursor, Entry
from sws.money import Money
from sws.web.console import i18n
from sws.web.console.context import Session, Tenant
from sws.web.console.i18n import N_
from sws.web.console.render import page
from sws.web.console.routing import ConsoleRoute

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

KIND_LABELS = {
    "instance": N_("Instance"), "floating_ip": N_("Floating IP"),
    "load_balancer": N_("Load balancer"), "volume": N_("Volume"),
    "volume_snapshot": N_("Volume snapshot"), "alarm": N_("Alarm"), "billing": N_("Billing"),
    "payment": N_("Payment"), "account": N_("Your account"),
}
TEXTS = {
    "instance.create": N_("Instance %(name)s was created."),
    "instance.create_error": N_("Instance %(name)s failed to build."),
    "instance.delete": N_("Instance %(name)s was deleted."),
    "instance.delete_not_scheduled": N_("Instance %(name)s was deleted before it started."),
    "instance.soft_delete": N_("Instance %(name)s was deleted; it can be restored for a while."),
    "instance.restore": N_("Instance %(name)s was restored."),
    "instance.resize_finish": N_("Instance %(name)s was resized: confirm or revert it."),
    "instance.resize_confirm": N_("The resize of instance %(name)s was confirmed."),
    "instance.resize_revert": N_("The resize of instance %(name)s was reverted."),
    "instance.power_off": N_("Instance %(name)s was shut down."),
    "instance.power_on": N_("Instance %(name)s was started."),
    "instance.pause": N_("Instance %(name)s was paused."),
    "instance.unpause": N_("Instance %(name)s was unpaused."),
    "instance.suspend": N_("Instance %(name)s was suspended."),
    "instance.resume": N_("Instance %(name)s was resumed."),
    "instance.shelve": N_("Instance %(name)s was shelved."),
    "instance.shelve_offload": N_("Instance %(name)s was shelved and offloaded."),
    "instance.unshelve": N_("Instance %(name)s was unshelved."),
    "instance.rebuild": N_("Instance %(name)s was rebuilt."),
    "instance.snapshot": N_("A snapshot of instance %(name)s was taken."),
    "instance.rename": N_("An instance was renamed %(name)s."),
    "floating_ip.create": N_("Floating IP %(address)s was allocated."),
    "floating_ip.associate": N_("Floating IP %(address)s was associated with an instance."),
    "floating_ip.disassociate": N_("Floating IP %(address)s was disassociated."),
    "floating_ip.delete": N_("Floating IP %(address)s was released."),
    "load_balancer.create": N_("Load balancer %(name)s was created."),
    "load_balancer.update": N_("Load balancer %(name)s was changed."),
    "load_balancer.delete": N_("Load balancer %(name)s was deleted."),
    "volume.create": N_("Volume %(name)s was created."),
    "volume.attach": N_("Volume %(name)s was attached."),
    "volume.detach": N_("Volume %(name)s was detached."),
    "volume.resize": N_("Volume %(name)s was extended."),
    "volume.delete": N_("Volume %(name)s was deleted."),
    "volume_snapshot.create": N_("Volume snapshot %(name)s is ready."),
    "volume_snapshot.delete": N_("Volume snapshot %(name)s was deleted."),
    "alarm.alarm": N_("Alarm %(name)s fired."),
    "alarm.ok": N_("Alarm %(name)s is OK."),
    "alarm.insufficient_data": N_("Alarm %(name)s has insufficient data."),
    "billing.topup": N_("Top-up of %(amount)s."),
    "billing.coupon_granted": N_("A coupon of %(amount)s was granted."),
    "billing.payment": N_("Payment of %(amount)s received."),
    "billing.notified": N_("Low balance: %(amount)s available."),
    "billing.grace_started": N_(
        "No funds left: running instances will be stopped unless funds arrive."),
    "billing.suspended": N_(
        "The account was suspended for lack of funds; running instances were stopped."),
    "billing.suspension_withheld": N_("The account is overdue; nothing was stopped."),
    "billing.resumed": N_("Funds arrived: the account was resumed."),
    "billing.recovered": N_("The balance is above the low-balance threshold again."),
    "billing.month_closed": N_("The bill for %(month)s was closed: %(amount)s."),
    "billing.server_stopped": N_("Instance %(name)s was stopped for lack of funds."),
    "billing.server_started": N_("Instance %(name)s was started again."),
    "payment.failed": N_("A payment of %(amount)s failed."),
    "account.tenant.suspend": N_("The tenant was suspended by an administrator."),
    "account.tenant.resume": N_("The tenant was resumed by an administrator."),
    "account.two_factor.enable": N_("Two-factor authentication was turned on."),
    "account.two_factor.disable": N_("Two-factor authentication was turned off."),
    "account.credential.create": N_("An API credential was created."),
    "account.credential.revoke": N_("An API credential was revoked."),
    "account.session.revoke_all": N_("You logged out everywhere."),
    "account.account.settings": N_("Panel settings were saved."),
}
OTHER_TEXTS = {  # a kind without a sentence of its own, by source
    "resource": N_("%(name)s changed."), "alarm": N_("Alarm %(name)s changed state."),
    "billing": N_("Your account's balance changed."), "payment": N_("A payment changed."),
    "account": N_("Your account was changed by %(actor)s."),
}


@dataclass(frozen=True, slots=True)
class Row:
    entry: Entry
    kind: str
    text: str
    link: str | None


Place = Annotated[str | None, Query(min_length=1, max_length=160)]


@router.get("/console/activity")
def feed(
    s: Tenant, show: Literal["all", "notices"] = "all", before: Place = None,
    after: Place = None,
) -> Response:
    """The newest page, or the page older than `before` or newer than `after` (the cursors
    of the page links: keyset pages)."""
    c, notices = s.container, show == "notices"
    if notices:
        activity.mark_read(db=c.db, clock=c.clock, tenant_id=s.tenant_id,
                           user_id=s.principal.user_id)
    found = activity.feed(
        db=c.db, tenant_id=s.tenant_id, user_id=s.principal.user_id, notices=notices,
        before=Cursor.parse(before) if before else None,
        after=Cursor.parse(after) if after and not before else None,
    )
    rows = [_row(s, entry) for entry in found.entries]
    return page(s, "activity.html", rows=rows, show=show,
                newer=found.newer.token if found.newer else None,
                older=found.older.token if found.older else None)


def _row(s: Session, entry: Entry) -> Row:
    kind = entry.resource_type if entry.source == "resource" else entry.source
    return Row(entry, s.gettext(KIND_LABELS.get(kind or "", N_("Resource"))),
               _text(s, entry), _link(s, entry))


def _text(s: Session, entry: Entry) -> str:
    values = {"name": entry.name or (entry.resource_id or "")[:8], "address": "", "amount": "",
              "month": "", "actor": "", **entry.values}
    values["address"] = values["address"] or values["name"]
    values["amount"] = _amount(s, values)
    template = TEXTS.get(entry.kind) or OTHER_TEXTS.get(entry.source, N_("%(name)s changed."))
    return s.gettext(template, **values)


def _amount(s: Session, values: dict[str, str]) -> str:
    """An amount of the entry in the visitor's locale; as recorded when it does not parse."""
    try:
        return i18n.money(Money(Decimal(values["amount"]), values["currency"]), s.locale)
    except (KeyError, InvalidOperation, ValueError):
        return values.get("amount", "")


LINKS = {
    "instance": "/console/instances/{id}", "load_balancer": "/console/loadbalancers/{id}",
    "floating_ip": "/console/floating-ips?address={address}",
    "volume": "/console/volumes#volume-{id}",
    "volume_snapshot": "/console/snapshots", "alarm": "/console/alarms/{id}",
    "payment": "/console/payments",
}


def _link(s: Session, entry: Entry) -> str | None:
    """Where the entry's resource is shown: none when it is gone or in another region."""
    if entry.source == "billing" and entry.resource_type is None:
        return "/console/billing/bills" if entry.kind == "billing.month_closed" \
            else "/console/billing/account"
    if entry.source == "account":
        return "/console/settings"
    if not entry.live or (entry.region and entry.region != s.region):
        return None
    found = LINKS.get(entry.resource_type or "")
    if found is None:
        return None
    address = quote(entry.values.get("address", ""), safe="")
    return found.format(id=quote(entry.resource_id or "", safe=""), address=address)
