"""Settings: `SWS_*` environment variables over an optional TOML file; read once in bootstrap."""

from __future__ import annotations

import ipaddress
import os
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from sws.leases.model import LeaseTerms
from sws.quotas.model import DEFAULT_SIZES


def _toml_path() -> Path:
    """The TOML file: `$SWS_CONFIG`, else `$SWS_HOME/sws.toml`."""
    explicit = os.environ.get("SWS_CONFIG")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("SWS_HOME", ".sws")) / "sws.toml"


class LBNodeConfig(BaseModel):
    """One LB node: its name, its shared public IP and the ISP view it serves."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][\w.-]*$")
    address: str = Field(min_length=2, max_length=64)
    isp: str = Field(default="default", min_length=1, max_length=64)
    region: str | None = None


class SwiftConfig(BaseModel):
    """One region's real Swift: its public proxy, the InternalClient SWS manages it through,
    the reseller-admin credentials, and the Redis its proxies' `sws_usage` filter fills."""

    model_config = ConfigDict(extra="forbid")
    proxy_url: str = Field(pattern=r"^https?://[^/\s]+(/[^\s]*)?$")  # without /v1/...
    internal_client_conf: Path
    auth: Literal["keystone", "tempauth"] = "keystone"  # keystone: SWS's clouds.yaml account
    tempauth_url: str | None = None  # else <proxy_url>/auth/v1.0
    tempauth_user: str | None = None
    tempauth_key: str | None = Field(default=None, repr=False)
    account_prefix: str = Field(default="AUTH_", max_length=32)
    # unset: nothing is billed for this region's Swift
    usage_redis_url: str | None = Field(default=None, pattern=r"^(redis|unix)://")
    usage_prefix: str = Field(default="swsusage:", min_length=1, max_length=64)
    timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("proxy_url")
    @classmethod
    def _no_api_path(cls, value: str) -> str:
        if value.rstrip("/").endswith("/v1"):
            raise ValueError("give the proxy's URL without /v1: SWS adds /v1/<account>")
        return value

    @model_validator(mode="after")
    def _tempauth_needs_credentials(self) -> SwiftConfig:
        if self.auth == "tempauth" and not (self.tempauth_user and self.tempauth_key):
            raise ValueError("auth = 'tempauth' needs tempauth_user and tempauth_key")
        return self


class StripeSettings(BaseModel):
    """Stripe's keys (docs/payments.md): the secret API key and the webhook signing secret."""

    model_config = ConfigDict(extra="forbid")
    secret_key: str = Field(min_length=8, repr=False)
    webhook_secret: str = Field(min_length=8, repr=False)
    tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    api_base: str | None = Field(default=None, pattern=r"^https?://\S+$")  # a test double's


class AlipaySettings(BaseModel):
    """An Alipay merchant (docs/payments.md): the app, SWS's RSA key, Alipay's public key."""

    model_config = ConfigDict(extra="forbid")
    app_id: str = Field(min_length=1, max_length=64)
    private_key_file: Path  # PEM, the merchant's RSA private key (RSA2 signs the redirects)
    alipay_public_key_file: Path  # PEM, Alipay's public key (verifies the notifies)
    notify_url: str = Field(pattern=r"^https?://\S+/v1/payments/callbacks/alipay$")
    gateway: str = Field(default="https://openapi.alipay.com/gateway.do",
                         pattern=r"^https?://\S+$")


class RegionSponsorConfig(BaseModel):
    """Who runs a sponsor region (docs/community.md#sponsor-regions), shown at login and in
    the region switcher; the admin console's Regions page may override it in the database."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    logo_text: str = Field(default="", max_length=32)  # empty: the name's initials
    contact: str = Field(default="", max_length=255)


class RegionDriverConfig(BaseModel):
    """One region's own cloud when it differs from `driver`: simulated, or an OpenStack that
    SWS's account reaches as `cloud` in clouds.yaml, where the region is `catalog_region`."""

    model_config = ConfigDict(extra="forbid")
    driver: Literal["simulated", "openstack"]
    cloud: str | None = Field(default=None, min_length=1, max_length=64)  # else openstack_cloud
    catalog_region: str | None = Field(default=None, min_length=1, max_length=64)  # else its name


