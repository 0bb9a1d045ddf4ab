"""Payments as the composition root wires them: providers, sellers and tax per region, and
the periodic work (janitor, refunds, invoices, auto-recharge) the ticker runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta

from sws.billing.invoices import service as documents
from sws.billing.invoices.model import Party
from sws.billing.invoices.service import Issuing
from sws.billing.payments import autorecharge, refunds, service
from sws.billing.payments.group import GroupCommit
from sws.billing.payments.model import TEST_PROVIDER, PaymentProvider
from sws.billing.payments.service import PaymentSetup
from sws.billing.payments.testprovider import TestProvider
from sws.clock import Cadence, Clock
from sws.config import AlipaySettings, Settings
from sws.db.engine import Database
from sws.drivers.base import CloudDriver


def build_setup(settings: Settings) -> PaymentSetup:
    """The providers the settings name, each region's offer and currencies."""
    providers: dict[str, PaymentProvider] = {
        TEST_PROVIDER: TestProvider(secret=settings.payments_test_secret)
    }
    if settings.payments_stripe is not None:
        from sws.billing.payments.stripe_checkout import StripeApi, StripeProvider

        stripe = settings.payments_stripe
        api = StripeApi(stripe.secret_key, stripe.api_base)
        providers["stripe"] = StripeProvider(
            sessions=api, webhook_secret=stripe.webhook_secret,
            tolerance=stripe.tolerance_seconds, money=api, cards=api)
    if settings.payments_alipay is not None:
        providers["alipay"] = _alipay(settings.payments_alipay)
    default = (TEST_PROVIDER,) if settings.driver == "simulated" else ()
    regions = {r: tuple(settings.payments[r].providers) if r in settings.payments else default
               for r in settings.regions}
    currencies = {r: tuple(c.currencies) for r, c in settings.payments.items()}
    return PaymentSetup(providers=providers, regions=regions, currencies=currencies,
                        pending_timeout=timedelta(seconds=settings.payments_pending_timeout_seconds),
                        issuing=issuing(settings), group=GroupCommit())


def issuing(settings: Settings) -> Issuing:
    """Each region's seller and tax rate, for its documents."""
    return Issuing(
        home=settings.regions[0],
        sellers={r: Party(c.seller_name, c.seller_address, c.seller_tax_id)
                 for r, c in settings.payments.items()},
        tax_rates={r: c.tax_rate for r, c in settings.payments.items()},
    )


def _alipay(alipay: AlipaySettings) -> PaymentProvider:
    from sws.billing.payments.alipay import AlipayProvider

    return AlipayProvider(
        app_id=alipay.app_id, private_key_pem=alipay.private_key_file.read_bytes(),
        alipay_public_key_pem=alipay.alipay_public_key_file.read_bytes(),
        notify_url=alipay.notify_url, gateway=alipay.gateway)


class PaymentsRuntime:
    """Runs, when they fall due, the janitor, the retry of pending refunds, the invoices of
    months closed since, and the auto-recharge sweep; `tick()` is called by the ticker."""

    def __init__(self, *, db: Database, clock: Clock, setup: PaymentSetup,
                 every: timedelta,
                 drivers: Callable[[], Mapping[str, CloudDriver]] | None = None) -> None:
        self.db, self.clock, self.setup = db, clock, setup
        self.cadence = Cadence(every)
        self.drivers = drivers or dict

    def tick(self) -> int:
        if not self.cadence.due(self.clock.now()):
            return 0
        done = service.run_janitor(db=self.db, clock=self.clock, setup=self.setup)
        done += refunds.retry_pending(db=self.db, clock=self.clock, setup=self.setup)
        done += len(documents.issue_month_invoices(db=self.db, clock=self.clock,
                                                   issuing=self.issuing))
        return done + autorecharge.sweep(db=self.db, clock=self.clock, setup=self.setup,
                                         drivers=self.drivers())

    @property
    def issuing(self) -> Issuing:
        return self.setup.issuing or Issuing(home=next(iter(self.setup.regions), "RegionOne"))
