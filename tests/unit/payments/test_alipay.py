"""The Alipay-style adapter: RSA2-signed notifies verified with Alipay's public key, then
out_trade_no, app_id and amount checked; the page-pay redirect signed with the merchant key."""

from __future__ import annotations

import base64
from dataclasses import replace
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sws.billing.payments.alipay import AlipayProvider, request_content, rsa2_sign
from sws.billing.payments.model import Checkout
from sws.billing.payments.service import CallbackRefused, PaymentSetup
from sws.errors import NotFound
from tests.unit.payments.conftest import REGION, Till

MERCHANT = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ALIPAY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
APP_ID = "2021000000000001"


def _pem_private(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem_public(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture
def alipay_till(till: Till) -> Till:
    provider = AlipayProvider(
        app_id=APP_ID, private_key_pem=_pem_private(MERCHANT),
        alipay_public_key_pem=_pem_public(ALIPAY),
        notify_url="https://cloud.example/v1/payments/callbacks/alipay")
    till.setup = PaymentSetup(providers={**till.setup.providers, "alipay": provider},
                              regions={REGION: ("test", "alipay")})
    return till


def notify(checkout: Checkout, *, status: str = "TRADE_SUCCESS", amount: str | None = None,
           notify_id: str = "n1", key: rsa.RSAPrivateKey = ALIPAY, **extra: str) -> bytes:
    """An async notify as Alipay posts it, signed with `key` (Alipay's, unless forged)."""
    params = {
        "notify_time": "2026-01-05 09:01:00", "notify_type": "trade_status_sync",
        "notify_id": notify_id, "app_id": APP_ID, "charset": "utf-8", "version": "1.0",
        "sign_type": "RSA2", "trade_no": "2026010522001", "out_trade_no": checkout.id,
        "total_amount": amount or str(checkout.amount.amount), "trade_status": status, **extra,
    }
    params["sign"] = rsa2_sign(params, key)
    return urlencode(params).encode()


def test_a_signed_trade_success_credits_the_amount(alipay_till: Till) -> None:
    checkout = alipay_till.checkout("128.00", provider="alipay")

    applied = alipay_till.deliver("alipay", notify(checkout), {})

    assert applied is not None and applied.credited
    assert alipay_till.balance() == Decimal("128")


def test_a_replayed_notify_credits_nothing_more(alipay_till: Till) -> None:
    checkout = alipay_till.checkout("128.00", provider="alipay")
    alipay_till.deliver("alipay", notify(checkout), {})
    again = alipay_till.deliver("alipay", notify(checkout), {})
    assert again is not None and again.duplicate and alipay_till.balance() == Decimal("128")


@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        ("tampered", "bad signature"),
        ("signed_by_someone_else", "bad signature"),
        ("wrong_amount", "amount 1.00 CNY does not match"),
        ("wrong_app", "app_id '2099' is not this merchant's"),
    ],
)
def test_a_notify_that_cannot_be_believed_credits_nothing(
    alipay_till: Till, forge: str, reason: str
) -> None:
    checkout = alipay_till.checkout("128.00", provider="alipay")
    body = {
        "tampered": notify(checkout).replace(b"total_amount=128.00", b"total_amount=1280.00"),
        "signed_by_someone_else": notify(checkout, key=MERCHANT),
        "wrong_amount": notify(checkout, amount="1.00"),
        "wrong_app": notify(checkout, app_id="2099"),
    }[forge]

    with pytest.raises(CallbackRefused):
        alipay_till.deliver("alipay", body, {})

    assert alipay_till.balance() == 0 and alipay_till.dead_letters()[0].startswith(reason)


def test_a_notify_for_an_unknown_trade_is_refused(alipay_till: Till) -> None:
    checkout = alipay_till.checkout("128.00", provider="alipay")
    other = replace(checkout, id="pay_unknown")
    with pytest.raises(CallbackRefused):
        alipay_till.deliver("alipay", notify(other), {})
    assert alipay_till.dead_letters() == ["unknown payment 'pay_unknown'"]


def test_waiting_for_the_buyer_is_ignored_and_closed_expires(alipay_till: Till) -> None:
    checkout = alipay_till.checkout("9.90", provider="alipay")
    assert alipay_till.deliver("alipay", notify(checkout, status="WAIT_BUYER_PAY"), {}) is None
    alipay_till.deliver("alipay", notify(checkout, status="TRADE_CLOSED", notify_id="n2"), {})
    assert alipay_till.state(checkout) == "expired" and alipay_till.balance() == 0


def test_the_page_pay_redirect_is_signed_with_the_merchant_key(alipay_till: Till) -> None:
    checkout = alipay_till.checkout("128.00", provider="alipay")
    assert checkout.redirect_url is not None
    params = dict(parse_qsl(urlsplit(checkout.redirect_url).query))
    assert params["method"] == "alipay.trade.page.pay" and params["app_id"] == APP_ID
    assert f'"out_trade_no":"{checkout.id}"' in params["biz_content"]
    assert '"total_amount":"128.00"' in params["biz_content"]
    assert params["sign_type"] == "RSA2" and params["charset"] == "utf-8"
    # a request's signature covers sign_type too (a notify's does not)
    MERCHANT.public_key().verify(base64.b64decode(params["sign"]), request_content(params),
                                 padding.PKCS1v15(), hashes.SHA256())


def test_a_form_that_is_no_form_is_refused(alipay_till: Till) -> None:
    with pytest.raises((CallbackRefused, NotFound)):
        alipay_till.deliver("alipay", b"\xff\xfe", {})
