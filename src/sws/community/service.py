"""Community use cases: the lease pass (warn, shelve, delete), renewals, idle reclamation, the
mining flag, the launch rate and the kill switch.

Each step of a lease is claimed by a compare-and-set on its own column before it is acted on,
so any number of workers may run the pass: a step happens once. A driver failure releases
the claim and the next pass tries again; an instance deleted meanwhile ends its lease.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from sws.audit import service as audit
from sws.audit.model import AuditRecord
from sws.billing.payments.notices import notify
from sws.clock import Clock
from sws.community import model
from sws.community import repository as repo
from sws.community.cpu import CpuSource
from sws.community.model import Lease, Step, Terms
from sws.db.engine import Database
from sws.drivers.base import CloudDriver, Quota, Server, ServerFilter
from sws.errors import Conflict, NotFound, SWSError
from sws.identity import service as identity
from sws.identity.tables import tenants
from sws.quotas import repository as quotas_repo
from sws.signup.limits import Limit, Limiter

log = logging.getLogger("sws.community")
PAGE = 500
QUOTA_BATCH = 50  # projects given the free quota per region and pass (two API calls each)
SHELVED = ("shelved", "shelved_offloaded")
IDLE_NOTICE = timedelta(days=1)  # flagged idle this long (and still idle) before shelving
_MAILS: dict[Step, str] = {
    "warn": "community_lease_warning",
    "shelve": "community_lease_shelved",
    "delete": "community_lease_deleted",
}


@dataclass
class PassReport:
    """What one pass did."""

    started: int = 0
    gone: int = 0
    warned: int = 0
    shelved: int = 0
    deleted: int = 0
    idle_flagged: int = 0
    idle_shelved: int = 0
    mining_flagged: int = 0
    quotas_set: int = 0

    def took(self, step: Step) -> None:
        name = {"warn": "warned", "shelve": "shelved", "delete": "deleted"}[step]
        setattr(self, name, getattr(self, name) + 1)


# ---- the pass ------------------------------------------------------------------------------


def lease_pass(
    *, db: Database, clock: Clock, drivers: Mapping[str, CloudDriver], terms: Terms
) -> PassReport:
    """Lease the free regions' new instances, end the leases of deleted ones, take due steps."""
    report = PassReport()
    exempt = _exempt_projects(db, terms)
    for region in sorted(terms.regions & set(drivers)):
        try:
            _discover(db, clock, drivers[region], terms, exempt, report)
        except SWSError as error:  # a region down: its leases wait, the others go on
            log.warning("community: servers of %s not listed: %s", region, error.detail)
    with db.read() as conn:
        leases = repo.due(conn, clock.now() + terms.warn)
    for lease in leases:
        step = model.next_step(lease, clock.now(), terms)
        driver = drivers.get(lease.region)
        if step is not None and driver is not None and _take(db, clock, driver, lease, step, terms):
            report.took(step)
    return report


def quota_pass(
    *, db: Database, clock: Clock, drivers: Mapping[str, CloudDriver], terms: Terms
) -> int:
    """Set the free tier's quota on every project of each free region that lacks it: a new
    tenant, however it was made (sign-up, the admin, Keystone's first sight), a region made
    free since, or a free quota the operator changed since. Nova's and Neutron's quotas on
    OpenStack, the quota table in a simulated region. A project with an approved quota
    request there keeps the request's. Setting it is idempotent, so workers may race; a
    region that fails is left for the next pass. How many projects were set."""
    if not terms.quota:
        return 0
    wanted, text, done = Quota(**terms.quota), model.quota_text(terms.quota), 0
    exempt = _exempt_projects(db, terms)
    for region in sorted(terms.regions & set(drivers)):
        with db.read() as conn:
            due = repo.quota_due(
                conn, region, text, skip=quotas_repo.approved_tenants(region), exempt=exempt,
                limit=QUOTA_BATCH,
            )
        for project_id in due:
            try:
                _set_free_quota(db, drivers[region], region, project_id, wanted)
            except SWSError as error:  # the region is down: the next pass tries again
                log.warning("community: free quota not set in %s: %s", region, error.detail)
                break
            with db.begin() as conn:
                repo.record_quota(conn, project_id, region, text, clock.now())
            done += 1
    return done