class PaymentRegionConfig(BaseModel):
    """The payment providers one region offers, and the currencies it takes (empty: any)."""

    model_config = ConfigDict(extra="forbid")
    providers: list[Literal["test", "stripe", "alipay"]] = ["test"]  # pydantic copies it
    currencies: list[str] = Field(default_factory=list)
    # The region's documents (docs/payments.md#invoices): who issues them, and the tax rate
    # included in what tenants pay (0.06 is 6%).
    tax_rate: Decimal = Field(default=Decimal(0), ge=0, lt=1, decimal_places=6)
    seller_name: str = Field(default="SWS cloud", min_length=1, max_length=200)
    seller_address: str = Field(default="", max_length=500)
    seller_tax_id: str = Field(default="", max_length=64)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWS_", extra="forbid")

    home: Path = Path(".sws")
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # `sws api`, told to stop, fails /healthz this long while still serving, so a load
    # balancer checking it (HAProxy: fall 2 at 1 s) takes it out of its pool first.
    api_drain_seconds: float = Field(default=3.0, ge=0, le=60)
    auth_backend: Literal["local", "keystone"] = "local"
    token_ttl_seconds: int = Field(default=12 * 3600, gt=0)
    regions: list[str] = Field(default_factory=lambda: ["RegionOne"])
    driver: Literal["simulated", "openstack"] = "simulated"
    # Simulated seconds a Nova task (build, resize, shelve, ...) takes in the simulated region.
    sim_task_seconds: int = Field(default=3, ge=0)
    sim_hypervisors: int = Field(default=4, ge=1)
    tick_seconds: float = Field(default=1.0, gt=0)
    demo_data: bool = True
    # Metering: the collector polls every N s; windows are sealed into rollups after a grace.
    metering_poll_seconds: float = Field(default=10.0, gt=0)
    metering_grace_seconds: float = Field(default=30.0, ge=0)
    metering_evaluation_seconds: float = Field(default=60.0, gt=0)
    metering_raw_retention_hours: int = Field(default=48, ge=1)
    metering_retention_days: dict[str, int] = Field(
        default_factory=lambda: {"1m": 7, "5m": 35, "1h": 400, "1d": 1830}
    )
    metering_prometheus_instances: bool = False  # per-instance series on /metrics
    metering_webhook_attempts: int = Field(default=5, ge=1, le=20)
    metering_webhook_backoff_seconds: float = Field(default=2.0, ge=0)
    # Mail (docs/signup.md#mail): SMTP when a host is set, else .eml files in $SWS_HOME/outbox/.
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_starttls: bool = False
    mail_from: str = Field(default="SWS <sws@localhost>", min_length=3, max_length=255)
    smtp_sender: str | None = None  # the older name of mail_from; wins when set
    # Self-service sign-up (docs/signup.md): closed until the operator opens it (open, or
    # approval: each confirmed sign-up waits for an admin). Links in mails start with
    # public_url (else http://<host>:<port>).
    signup: Literal["open", "approval", "closed"] = "closed"
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    signup_verify_hours: int = Field(default=24, ge=1, le=168)
    password_reset_minutes: int = Field(default=30, ge=5, le=1440)
    signup_password_min_length: int = Field(default=10, ge=8, le=128)
    signup_common_passwords: Path | None = None  # else the list shipped with SWS
    signup_blocked_domains: Path | None = None  # else the shipped disposable-domain list
    signup_limits: dict[str, int] = Field(default_factory=dict)  # counts by limit name
    # Teams and quota requests (docs/signup.md#teams, #quota-requests): how long an invitation
    # link works; the preset quota sizes (smallest first) and the auto-approval rules.
    invitation_hours: int = Field(default=72, ge=1, le=720)
    quota_sizes: dict[str, dict[str, int]] = Field(
        default_factory=lambda: {name: dict(q) for name, q in DEFAULT_SIZES.items()}
    )
    quota_auto_approve: bool = True
    quota_auto_max_steps: int = Field(default=1, ge=0, le=10)
    quota_auto_interval_days: int = Field(default=30, ge=0, le=3650)
    # Signs console CSRF tokens and flash cookies; unset, a random one is kept in
    # $SWS_HOME/console-secret. Set the same value on every replica that serves the console.
    console_secret: str | None = Field(default=None, min_length=32, repr=False)
    # Load balancers: the zone automatic names live in, the shared L4 port range, the LB nodes
    # (one shared public IP each, serving one ISP view) and the ISP views as CIDR lists.
    lb_zone: str = Field(default="lb.example.com", pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
    lb_http_port: int = Field(default=80, ge=1, le=65535)
    lb_port_min: int = Field(default=11000, ge=1, le=65535)
    lb_port_max: int = Field(default=19999, ge=1, le=65535)
    lb_nodes: list[LBNodeConfig] = Field(
        default_factory=lambda: [LBNodeConfig(name="lb-1", address="127.0.0.1")]
    )
    lb_isp_views: dict[str, list[str]] = Field(default_factory=dict)
    lb_node_timeout_seconds: float = Field(default=10.0, gt=0)
    dns_ttl: int = Field(default=30, ge=0)
    dns_nameservers: list[str] = Field(default_factory=lambda: ["ns1.example.com"])
    # CDN (docs/cdn.md): distributions are named <id>.cdn.<cdn_zone>; the edges (one Varnish
    # each, serving one ISP view); purge jobs per tenant per sliding window.
    cdn_zone: str = Field(default="example.com", pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
    cdn_edges: list[LBNodeConfig] = Field(
        default_factory=lambda: [LBNodeConfig(name="edge-1", address="127.0.0.1")]
    )
    cdn_edge_timeout_seconds: float = Field(default=10.0, gt=0)
    # HTTPS at the edges: the operator's wildcard for *.cdn.<zone> (one PEM file, chain then
    # key); origin shielding: the parent edge of each region (by name), and the port of the
    # edges' Varnish the other edges fetch from.
    cdn_tls_certificate: Path | None = None
    cdn_shield_parents: list[str] = Field(default_factory=list)
    cdn_edge_varnish_port: int = Field(default=6081, ge=1, le=65535)
    cdn_purge_limit: int = Field(default=30, ge=1, le=100_000)
    cdn_purge_window_seconds: float = Field(default=60.0, gt=0, le=86_400)
    # The secret the container origins' TempURL keys derive from (sws.cdn.origin_access): set,
    # the edges read private containers; unset, a container origin must be readable by them.
    cdn_origin_secret: str | None = Field(default=None, min_length=32, repr=False)
    # Node agents (docs/netfilter.md): stale after N report intervals without a report. The
    # netfilter agents' interval is their --interval; LB nodes go stale after the timeout.
    agent_stale_intervals: int = Field(default=3, ge=1)
    netfilter_agent_interval_seconds: float = Field(default=30.0, gt=0)

    # Real OpenStack (docs/openstack.md). SWS's own account is a cloud in clouds.yaml.
    openstack_cloud: str = "sws"
    clouds_yaml: Path | None = None  # else OS_CLIENT_CONFIG_FILE or the standard places
    keystone_url: str | None = None  # else the cloud's auth_url
    keystone_cache_seconds: float = Field(default=30.0, ge=0)  # re-validate after this
    keystone_cache_size: int = Field(default=10000, ge=1)
    keystone_admin_roles: list[str] = Field(default_factory=lambda: ["admin"])
    openstack_member_role: str = "member"  # what SWS's account gets on a tenant's project
    openstack_server_network: str = "none"  # none | auto | a network name or id
    openstack_build_wait_seconds: float = Field(default=20.0, ge=0)
    transport_url: str = "amqp://guest:guest@127.0.0.1:5672//"
    events_queue: str = "sws-events"
    # As OpenStack's [oslo_messaging_rabbit] amqp_durable_queues: only durable exchanges keep
    # the events queue's bindings across a RabbitMQ restart (docs/openstack.md).
    events_durable_exchanges: bool = False
    reconcile_interval_seconds: float = Field(default=300.0, gt=0)
    # Leader leases of once-only roles (docs/operations.md#leader-leases): a standby leads at
    # most TTL + renew seconds after the leader's death. Renew must be shorter than the TTL.
    lease_ttl_seconds: float = Field(default=6.0, gt=0)
    lease_renew_seconds: float = Field(default=2.0, gt=0)
    # Real Swift per region (docs/storage-firewall.md); a region without one keeps the
    # simulated store. Container sizes are sampled every N s for GB-month billing.
    swift: dict[str, SwiftConfig] = Field(default_factory=dict)
    swift_sample_seconds: float = Field(default=300.0, gt=0, le=3600)  # every hour sampled
    # Billing accounts SWS creates for projects it first sees (docs/billing.md#account-defaults).
    # Unset: the billing settings' value, else prepaid, 0, CNY, UTC. Enforcement `auto` is
    # observe-only (bills accrue, nothing is suspended) with SWS_DRIVER=openstack, else enforce.
    billing_payment_mode: Literal["prepaid", "postpaid"] | None = None
    billing_credit_limit: Decimal | None = Field(default=None, ge=0, decimal_places=6)
    billing_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    billing_timezone: str | None = Field(default=None, min_length=1, max_length=64)
    billing_enforcement: Literal["auto", "enforce", "observe"] = "auto"
    # Authentication and abuse limits (docs/api.md). The operator tenant's admin users are the
    # cloud's admins; an admin role in any other tenant means nothing.
    operator_tenant: str = Field(default="operator", min_length=2, max_length=64)
    # Shared state between processes (the login throttle); unset, the database holds it.
    redis_url: str | None = Field(default=None, pattern=r"^(redis|unix)://")
    redis_prefix: str = Field(default="sws:", min_length=1, max_length=64)  # of SWS's keys
    login_max_failures: int = Field(default=5, ge=1)  # per (user name, client address) ...
    login_window_seconds: int = Field(default=60, ge=1)  # ... in this sliding window
    # Proxies (CIDRs) whose X-Forwarded-For is believed; anyone else's is ignored.
    trusted_proxies: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1 << 20, ge=1024)  # any request body
    max_object_bytes: int = Field(default=100 << 20, ge=1024)  # an object upload
    # /metrics answers a bearer `metrics_token`, or a client in `metrics_allow` (CIDRs).
    metrics_token: str | None = Field(default=None, min_length=16, repr=False)
    metrics_allow: list[str] = Field(default_factory=lambda: ["127.0.0.1/32", "::1/128"])
    log_format: Literal["human", "json"] = "human"  # json: one object a line, with request_id
    # Alarm webhooks may target private, loopback and link-local addresses only if allowed;
    # the operator's internal networks (CIDRs) are listed here to refuse them too.
    webhook_allow_private: bool = False
    webhook_blocked_networks: list[str] = Field(default_factory=list)

    # Sponsor regions (docs/community.md#sponsor-regions): each region's sponsor (a seed: the
    # admin console's Regions page edits it in the database), and a region's own cloud where it
    # is not `driver` (a sponsor's own OpenStack next to simulated ones, or the reverse).
    region_sponsors: dict[str, RegionSponsorConfig] = Field(default_factory=dict)
    region_drivers: dict[str, RegionDriverConfig] = Field(default_factory=dict)
    region_probe_seconds: float = Field(default=5.0, gt=0, le=60)  # a region's answer, at most

    # Payments (docs/payments.md): providers and currencies per region. A region not listed
    # offers the embedded test provider with SWS_DRIVER=simulated, and nothing otherwise.
    payments: dict[str, PaymentRegionConfig] = Field(default_factory=dict)
    payments_stripe: StripeSettings | None = None
    payments_alipay: AlipaySettings | None = None
    # Signs the test provider's callbacks; unset, a random one per process (one replica only).
    payments_test_secret: str | None = Field(default=None, min_length=32, repr=False)
    payments_pending_timeout_seconds: float = Field(default=3600.0, gt=0)
    payments_janitor_seconds: float = Field(default=60.0, gt=0)

    # StackLab mode (docs/community.md): a free community cloud. `community` makes every region
    # free; `community_regions` names the free ones (in either mode). Free instances are leased
    # for N days (renewable), warned before, shelved at expiry and deleted after the grace.
    mode: Literal["standard", "community"] = "standard"
    community_regions: list[str] = Field(default_factory=list)
    community_lease_days: int = Field(default=7, ge=1, le=365)
    community_lease_warn_hours: int = Field(default=24, ge=1, le=24 * 30)
    community_grace_days: int = Field(default=3, ge=0, le=365)
    community_idle_cpu_percent: float = Field(default=2.0, ge=0, le=100)
    community_idle_days: int = Field(default=3, ge=1, le=90)
    community_mining_cpu_percent: float = Field(default=90.0, gt=0, le=100)
    community_mining_hours: int = Field(default=12, ge=1, le=24 * 30)
    community_launch_limit: int = Field(default=10, ge=1, le=100_000)  # launches per tenant
    community_launch_window_seconds: int = Field(default=3600, ge=1, le=7 * 86400)  # ... per
    community_pass_seconds: float = Field(default=60.0, gt=0)  # how often the worker looks
    community_quota: dict[str, int] = Field(
        default_factory=lambda: {"instances": 2, "cores": 2, "ram_mb": 4096, "floating_ips": 1,
                                 "security_groups": 5, "key_pairs": 10}
    )

    @field_validator("regions")
    @classmethod
    def _regions_not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one region is needed")
        return value

    @field_validator("trusted_proxies", "metrics_allow", "webhook_blocked_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # a ValueError names the bad one
        return value

    @property
    def lease_terms(self) -> LeaseTerms:
        """The leader leases' TTL and renew interval (Invalid when renew >= TTL)."""
        return LeaseTerms.of_seconds(self.lease_ttl_seconds, self.lease_renew_seconds)

    @property
    def mail_sender(self) -> str:
        """The From of every mail SWS sends."""
        return self.smtp_sender or self.mail_from

    @property
    def db_url(self) -> str:
        """The database URL: `SWS_DATABASE_URL`, else SQLite under `$SWS_HOME`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'sws.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_toml_path())
        return (init_settings, env_settings, toml)
