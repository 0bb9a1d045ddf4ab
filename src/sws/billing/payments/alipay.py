"""Alipay-style: a page-pay redirect signed with the merchant's RSA key, and the asynchronous
notify verified with Alipay's public key (RSA2: SHA256withRSA, PKCS#1 v1.5).

The notify is a form post. Its signed content is every parameter except `sign` and
`sign_type`, sorted by name, joined as `name=value` with `&` (values decoded). After the
signature, SWS checks `app_id` is this merchant's, `out_trade_no` is an SWS payment and
`total_amount` is its amount. `TRADE_SUCCESS` and `TRADE_FINISHED` are paid, `TRADE_CLOSED`
is closed unpaid (a closed checkout that was paid stays paid: states only move up);
`WAIT_BUYER_PAY` is ignored. Alipay wants the plain text `success` back, else it retries.
Alipay takes CNY only. No trade query yet: the janitor expires a checkout nobody paid, and a
late notify still credits it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sws.billing.payments.model import (
    EXPIRED,
    SUCCEEDED,
    CallbackRejected,
    Checkout,
    PaymentEvent,
    StartedCheckout,
)
from sws.errors import SWSError
from sws.money import Money, parse_amount

NAME = "alipay"
GATEWAY = "https://openapi.alipay.com/gateway.do"
ACK = "success"
_OUTCOMES = {"TRADE_SUCCESS": SUCCEEDED, "TRADE_FINISHED": SUCCEEDED, "TRADE_CLOSED": EXPIRED}


def signed_content(params: Mapping[str, str]) -> bytes:
    """What is signed: the parameters but `sign` and `sign_type`, sorted, `k=v` joined by `&`."""
    kept = sorted((k, v) for k, v in params.items() if k not in ("sign", "sign_type") and v)
    return "&".join(f"{k}={v}" for k, v in kept).encode()


def rsa2_sign(params: Mapping[str, str], key: rsa.RSAPrivateKey) -> str:
    signature = key.sign(signed_content(params), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


class AlipayProvider:
    name = NAME
    label = "Alipay"
    acknowledgement = ACK

    def __init__(self, *, app_id: str, private_key_pem: bytes, alipay_public_key_pem: bytes,
                 notify_url: str, gateway: str = GATEWAY) -> None:
        self.app_id, self.notify_url, self.gateway = app_id, notify_url, gateway
        private = serialization.load_pem_private_key(private_key_pem, password=None)
        public = serialization.load_pem_public_key(alipay_public_key_pem)
        if not isinstance(private, rsa.RSAPrivateKey) or not isinstance(public, rsa.RSAPublicKey):
            raise ValueError("Alipay's RSA2 needs RSA keys")
        self.private_key, self.public_key = private, public

    def start(self, checkout: Checkout, *, return_url: str) -> StartedCheckout:
        """The signed alipay.trade.page.pay redirect for the checkout's amount."""
        params = {
            "app_id": self.app_id, "method": "alipay.trade.page.pay", "charset": "utf-8",
            "sign_type": "RSA2", "version": "1.0", "notify_url": self.notify_url,
            "return_url": return_url,
            "timestamp": checkout.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            "biz_content": json.dumps({
                "out_trade_no": checkout.id, "total_amount": str(checkout.amount.amount),
                "subject": "Cloud account credit", "product_code": "FAST_INSTANT_TRADE_PAY",
            }, separators=(",", ":")),
        }
        params["sign"] = rsa2_sign(params, self.private_key)
        return StartedCheckout(provider_ref=checkout.id,
                               redirect_url=f"{self.gateway}?{urlencode(params)}")

    def verify(self, body: bytes, headers: Mapping[str, str], *, now: datetime
               ) -> PaymentEvent | None:
        params = _form(body)
        self._check_signature(params)
        if params.get("app_id") != self.app_id:
            raise CallbackRejected(f"app_id {params.get('app_id')!r} is not this merchant's")
        outcome = _OUTCOMES.get(params.get("trade_status", ""))
        if outcome is None:
            return None
        try:
            amount = Money(parse_amount(params["total_amount"]), "CNY")
            return PaymentEvent(NAME, params["notify_id"], params["out_trade_no"], outcome,
                                amount, params["out_trade_no"])
        except (KeyError, SWSError) as error:
            raise CallbackRejected(f"malformed Alipay notify: {error!r}"[:200]) from None

    def _check_signature(self, params: Mapping[str, str]) -> None:
        if params.get("sign_type") != "RSA2" or not params.get("sign"):
            raise CallbackRejected("bad signature: an RSA2 sign is required")
        try:
            signature = base64.b64decode(params["sign"], validate=True)
            self.public_key.verify(signature, signed_content(params), padding.PKCS1v15(),
                                   hashes.SHA256())
        except (InvalidSignature, ValueError):
            raise CallbackRejected("bad signature: RSA2 verification failed") from None

    def lookup(self, checkout: Checkout) -> str | None:
        return None


def _form(body: bytes) -> dict[str, str]:
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
    except (UnicodeDecodeError, ValueError):
        raise CallbackRejected("malformed Alipay notify: not a form") from None
