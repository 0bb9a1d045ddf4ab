"""Alipay-style: a page-pay redirect signed with the merchant's RSA key, the asynchronous
notify verified with Alipay's public key (RSA2: SHA256withRSA, PKCS#1 v1.5), and two calls to
Alipay's open API: `alipay.trade.query` (the janitor asks where a stale checkout stands) and
`alipay.trade.refund` (an admin's refund).

The notify is a form post. Its signed content is every parameter except `sign` and
`sign_type`, sorted by name, joined as `name=value` with `&` (values decoded). After the
signature, SWS checks `app_id` is this merchant's, `out_trade_no` is an SWS payment and
`total_amount` is its amount. `TRADE_SUCCESS` and `TRADE_FINISHED` are paid, `TRADE_CLOSED`
is closed unpaid (a closed checkout that was paid stays paid: states only move up);
`WAIT_BUYER_PAY` is ignored. Alipay wants the plain text `success` back, else it retries.
Alipay takes CNY only.

A request to the open API is a form post to the gateway: the common parameters (`app_id`,
`method`, `charset`, `sign_type=RSA2`, `timestamp` in Beijing time, `version`) and
`biz_content` (JSON), signed over every non-empty parameter but `sign`, sorted and joined as
above. Alipay answers `{"<method>_response": {...}, "sign": "..."}`; the signature covers the
response object's raw JSON text exactly as sent, and is verified with Alipay's public key
before anything in it is believed. Code `10000` is success. The query's `WAIT_BUYER_PAY` keeps
a checkout pending; `ACQ.TRADE_NOT_EXIST` (the payer never reached Alipay) lets the janitor
expire it. A refund carries `out_request_no` = SWS's refund id, so a retry is the same refund.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sws.billing.payments.model import (
    EXPIRED,
    PENDING,
    SUCCEEDED,
    CallbackRejected,
    Checkout,
    PaymentEvent,
    Refund,
    StartedCheckout,
)
from sws.clock import Clock, SystemClock
from sws.errors import Invalid, SWSError, Unavailable
from sws.money import Money, parse_amount

NAME = "alipay"
GATEWAY = "https://openapi.alipay.com/gateway.do"
ACK = "success"
BEIJING = ZoneInfo("Asia/Shanghai")  # Alipay reads `timestamp` as Beijing time
PAY_TIMEOUT = "60m"  # Alipay closes an unpaid trade after this; its query then says so
_OUTCOMES = {"TRADE_SUCCESS": SUCCEEDED, "TRADE_FINISHED": SUCCEEDED, "TRADE_CLOSED": EXPIRED}
_QUERY_OUTCOMES = {**_OUTCOMES, "WAIT_BUYER_PAY": PENDING}
OK = "10000"
_UNSURE = ("20000", "20001")  # service unavailable, authorisation: ask again later
NOT_EXIST = "ACQ.TRADE_NOT_EXIST"


def signed_content(params: Mapping[str, str]) -> bytes:
    """What a notify signs: the parameters but `sign` and `sign_type`, sorted, `k=v` joined
    by `&`."""
    kept = sorted((k, v) for k, v in params.items() if k not in ("sign", "sign_type") and v)
    return "&".join(f"{k}={v}" for k, v in kept).encode()


def request_content(params: Mapping[str, str]) -> bytes:
    """What a request signs: every non-empty parameter but `sign` (`sign_type` included)."""
    kept = sorted((k, v) for k, v in params.items() if k != "sign" and v)
    return "&".join(f"{k}={v}" for k, v in kept).encode()


def rsa2_sign(params: Mapping[str, str], key: rsa.RSAPrivateKey) -> str:
    """The RSA2 signature of a notify's content (what Alipay sends)."""
    return rsa2(signed_content(params), key)


