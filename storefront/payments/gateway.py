"""The payment gateway contract: what Gerai asks of any gateway, and what it gets back.

Amounts here are whole rupiah; an adapter converts to its gateway's minor units.
Gateways are chosen by name from configuration (``PAYMENT_GATEWAY``); each
registers a factory in ``GATEWAYS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from flask_babel import lazy_gettext as _l

# A payment's state as Gerai sees it, whatever the gateway calls it.
PENDING = "pending"  # created, the shopper has not finished paying
PAID = "paid"
FAILED = "failed"  # declined
EXPIRED = "expired"  # the payment page timed out
CANCELLED = "cancelled"  # we (or the gateway) cancelled it
FINAL_STATES = (PAID, FAILED, EXPIRED, CANCELLED)


class PaymentError(Exception):
    """Base of every gateway failure; ``message`` is safe to show the shopper."""

    message = _l("Pembayaran tidak dapat diproses.")

    def __init__(self, message: str | None = None, *, detail: str | None = None):
        super().__init__(str(detail or message or self.message))
        if message:
            self.message = message


class PaymentDeclined(PaymentError):
    message = _l("Pembayaran ditolak. Coba metode lain.")


class ActionRequired(PaymentError):
    """The shopper must do something at the gateway (3-D Secure, a bank app): go to ``url``."""

    def __init__(self, url: str, message: str | None = None):
        super().__init__(message or _l("Selesaikan pembayaran di halaman gateway."))
        self.url = url


class GatewayUnavailable(PaymentError):
    message = _l("Layanan pembayaran sedang tidak tersedia. Keranjang Anda aman; coba lagi sebentar lagi.")


class InvalidWebhook(PaymentError):
    """Signature missing or wrong, body altered, or timestamp outside the tolerance."""


@dataclass(frozen=True)
class Payment:
    """A payment at the gateway: a hosted checkout page and what became of it."""

    id: str  # the gateway's id (a Checkout Session id for Stripe)
    status: str  # one of the states above
    amount: int  # rupiah
    reference: str  # ours: the purchase code it pays for
    url: str | None = None  # where the shopper pays, while pending
    payment_intent: str | None = None
    currency: str = "IDR"  # ISO 4217, upper case: a payment counts only in rupiah
    # False when the gateway's minor units were not a whole number of rupiah
    # (``amount`` is then rounded and must not count as the total).
    whole_rupiah: bool = True


@dataclass(frozen=True)
class Refund:
    id: str
    amount: int  # rupiah
    status: str  # "succeeded" | "pending" | "failed"


@dataclass(frozen=True)
class WebhookEvent:
    id: str  # unique per event: applying it twice must change nothing
    type: str
    payment: Payment | None = None
    data: dict = field(default_factory=dict)


class PaymentGateway(Protocol):
    name: str

    def create_payment(self, *, amount: int, reference: str, description: str,
                       success_url: str, cancel_url: str, idempotency_key: str,
                       expires_in_minutes: int = 30, metadata: dict | None = None) -> Payment: ...

    def retrieve_payment(self, payment_id: str) -> Payment: ...

    def cancel_payment(self, payment_id: str) -> Payment: ...

    def refund(self, payment: Payment, amount: int | None = None, *,
               idempotency_key: str) -> Refund: ...

    def retrieve_refund(self, refund_id: str) -> Refund: ...

    def parse_webhook(self, body: bytes, headers: dict[str, str]) -> WebhookEvent: ...


GATEWAYS: dict[str, Callable[[dict], PaymentGateway]] = {}


def register(name: str):
    def add(factory):
        GATEWAYS[name] = factory
        return factory
    return add


def gateway_from_config(config) -> PaymentGateway:
    from . import cash, stripe_gateway  # noqa: F401 (they register themselves)

    name = config["PAYMENT_GATEWAY"]
    if name not in GATEWAYS:
        raise ValueError(f"unknown PAYMENT_GATEWAY {name!r}; known: {sorted(GATEWAYS)}")
    return GATEWAYS[name](config)


def current() -> PaymentGateway:
    """The gateway this app is configured for, made once per app."""
    from flask import current_app

    extensions = current_app.extensions
    if extensions.get("gerai.gateway") is None:
        extensions["gerai.gateway"] = gateway_from_config(current_app.config)
    return extensions["gerai.gateway"]
