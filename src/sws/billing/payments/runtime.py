"""Payments as the composition root wires them: the providers per region, and the janitor
that the ticker runs at most every `every`."""

from __future__ import annotations

from datetime import timedelta

from sws.billing.invoices.model import Party
from sws.billing.invoices.service import Issuing
from sws.billing.payments import service
from sws.billing.payments.model import TEST_PROVIDER, PaymentProvider
from sws.billing.payments.service import PaymentSetup
from sws.billing.payments.testprovider import TestProvider
from sws.clock import Cadence, Clock
from sws.config import AlipaySettings, Settings
from sws.db.engine import Database


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
            tolerance=stripe.tolerance_seconds, money=api)
    if settings.payments_alipay is not None:
        providers["alipay"] = _alipay(settings.payments_alipay)
    default = (TEST_PROVIDER,) if settings.driver == "simulated" else ()
    regions = {r: tuple(settings.payments[r].providers) if r in settings.payments else default
               for r in settings.regions}
    currencies = {r: tuple(c.currencies) for r, c in settings.payments.items()}
    return PaymentSetup(providers=providers, regions=regions, currencies=currencies,
                        pending_timeout=timedelta(seconds=settings.payments_pending_timeout_seconds),
                        issuing=issuing(settings))


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
    """Runs the janitor when it falls due; `tick()` is called by the container's ticker."""

    def __init__(self, *, db: Database, clock: Clock, setup: PaymentSetup,
                 every: timedelta) -> None:
        self.db, self.clock, self.setup = db, clock, setup
        self.cadence = Cadence(every)

    def tick(self) -> int:
        if not self.cadence.due(self.clock.now()):
            return 0
        return service.run_janitor(db=self.db, clock=self.clock, setup=self.setup)