def rsa2(content: bytes, key: rsa.RSAPrivateKey) -> str:
    signature = key.sign(content, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def response_content(text: str, method: str) -> tuple[str, dict[str, Any], str | None]:
    """The raw JSON text of `<method>_response` (or `error_response`) in an answer, the object
    it spells, and the answer's `sign`."""
    answer = json.loads(text)
    name = method.replace(".", "_") + "_response"
    if name not in answer:
        name = "error_response"
    start = text.index(f'"{name}"')
    start = text.index(":", start + len(name) + 2) + 1
    while text[start].isspace():
        start += 1
    found, end = json.JSONDecoder().raw_decode(text, start)
    sign = answer.get("sign")
    return text[start:end], found, sign if isinstance(sign, str) else None


class AlipayProvider:
    name = NAME
    label = "Alipay"
    acknowledgement = ACK

    def __init__(self, *, app_id: str, private_key_pem: bytes, alipay_public_key_pem: bytes,
                 notify_url: str, gateway: str = GATEWAY, clock: Clock | None = None,
                 http: httpx.Client | None = None) -> None:
        self.app_id, self.notify_url, self.gateway = app_id, notify_url, gateway
        private = serialization.load_pem_private_key(private_key_pem, password=None)
        public = serialization.load_pem_public_key(alipay_public_key_pem)
        if not isinstance(private, rsa.RSAPrivateKey) or not isinstance(public, rsa.RSAPublicKey):
            raise ValueError("Alipay's RSA2 needs RSA keys")
        self.private_key, self.public_key = private, public
        self.clock = clock or SystemClock()
        self.http = http or httpx.Client(timeout=10.0)

    def start(self, checkout: Checkout, *, return_url: str) -> StartedCheckout:
        """The signed alipay.trade.page.pay redirect for the checkout's amount."""
        params = self._common("alipay.trade.page.pay", checkout.created_at, {
            "out_trade_no": checkout.id, "total_amount": str(checkout.amount.amount),
            "subject": "Cloud account credit", "product_code": "FAST_INSTANT_TRADE_PAY",
            "timeout_express": PAY_TIMEOUT,
        })
        params.update(notify_url=self.notify_url, return_url=return_url)
        params["sign"] = rsa2(request_content(params), self.private_key)
        return StartedCheckout(provider_ref=checkout.id,
                               redirect_url=f"{self.gateway}?{urlencode(params)}")

    def _common(self, method: str, at: datetime, biz: Mapping[str, str]) -> dict[str, str]:
        return {
            "app_id": self.app_id, "method": method, "charset": "utf-8", "sign_type": "RSA2",
            "version": "1.0",
            "timestamp": at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            "biz_content": json.dumps(biz, separators=(",", ":"), ensure_ascii=False),
        }

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
        if not self._genuine(signed_content(params), params["sign"]):
            raise CallbackRejected("bad signature: RSA2 verification failed")

    def _genuine(self, content: bytes, sign: str) -> bool:
        try:
            self.public_key.verify(base64.b64decode(sign, validate=True), content,
                                   padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True

    def lookup(self, checkout: Checkout) -> str | None:
        """`alipay.trade.query`: paid, closed, still waiting for the buyer (pending), or None
        when Alipay never saw the trade (the janitor expires it)."""
        found = self._call("alipay.trade.query", {"out_trade_no": checkout.id})
        if found.get("sub_code") == NOT_EXIST:
            return None
        _check_code(found, "trade query")
        if found.get("out_trade_no") != checkout.id:
            raise Unavailable(f"Alipay answered for trade {found.get('out_trade_no')!r}",
                              field="provider")
        outcome = _QUERY_OUTCOMES.get(str(found.get("trade_status")))
        if outcome == SUCCEEDED and _amount(found, "total_amount") != checkout.amount:
            raise Unavailable(f"Alipay reports {found.get('total_amount')} paid for "
                              f"{checkout.id}, not {checkout.amount}", field="provider")
        return outcome

    def refund(self, checkout: Checkout, refund: Refund) -> str:
        """`alipay.trade.refund` of `refund.amount`, once per SWS refund id (out_request_no)."""
        found = self._call("alipay.trade.refund", {
            "out_trade_no": checkout.id, "refund_amount": str(refund.amount.amount),
            "out_request_no": refund.id, "refund_reason": refund.reason[:256],
        })
        _check_code(found, "refund")
        return f"{found.get('trade_no', checkout.id)}/{refund.id}"

    def _call(self, method: str, biz: Mapping[str, str]) -> dict[str, Any]:
        """One signed open-API request; the verified response object."""
        params = self._common(method, self.clock.now(), biz)
        params["sign"] = rsa2(request_content(params), self.private_key)
        try:
            answer = self.http.post(self.gateway, data=params, headers={
                "Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})
            raw, found, sign = response_content(answer.text, method)
        except (httpx.HTTPError, ValueError) as error:
            raise Unavailable(f"Alipay did not answer: {type(error).__name__}",
                              field="provider") from None
        if sign is None or not self._genuine(raw.encode(), sign):  # unbelieved: ask again
            said = f"{found.get('code')} {found.get('sub_msg') or found.get('msg')}"
            raise Unavailable(f"Alipay's answer is not signed by Alipay ({said})"[:200],
                              field="provider")
        return found


def _check_code(found: Mapping[str, Any], what: str) -> None:
    """Success goes on; Alipay busy is Unavailable (ask again); a refusal is Invalid."""
    code = str(found.get("code"))
    if code == OK:
        return
    said = f"{found.get('sub_code') or code}: {found.get('sub_msg') or found.get('msg')}"
    if code in _UNSURE or "SYSTEM_ERROR" in str(found.get("sub_code")):
        raise Unavailable(f"Alipay {what} did not go through ({said})"[:200], field="provider")
    raise Invalid(f"Alipay refused the {what}: {said}"[:200], field="provider")


def _amount(found: Mapping[str, Any], name: str) -> Money | None:
    try:
        return Money(parse_amount(str(found.get(name))), "CNY")
    except SWSError:
        return None


def _form(body: bytes) -> dict[str, str]:
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
    except (UnicodeDecodeError, ValueError):
        raise CallbackRejected("malformed Alipay notify: not a form") from None
