"""The console's left menus; an entry without a path is shown as "not enabled", never faked."""

from __future__ import annotations

from dataclasses import dataclass

from sws.web.console.i18n import N_


@dataclass(frozen=True, slots=True)
class MenuItem:
    label: str
    path: str | None  # None: the backend is not there yet, so the entry says so
    note: str = ""

    def active(self, current: str) -> bool:
        if self.path is None:
            return False
        if self.path in ("/console/", "/admin/"):
            return current == self.path
        return current == self.path or current.startswith(self.path + "/")


@dataclass(frozen=True, slots=True)
class MenuSection:
    label: str
    items: tuple[MenuItem, ...]


TENANT_MENU = (
    MenuSection(N_("Compute"), (
        MenuItem(N_("Overview"), "/console/"),
        MenuItem(N_("Instances"), "/console/instances"),
        MenuItem(N_("All regions"), "/console/regions/all"),
        MenuItem(N_("Free tier"), "/console/community"),
        MenuItem(N_("Images"), "/console/images"),
        MenuItem(N_("Snapshots"), "/console/snapshots"),
        MenuItem(N_("Volumes"), "/console/volumes"),
        MenuItem(N_("Security Groups"), "/console/security-groups"),
        MenuItem(N_("Key Pairs"), "/console/key-pairs"),
        MenuItem(N_("Floating IPs"), "/console/floating-ips"),
        MenuItem(N_("Load Balancers"), "/console/loadbalancers"),
        MenuItem(N_("Reachable Networks"), "/console/reachable"),
    )),
    MenuSection(N_("Monitoring"), (
        MenuItem(N_("Instance Monitoring"), "/console/monitoring"),
        MenuItem(N_("Alarms"), "/console/alarms"),
    )),
    MenuSection(N_("CDN"), (
        MenuItem(N_("Distributions"), "/console/cdn"),
    )),
    MenuSection(N_("Storage"), (
        MenuItem(N_("Containers"), "/console/containers"),
        MenuItem(N_("Storage Firewall"), "/console/storage-firewall"),
    )),
    MenuSection(N_("Billing"), (
        MenuItem(N_("Account"), "/console/billing/account"),
        MenuItem(N_("Bills"), "/console/billing/bills"),
        MenuItem(N_("Recharge"), "/console/payments/recharge"),
        MenuItem(N_("Payment history"), "/console/payments"),
        MenuItem(N_("Invoices"), "/console/payments/invoices"),
        MenuItem(N_("Auto-recharge"), "/console/payments/auto-recharge"),
    )),
    MenuSection(N_("Identity"), (
        MenuItem(N_("Users"), "/console/users"),
    )),
    MenuSection(N_("Activity and Help"), (
        MenuItem(N_("Activity"), "/console/activity"),
        MenuItem(N_("Help"), "/console/help"),
    )),
)

ADMIN_MENU = (
    MenuSection(N_("Identity"), (
        MenuItem(N_("Overview"), "/admin/"),
        MenuItem(N_("Tenants"), "/admin/tenants"),
        MenuItem(N_("Users"), "/admin/users"),
        MenuItem(N_("Sign-ups"), "/admin/signups"),
        MenuItem(N_("Quota requests"), "/admin/quota-requests"),
        MenuItem(N_("Regions"), "/admin/regions"),
    )),
    MenuSection(N_("Compute"), (
        MenuItem(N_("Hypervisors"), "/admin/hypervisors"),
        MenuItem(N_("All Instances"), "/admin/instances"),
        MenuItem(N_("Community"), "/admin/community"),
    )),
    MenuSection(N_("SWS Filter"), (
        MenuItem(N_("Internal Networks"), "/admin/netfilter/networks"),
        MenuItem(N_("Allow Rules"), "/admin/netfilter/rules"),
        MenuItem(N_("Cloud Bridge"), "/admin/netfilter/bridge"),
        MenuItem(N_("Filter Agents"), "/admin/netfilter/hosts"),
    )),
    MenuSection(N_("Operations"), (
        MenuItem(N_("Dead Letters"), "/admin/dead-letters"),
        MenuItem(N_("Audit Log"), "/admin/audit"),
    )),
    MenuSection(N_("Billing"), (
        MenuItem(N_("Top-ups and Coupons"), "/admin/billing/accounts"),
        MenuItem(N_("Price Catalog"), "/admin/billing/catalog"),
        MenuItem(N_("Payments"), "/admin/billing/payments"),
        MenuItem(N_("Documents"), "/admin/billing/documents"),
        MenuItem(N_("Revenue report"), "/admin/billing/revenue"),
    )),
)
