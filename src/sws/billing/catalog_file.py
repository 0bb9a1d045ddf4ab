"""The catalog file (`sws catalog load prices.yaml`): prices, stopped policies and settings.

Format (see `sws/billing/prices.yaml`, the sample that ships with SWS):

    region: "*"                        # default region of every line
    valid_from: "2026-01-01T00:00:00Z" # default start of every line
    settings: {grace_hours: 72, close_delay_hours: 72, low_balance_threshold: "10"}
    policies: {instance: {charge_stopped: true, charge_offloaded: false}}
    prices:
      - {item: instance, item_type: m1.small, payment_type: per_started_hour,
         price: {CNY: "0.42", EUR: "0.05"}, monthly_cap: {CNY: "300"}}

Amounts are strings or integers, never YAML floats. Every error names the offending field,
e.g. `prices[3].price.CNY` or `settings.grace_hours`. `parse` checks every part, settings
included, before anything is written, so a file with any bad part loads nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from math import isfinite
from typing import Any

import yaml

from sws.billing.model import ANY_REGION, DEFAULT_POLICIES, Product, make_product
from sws.errors import Invalid
from sws.money import check_currency

SETTINGS = ("grace_hours", "close_delay_hours", "low_balance_threshold", "default_currency")
HOURS = ("grace_hours", "close_delay_hours")


@dataclass(frozen=True, slots=True)
class CatalogFile:
    products: tuple[Product, ...]
    settings: dict[str, str]


def parse(text: str) -> CatalogFile:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Invalid(f"not YAML: {exc}", field="file") from exc
    if not isinstance(document, dict) or not isinstance(document.get("prices"), list):
        raise Invalid("a catalog is a mapping with a `prices` list", field="prices")
    region = str(document.get("region", ANY_REGION))
    start = _moment(document.get("valid_from", "2020-01-01T00:00:00Z"), "valid_from")
    products: list[Product] = []
    for index, line in enumerate(document["prices"]):
        products += _line(line, f"prices[{index}]", region, start)
    return CatalogFile(tuple(products), _settings(document))


def _line(line: Any, where: str, region: str, start: datetime) -> list[Product]:
    if not isinstance(line, dict) or not isinstance(line.get("price"), dict):
        raise Invalid("a price line is a mapping with `price: {CURRENCY: amount}`", field=where)
    caps = line.get("monthly_cap") or {}
    made = []
    for currency, amount in line["price"].items():
        try:
            made.append(
                make_product(
                    region=str(line.get("region", region)),
                    item=str(line.get("item")),
                    item_type=str(line.get("item_type", "standard")),
                    payment_type=str(line.get("payment_type")),
                    price=decimal(amount, f"{where}.price.{currency}"),
                    currency=str(currency),
                    valid_from=_moment(line.get("valid_from", start), f"{where}.valid_from"),
                    monthly_cap=decimal(caps[currency], f"{where}.monthly_cap.{currency}")
                    if currency in caps
                    else None,
                )
            )
        except Invalid as exc:
            named = (exc.field or "").startswith(where)
            raise Invalid(exc.detail, field=exc.field if named else f"{where}.{exc.field}") from exc
    return made


def decimal(value: Any, field: str) -> Decimal:
    """An amount from YAML or JSON: a string or an integer; a float is refused."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Invalid(f'write amounts as strings, e.g. "0.42" (got {value!r})', field=field)
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise Invalid(f"{value!r} is not an amount", field=field) from exc


def _moment(value: Any, field: str) -> datetime:
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise Invalid(f"{value!r} is not an ISO-8601 time", field=field) from exc
    if moment.tzinfo is None:
        raise Invalid("times need a zone, e.g. 2026-01-01T00:00:00Z", field=field)
    return moment


def _settings(document: dict[str, Any]) -> dict[str, str]:
    given = document.get("settings") or {}
    if not isinstance(given, dict):
        raise Invalid("settings is a mapping, e.g. {grace_hours: 72}", field="settings")
    values = {k: _setting(k, v, f"settings.{k}") for k, v in given.items() if k in SETTINGS}
    policies = document.get("policies") or {}
    if not isinstance(policies, dict):
        raise Invalid("policies is a mapping of item to stopped policy", field="policies")
    for item, policy in policies.items():
        if item not in DEFAULT_POLICIES or not isinstance(policy, dict):
            raise Invalid(f"no stopped policy for {item!r}", field=f"policies.{item}")
        for name in ("charge_stopped", "charge_offloaded"):
            if name in policy:
                values[f"{item}.{name}"] = str(bool(policy[name]))
    return values


def _setting(name: str, value: Any, field: str) -> str:
    """A setting as stored, once it has been checked the way `BillingPolicy` will read it."""
    if name in HOURS:
        return str(_hours(value, field))
    if name == "low_balance_threshold":
        amount = decimal(value, field)
        if not amount.is_finite():
            raise Invalid(f"{value!r} is not an amount", field=field)
        return str(amount)
    try:
        return check_currency(str(value))
    except Invalid as exc:
        raise Invalid(exc.detail, field=field) from exc


def _hours(value: Any, field: str) -> int | float:
    try:
        hours = float(str(value)) if not isinstance(value, bool) else float("nan")
    except ValueError:
        hours = float("nan")
    if not isfinite(hours) or hours < 0:
        raise Invalid(f"{value!r} is not a number of hours (0 or more)", field=field)
    return int(hours) if hours.is_integer() else hours