def _set_free_quota(
    db: Database, driver: CloudDriver, region: str, project_id: str, wanted: Quota
) -> None:
    """Set `wanted`; a request approved meanwhile (its quota set just before this one) gets
    its quota back, since the last word must be the approval's."""
    driver.set_quota(project_id, wanted)
    with db.read() as conn:
        approved = quotas_repo.latest_approved(conn, project_id, region)
    if approved is not None:
        driver.set_quota(project_id, approved)


def _exempt_projects(db: Database, terms: Terms) -> set[str]:
    names = sorted(terms.exempt_tenants)
    with db.read() as conn:
        return set(conn.execute(select(tenants.c.id).where(tenants.c.name.in_(names))).scalars())


def all_servers(driver: CloudDriver) -> Iterator[Server]:
    """Every server of the region, page by page."""
    marker: str | None = None
    while True:
        page = list(driver.list_all_servers(ServerFilter(), PAGE, marker))
        yield from page
        if len(page) < PAGE:
            return
        marker = page[-1].id


def _discover(
    db: Database,
    clock: Clock,
    driver: CloudDriver,
    terms: Terms,
    exempt: set[str],
    report: PassReport,
) -> None:
    now = clock.now()
    servers = {s.id: s for s in all_servers(driver) if s.project_id not in exempt}
    with db.begin() as conn:
        known = repo.live_ids(conn, driver.region)
        report.gone += repo.mark_gone(conn, known - set(servers), now)
        for server in servers.values():
            if server.id not in known and repo.add(
                conn, _new_lease(server, driver.region, now, terms)
            ):
                report.started += 1


def _new_lease(server: Server, region: str, now: datetime, terms: Terms) -> Lease:
    """A lease from launch; an instance older than its region's free tier gets a full one."""
    started = max(server.created_at, now - terms.every)
    return Lease(
        server.id,
        region,
        server.project_id,
        server.name[:255],
        started,
        model.first_expiry(started, terms),
    )


def _take(
    db: Database, clock: Clock, driver: CloudDriver, lease: Lease, step: Step, terms: Terms
) -> bool:
    """Claim `step`, act, mail the tenant; False if another worker had it or the act failed."""
    now = clock.now()
    with db.begin() as conn:
        if not repo.claim(conn, lease.server_id, step, now):
            return False
        if step == "warn":
            _mail(conn, lease, step, now, terms)
            return True
    if not _act(db, clock, driver, lease, step):
        return False
    with db.begin() as conn:
        _mail(conn, lease, step, now, terms)
    return True


def _act(db: Database, clock: Clock, driver: CloudDriver, lease: Lease, step: Step) -> bool:
    try:
        if step == "shelve":
            shelve(driver, lease.project_id, lease.server_id)
        else:
            driver.delete_server(lease.project_id, lease.server_id)
    except NotFound:
        with db.begin() as conn:
            repo.mark_gone(conn, [lease.server_id], clock.now())
        return False
    except SWSError as error:  # busy (a task running), or the cloud refused: next pass
        log.warning("lease %s of %s: %s; retried next pass", step, lease.server_id, error)
        with db.begin() as conn:
            repo.unclaim(conn, lease.server_id, step)
        return False
    return True


def shelve(driver: CloudDriver, project_id: str, server_id: str) -> None:
    """Shelve the instance unless it is shelved already."""
    if driver.get_server(project_id, server_id).vm_state not in SHELVED:
        driver.server_action(project_id, server_id, "shelve")


