"""Small page-building helpers shared by the console views: labels, filters, parsed forms.

Business rules stay in the driver and the services; this module only shapes what they
return for a page and turns form fields into their arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sws.drivers.base import (
    MAX_SERVERS_PER_LAUNCH,
    Server,
    ServerBrief,
    ServerCreate,
    ServerFilter,
)
from sws.errors import Invalid
from sws.identity import service as identity
from sws.web.console.context import Session
from sws.web.console.i18n import N_

T = TypeVar("T")
PAGE_SIZE = 50
ALL = 1000  # "every" tenant or instance, for pickers and name maps
STATUS_LABELS = {
    "ACTIVE": N_("Active"), "BUILD": N_("Building"), "SHUTOFF": N_("Shut off"),
    "REBOOT": N_("Rebooting"), "HARD_REBOOT": N_("Rebooting"), "RESIZE": N_("Resizing"),
    "VERIFY_RESIZE": N_("Confirm resize"), "REVERT_RESIZE": N_("Reverting resize"),
    "SHELVED": N_("Shelved"), "SHELVED_OFFLOADED": N_("Shelved, offloaded"),
    "ERROR": N_("Error"), "DELETED": N_("Deleted"), "UNKNOWN": N_("Unknown"),
    "REBUILD": N_("Rebuilding"),
}
POWER_LABELS = {
    "running": N_("Running"), "shutdown": N_("Shut down"), "pending": N_("Pending"),
    "crashed": N_("Crashed"), "paused": N_("Paused"), "suspended": N_("Suspended"),
}
TRANSITIONAL = frozenset({"BUILD", "REBOOT", "HARD_REBOOT", "RESIZE", "REVERT_RESIZE", "REBUILD"})
FILTER_STATUSES = ("ACTIVE", "BUILD", "SHUTOFF", "REBOOT", "RESIZE", "VERIFY_RESIZE",
                   "SHELVED", "SHELVED_OFFLOADED", "ERROR")


def is_transitional(server: Server) -> bool:
    """Still moving: the page keeps polling until every shown instance has settled."""
    return server.status in TRANSITIONAL or server.task_state is not None


def live_servers(s: Session) -> list[Server]:
    """The tenant's instances, except DELETED ones, whole (a picker that needs their hosts);
    `live_briefs` is the cheap read for names."""
    found = s.driver.list_servers(s.tenant_id, ServerFilter(), ALL, None)
    return [server for server in found if server.status != "DELETED"]


def live_briefs(s: Session) -> Sequence[ServerBrief]:
    """The tenant's live instances in brief (id, name, status, fixed IPs), newest first: for
    pickers and names on a page, without building whole servers."""
    return s.driver.list_server_briefs(s.tenant_id, ALL)


def filtered_ids(s: Session, filters: ServerFilter, marker: str) -> list[str]:
    """The ids of the live instances `filters` keep, in the list's order, for `server_page` to
    place the previous page; none on the first page, which has no previous one."""
    if not marker:
        return []
    return [brief.id for brief in s.driver.list_server_briefs(s.tenant_id, ALL, filters)]


def names_by_id(servers: Iterable[Server | ServerBrief]) -> dict[str, str]:
    """Each instance's name by its id, for a page that names the instances it refers to."""
    return {server.id: server.name for server in servers}


@dataclass(frozen=True, slots=True)
class Pager:
    """The links of a list paged by marker: the marker of the previous page ("" for the first
    page) and of the next one; None where there is no such page."""

    previous: str | None = None
    next: str | None = None


def server_page(
    s: Session, marker: str, ids: Sequence[str], filters: ServerFilter = ServerFilter()
) -> tuple[list[Server], Pager]:
    """The PAGE_SIZE instances after `marker` (newest first) that `filters` keep, and the
    page's links. The driver pages forward only: `ids`, the id of every instance so listed in
    the same order (`live_briefs`, `filtered_ids`), place the previous page."""
    found = list(s.driver.list_servers(s.tenant_id, filters, PAGE_SIZE + 1, marker or None))
    shown = found[:PAGE_SIZE]
    following = shown[-1].id if len(found) > PAGE_SIZE else None
    return shown, Pager(previous=previous_marker(ids, marker), next=following)


def previous_marker(ids: Sequence[str], marker: str, size: int = PAGE_SIZE) -> str | None:
    """The marker of the page before the page after `marker`, in a list of `ids`: "" for the
    first page, None when the page after `marker` is the first."""
    if not marker:
        return None
    try:
        start = ids.index(marker) + 1 - size  # where the previous page starts
    except ValueError:
        return ""  # beyond the ids known: back to the first page
    return ids[start - 1] if start > 0 else ""


def tenant_names(s: Session) -> dict[str, str]:
    """Every tenant's name by id, for admin pages that show whose a row is."""
    return {t.id: t.name for t in identity.list_tenants(db=s.container.db, limit=ALL, marker=None)}


def matching(items: Iterable[T], needle: str, *texts: Callable[[T], str | None]) -> list[T]:
    """Items where any of `texts` contains `needle`, case-insensitively; all if no needle."""
    wanted = needle.strip().lower()
    if not wanted:
        return list(items)
    return [i for i in items if any(wanted in (text(i) or "").lower() for text in texts)]


def next_marker(items: Sequence[Server], limit: int = PAGE_SIZE) -> str | None:
    return items[-1].id if len(items) == limit else None


def whole_number(value: str, *, field: str, low: int, high: int) -> int:
    """A form's whole number in [low, high], or Invalid naming the field."""
    try:
        number = int(value.strip())
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise Invalid(f"{field} must be a whole number from {low} to {high}", field=field)
    return number


def launch_spec(
    *, name: str, flavor_id: str, image_id: str, key_name: str,
    security_groups: list[str], count: str,
) -> ServerCreate:
    """The driver's ServerCreate from the launch form; the driver checks everything else."""
    return ServerCreate(
        name=name.strip(), flavor_id=flavor_id, image_id=image_id,
        key_name=key_name or None, security_groups=tuple(security_groups) or ("default",),
        count=whole_number(count, field="count", low=1, high=MAX_SERVERS_PER_LAUNCH),
    )


def ssh_command(server: Server, login: str = "ubuntu") -> str | None:
    """How to connect: the floating IP if there is one, else the fixed IP (from inside)."""
    address = (server.floating_ips or server.fixed_ips or (None,))[0]
    if address is None:
        return None
    key = f"-i ~/.ssh/{server.key_name}.pem " if server.key_name else ""
    return f"ssh {key}{login}@{address}"
