"""Alipay's open API (`alipay.trade.query` for the janitor, `alipay.trade.refund` for refunds)
against a small local gateway: it checks each request's RSA2 signature with SWS's public key as
Alipay does, and signs its answers with its own key, which SWS verifies. Real RSA keys, real
HTTP, no mocks."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sws.billing.payments import refunds
from sws.billing.payments import service as payments
from sws.billing.payments.alipay import AlipayProvider
from sws.billing.payments.model import Checkout, RefundSpec
from sws.billing.payments.service import PaymentSetup
from sws.clock import SimulatedClock
from sws.errors import Invalid
from sws.money import Money
from tests.unit.payments.conftest import REGION, Till, till  # noqa: F401
from tests.unit.payments.test_alipay import ALIPAY, APP_ID, MERCHANT, _pem_private, _pem_public


@dataclass
class Gateway:
    """Alipay's side: its trades, the requests it believed, and its signing key."""

    clock: SimulatedClock
    trades: dict[str, dict[str, str]] = field(default_factory=dict)
    refunds: dict[str, str] = field(default_factory=dict)  # out_request_no -> amount
    believed: list[dict[str, str]] = field(default_factory=list)
    key: rsa.RSAPrivateKey = ALIPAY

    def answer(self, params: dict[str, str]) -> str:
        if not self._signed_by_merchant(params) or params.get("app_id") != APP_ID:
            return json.dumps({"error_response": {
                "code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"}})
        self.believed.append(params)
        biz = json.loads(params["biz_content"])
        found = (self._query(biz) if params["method"] == "alipay.trade.query"
                 else self._refund(biz))
        raw = json.dumps(found, ensure_ascii=False)
        name = params["method"].replace(".", "_") + "_response"
        return f'{{"{name}":{raw},"sign":"{self._sign(raw)}"}}'

    def _signed_by_merchant(self, params: dict[str, str]) -> bool:
        """Alipay's rule: every non-empty parameter but sign, sorted, k=v joined with &."""
        content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v)
        when = datetime.strptime(params.get("timestamp", "") + " +0800", "%Y-%m-%d %H:%M:%S %z")
        fresh = abs(when - self.clock.now()) < timedelta(minutes=15)
        try:
            MERCHANT.public_key().verify(base64.b64decode(params["sign"]), content.encode(),
                                         padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, KeyError):
            return False
        return fresh and params["sign_type"] == "RSA2" and params["charset"] == "utf-8"

    def _query(self, biz: dict[str, str]) -> dict[str, str]:
        trade = self.trades.get(biz["out_trade_no"])
        if trade is None:
            return {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST",
                    "sub_msg": "交易不存在"}
        return {"code": "10000", "msg": "Success", "out_trade_no": biz["out_trade_no"], **trade}

    def _refund(self, biz: dict[str, str]) -> dict[str, str]:
        trade = self.trades[biz["out_trade_no"]]
        if trade["trade_status"] != "TRADE_SUCCESS":
            return {"code": "40004", "msg": "Business Failed",
                    "sub_code": "ACQ.TRADE_STATUS_ERROR", "sub_msg": "交易状态不合法"}
        fresh = biz["out_request_no"] not in self.refunds
        self.refunds.setdefault(biz["out_request_no"], biz["refund_amount"])
        return {"code": "10000", "msg": "Success", "trade_no": trade["trade_no"],
                "out_trade_no": biz["out_trade_no"], "fund_change": "Y" if fresh else "N",
                "refund_fee": str(sum(Decimal(a) for a in self.refunds.values()))}

    def _sign(self, raw: str) -> str:
        signature = self.key.sign(raw.encode(), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()


class _Handler(BaseHTTPRequestHandler):
    gateway: Gateway

    def log_message(self, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        params = dict(parse_qsl(self.rfile.read(length).decode("utf-8")))
        data = self.gateway.answer(params).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def gateway(till: Till) -> Iterator[tuple[Gateway, str]]:  # noqa: F811
    state = Gateway(till.clock)
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 type("Handler", (_Handler,), {"gateway": state}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/gateway.do"
    server.shutdown()
    server.server_close()


def _alipay(url: str, clock: SimulatedClock, key: rsa.RSAPrivateKey = MERCHANT) -> AlipayProvider:
    return AlipayProvider(
        app_id=APP_ID, private_key_pem=_pem_private(key),
        alipay_public_key_pem=_pem_public(ALIPAY),
        notify_url="https://cloud.example/v1/payments/callbacks/alipay", gateway=url,
        clock=clock)


@pytest.fixture
def alipay_till(till: Till, gateway: tuple[Gateway, str]) -> Till:  # noqa: F811
    till.setup = PaymentSetup(providers={**till.setup.providers,
                                         "alipay": _alipay(gateway[1], till.clock)},
                              regions={REGION: ("test", "alipay")},
                              pending_timeout=timedelta(hours=1))
    return till


def _at_alipay(gateway: Gateway, checkout: Checkout, status: str) -> None:
    gateway.trades[checkout.id] = {"trade_status": status, "trade_no": "2026010522001",
                                   "total_amount": str(checkout.amount.amount)}


def _janitor_after_an_hour(shop: Till) -> int:
    shop.clock.advance(timedelta(hours=1, minutes=1))
    return payments.run_janitor(db=shop.db, clock=shop.clock, setup=shop.setup)


def test_the_janitor_credits_a_trade_alipay_reports_paid(
    alipay_till: Till, gateway: tuple[Gateway, str]
) -> None:
    checkout = alipay_till.checkout("128.00", provider="alipay")
    _at_alipay(gateway[0], checkout, "TRADE_SUCCESS")  # the notify never arrived

    assert _janitor_after_an_hour(alipay_till) == 1

    assert alipay_till.state(checkout) == "succeeded" and alipay_till.balance() == Decimal("128")
    asked = gateway[0].believed[0]
    assert asked["method"] == "alipay.trade.query" and asked["sign_type"] == "RSA2"
    assert json.loads(asked["biz_content"]) == {"out_trade_no": checkout.id}


def test_a_buyer_still_paying_stays_pending_until_alipay_closes_the_trade(
    alipay_till: Till, gateway: tuple[Gateway, str]
) -> None:
    checkout = alipay_till.checkout("9.90", provider="alipay")
    _at_alipay(gateway[0], checkout, "WAIT_BUYER_PAY")

    assert _janitor_after_an_hour(alipay_till) == 0
    assert alipay_till.state(checkout) == "pending"

    _at_alipay(gateway[0], checkout, "TRADE_CLOSED")
    assert _janitor_after_an_hour(alipay_till) == 1
    assert alipay_till.state(checkout) == "expired" and alipay_till.balance() == 0


def test_a_trade_alipay_never_saw_is_expired(alipay_till: Till) -> None:
    checkout = alipay_till.checkout("9.90", provider="alipay")

    assert _janitor_after_an_hour(alipay_till) == 1

    assert alipay_till.state(checkout) == "expired"


def test_an_answer_not_signed_by_alipay_is_not_believed(
    alipay_till: Till, gateway: tuple[Gateway, str]
) -> None:
    checkout = alipay_till.checkout("128.00", provider="alipay")
    _at_alipay(gateway[0], checkout, "TRADE_SUCCESS")
    gateway[0].key = MERCHANT  # someone in the middle, not Alipay

    assert _janitor_after_an_hour(alipay_till) == 0

    assert alipay_till.state(checkout) == "pending" and alipay_till.balance() == 0


def test_a_request_signed_with_another_key_is_refused_by_alipay(
    alipay_till: Till, gateway: tuple[Gateway, str]
) -> None:
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    alipay_till.setup = PaymentSetup(
        providers={"alipay": _alipay(gateway[1], alipay_till.clock, impostor)},
        regions={REGION: ("alipay",)}, pending_timeout=timedelta(hours=1))
    checkout = alipay_till.checkout("128.00", provider="alipay")
    _at_alipay(gateway[0], checkout, "TRADE_SUCCESS")

    assert _janitor_after_an_hour(alipay_till) == 0

    assert gateway[0].believed == [] and alipay_till.state(checkout) == "pending"


def _paid(shop: Till, gateway: Gateway, amount: str) -> Checkout:
    checkout = shop.checkout(amount, provider="alipay")
    _at_alipay(gateway, checkout, "TRADE_SUCCESS")
    _janitor_after_an_hour(shop)
    return checkout


def _spec(checkout: Checkout, amount: str, key: str = "r1") -> RefundSpec:
    return RefundSpec(payment_id=checkout.id, amount=Money.of(amount, "CNY"),
                      idempotency_key=key, reason="ordered twice", actor="admin")


def test_an_alipay_refund_gives_back_part_of_the_trade_once(
    alipay_till: Till, gateway: tuple[Gateway, str]
) -> None:
    checkout = _paid(alipay_till, gateway[0], "128.00")

    refund = refunds.refund_payment(db=alipay_till.db, clock=alipay_till.clock,
                                    setup=alipay_till.setup, spec=_spec(checkout, "28.00"))

    assert refund.state == "succeeded" and refund.provider_ref == f"2026010522001/{refund.id}"
    assert gateway[0].refunds == {refund.id: "28.00"}
    assert alipay_till.balance() == Decimal("100")
    asked = json.loads(gateway[0].believed[-1]["biz_content"])
    assert asked["out_request_no"] == refund.id and asked["refund_reason"] == "ordered twice"


def test_an_alipay_refund_retried_after_a_crash_is_the_same_refund(
    alipay_till: Till, gateway: tuple[Gateway, str]
) -> None:
    checkout = _paid(alipay_till, gateway[0], "128.00")
    pending = refunds._reserve(alipay_till.db, alipay_till.clock, _spec(checkout, "128.00"))
    provider = alipay_till.setup.providers["alipay"]
    assert isinstance(provider, AlipayProvider)
    provider.refund(checkout, pending)  # Alipay refunded; SWS died before recording it

    alipay_till.clock.advance(timedelta(minutes=10))
    done = refunds.retry_pending(db=alipay_till.db, clock=alipay_till.clock,
                                 setup=alipay_till.setup)

    assert done == 1 and gateway[0].refunds == {pending.id: "128.00"}
    assert alipay_till.balance() == Decimal("0")


def test_a_refund_alipay_refuses_fails_and_debits_nothing(
    alipay_till: Till, gateway: tuple[Gateway, str]
) -> None:
    checkout = _paid(alipay_till, gateway[0], "50.00")
    gateway[0].trades[checkout.id]["trade_status"] = "TRADE_FINISHED"  # past refunding

    with pytest.raises(Invalid, match=r"ACQ\.TRADE_STATUS_ERROR"):
        refunds.refund_payment(db=alipay_till.db, clock=alipay_till.clock,
                               setup=alipay_till.setup, spec=_spec(checkout, "10.00"))

    failed = refunds.list_refunds(db=alipay_till.db, payment_id=checkout.id)
    assert [r.state for r in failed] == ["failed"] and alipay_till.balance() == Decimal("50")