def _mail(conn: Connection, lease: Lease, step: Step, now: datetime, terms: Terms) -> None:
    context = {
        "server": lease.name,
        "server_id": lease.server_id,
        "region": lease.region,
        "expires": _utc(lease.expires_at),
        "deletes": _utc(lease.expires_at + terms.grace),
    }
    template = _MAILS[step]
    notify(
        conn,
        tenant_id=lease.project_id,
        template=template,
        context=context,
        now=now,
        key=f"{template}:{lease.server_id}:{lease.expires_at.isoformat()}",
    )


def _utc(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


# ---- idle reclamation and the mining flag ---------------------------------------------------


def cpu_pass(
    *,
    db: Database,
    clock: Clock,
    drivers: Mapping[str, CloudDriver],
    terms: Terms,
    cpu: CpuSource,
) -> PassReport:
    """Flag idle instances (and shelve those idle a day longer); flag possible mining."""
    report, now = PassReport(), clock.now()
    with db.read() as conn:
        leases = repo.active(conn, sorted(terms.regions))
    ids = {lease.server_id for lease in leases}
    daily = cpu.averages(ids, end=now, seconds=86400, windows=terms.idle_days)
    hourly = cpu.averages(ids, end=now, seconds=3600, windows=terms.mining_hours)
    for lease in leases:
        _mining(db, lease, hourly.get(lease.server_id, []), terms, now, report)
        if model.is_idle(daily.get(lease.server_id, []), terms):
            _idle(db, clock, drivers.get(lease.region), lease, terms, report)
        elif lease.idle_since is not None:
            with db.begin() as conn:
                repo.set_flags(conn, lease.server_id, {"idle_since": None})
    return report


def _mining(
    db: Database,
    lease: Lease,
    hourly: list[float | None],
    terms: Terms,
    now: datetime,
    report: PassReport,
) -> None:
    """Shown to the operator, never acted on: sustained high CPU flags, anything else clears."""
    mining = model.is_mining(hourly, terms)
    if mining == (lease.mining_since is not None):
        return
    values = {
        "mining_since": now if mining else None,
        "mining_cpu": min(v for v in hourly if v is not None) if mining else None,
    }
    with db.begin() as conn:
        repo.set_flags(conn, lease.server_id, values)
    report.mining_flagged += int(mining)


def _idle(
    db: Database,
    clock: Clock,
    driver: CloudDriver | None,
    lease: Lease,
    terms: Terms,
    report: PassReport,
) -> None:
    now = clock.now()
    if lease.idle_since is None:
        with db.begin() as conn:
            repo.set_flags(conn, lease.server_id, {"idle_since": now})
        report.idle_flagged += 1
        return
    if driver is None or now < lease.idle_since + IDLE_NOTICE:
        return
    with db.begin() as conn:
        if not repo.claim_idle_shelve(conn, lease.server_id, now):
            return
    try:
        shelve(driver, lease.project_id, lease.server_id)
    except SWSError as error:
        log.warning("idle shelve of %s: %s; retried next pass", lease.server_id, error)
        with db.begin() as conn:
            repo.set_flags(conn, lease.server_id, {"shelved_at": None, "idle_shelved_at": None})
        return
    with db.begin() as conn:
        notify(
            conn,
            tenant_id=lease.project_id,
            template="community_idle_shelved",
            now=now,
            context={
                "server": lease.name,
                "server_id": lease.server_id,
                "region": lease.region,
                "days": str(terms.idle_days),
                "threshold": f"{terms.idle_cpu_percent:g}",
            },
            key=f"community_idle_shelved:{lease.server_id}:{now.isoformat()}",
        )
    report.idle_shelved += 1


# ---- the tenant's side ---------------------------------------------------------------------


def leases_of(*, db: Database, project_id: str) -> list[Lease]:
    with db.read() as conn:
        return repo.of_project(conn, project_id)


def get_lease(*, db: Database, project_id: str | None, server_id: str) -> Lease:
    """One instance's lease; another tenant's, or an instance without one, is 404."""
    with db.read() as conn:
        lease = repo.get(conn, server_id, project_id)
    if lease is None:
        raise NotFound(f"instance {server_id} has no community lease", field="server_id")
    return lease


def renew(
    *,
    db: Database,
    clock: Clock,
    drivers: Mapping[str, CloudDriver],
    terms: Terms,
    project_id: str | None,
    server_id: str,
) -> Lease:
    """A full lease from now; a shelved instance is unshelved. A deleted one is a 409.
    `project_id` None: the operator renews any tenant's instance."""
    lease = get_lease(db=db, project_id=project_id, server_id=server_id)
    expiry = model.renewed_expiry(lease, clock.now(), terms)
    with db.begin() as conn:
        if not repo.renew(conn, lease, expiry):
            raise Conflict("the lease changed meanwhile; try again", field="server_id")
    driver = drivers.get(lease.region)
    if lease.shelved_at is not None and driver is not None:
        _unshelve(driver, lease)
    return get_lease(db=db, project_id=project_id, server_id=server_id)


def _unshelve(driver: CloudDriver, lease: Lease) -> None:
    try:
        if driver.get_server(lease.project_id, lease.server_id).vm_state in SHELVED:
            driver.server_action(lease.project_id, lease.server_id, "unshelve")
    except SWSError as error:  # still shelving: the tenant unshelves it later
        log.info("renewed %s but not unshelved: %s", lease.server_id, error)


def flagged(*, db: Database) -> list[Lease]:
    """Instances flagged idle or possibly mining, for the admin console."""
    with db.read() as conn:
        return repo.flagged(conn)


# ---- abuse limits --------------------------------------------------------------------------


def launch_limit(terms: Terms) -> Limit:
    return Limit("community-launch", terms.launch_limit, terms.launch_window, "launches")


def check_launch(*, limiter: Limiter, terms: Terms, tenant_id: str, region: str) -> None:
    """Count a launch of the tenant in a free region; 429 with Retry-After over the rate."""
    if terms.is_free(region):
        limiter.hit(launch_limit(terms), tenant_id, field="count")


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: str
    name: str


def suspend_tenant(
    *,
    db: Database,
    clock: Clock,
    drivers: Mapping[str, CloudDriver],
    tenant_id: str,
    actor: Actor,
    reason: str,
    operator_tenant: str,
) -> int:
    """The kill switch: the tenant is disabled (no login, no API) and its running instances
    are stopped, nothing deleted; audited. How many instances were stopped."""
    identity.update_tenant(
        db=db,
        tenant_id=tenant_id,
        operator_tenant=operator_tenant,
        changes=identity.TenantChanges(enabled=False),
    )
    stopped = sum(_stop_all(driver, tenant_id) for driver in drivers.values())
    audit.record(
        db=db,
        clock=clock,
        entry=AuditRecord(
            actor.user_id,
            actor.name,
            "tenant.suspend",
            "tenant",
            tenant_id,
            f"stopped={stopped} reason={reason}",
        ),
    )
    return stopped


def _stop_all(driver: CloudDriver, tenant_id: str) -> int:
    stopped = 0
    for server in driver.list_servers(tenant_id, ServerFilter(), PAGE, None):
        if server.vm_state == "active":
            try:
                driver.server_action(tenant_id, server.id, "stop")
                stopped += 1
            except SWSError as error:
                log.warning("suspend: %s not stopped: %s", server.id, error)
    return stopped


def resume_tenant(
    *, db: Database, clock: Clock, tenant_id: str, actor: Actor, operator_tenant: str
) -> None:
    """The tenant may log in again; its instances stay stopped until it starts them."""
    identity.update_tenant(
        db=db,
        tenant_id=tenant_id,
        operator_tenant=operator_tenant,
        changes=identity.TenantChanges(enabled=True),
    )
    audit.record(
        db=db,
        clock=clock,
        entry=AuditRecord(actor.user_id, actor.name, "tenant.resume", "tenant", tenant_id, ""),
    )
