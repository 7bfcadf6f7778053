"""The payment gateway contract: what Gerai asks of any gateway, and what it gets back.

Amounts here are whole rupiah; an adapter converts to its gateway's minor units.
Gateways are chosen by name from configuration and each registers a factory in
``GATEWAYS``. Several serve at once: ``PAYMENT_GATEWAY`` takes cards online (a hosted
page), ``QRIS_GATEWAY`` makes QRIS codes (online and at stands), ``STAND_GATEWAY``
serves fair stands. A purchase remembers the name of the gateway it was made with,
and everything after (status, cancel, refund, webhooks) goes back to that one.

Two kinds of payment come back from ``create_payment``: one the payer completes on a
page (``url``, Stripe Checkout), and one the payer completes by scanning a QR code
with any e-wallet or bank app (``qr_string``, a QRIS payload).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
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


class RefundNotSupported(PaymentError):
    """The payer's app cannot take money back through the gateway (Xendit: QRIS paid with
    GoPay); the refund has to be made by hand, in cash."""

    message = _l("Pembayaran ini tidak bisa dikembalikan lewat gateway; kembalikan tunai.")


class InvalidWebhook(PaymentError):
    """Signature missing or wrong, body altered, or timestamp outside the tolerance."""


@dataclass(frozen=True)
class Payment:
    """A payment at the gateway: a hosted checkout page or a QR code, and what became of it."""

    id: str  # the gateway's id (a Checkout Session for Stripe, a QR code for Xendit)
    status: str  # one of the states above
    amount: int  # rupiah
    reference: str  # ours: the purchase code it pays for
    url: str | None = None  # where the shopper pays, while pending
    payment_intent: str | None = None
    currency: str = "IDR"  # ISO 4217, upper case: a payment counts only in rupiah
    # False when the gateway's minor units were not a whole number of rupiah
    # (``amount`` is then rounded and must not count as the total).
    whole_rupiah: bool = True
    qr_string: str | None = None  # a QRIS payload to show as the QR, while pending
    expires_at: datetime | None = None  # when the gateway stops taking it (UTC, naive)
    charge_id: str | None = None  # the money movement itself, once paid (Xendit's qrpy_...)
    fee: int | None = None  # what the gateway keeps (MDR), rupiah, when it says
    source: str | None = None  # the payer's app or bank, when the gateway says


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
                       expires_in_minutes: int = 30, metadata: dict | None = None,
                       expires_at: datetime | None = None) -> Payment:
        """``expires_at`` (naive UTC) is when Gerai stops holding the stock: a gateway
        that can makes the payment die then; the same moment on a retry, so the retry
        sends the very same request under its idempotency key."""

    def retrieve_payment(self, payment_id: str) -> Payment: ...

    def cancel_payment(self, payment_id: str) -> Payment:
        """Stop a payment that is not paid. A paid one stays paid: the answer is then the
        paid payment, or a PaymentError (the runner asks ``retrieve_payment`` after one)."""

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


def gateway_from_config(config, name: str | None = None) -> PaymentGateway:
    from . import cash, stripe_gateway, xendit_gateway  # noqa: F401 (they register themselves)

    name = name or config["PAYMENT_GATEWAY"]
    if name not in GATEWAYS:
        raise ValueError(f"unknown payment gateway {name!r}; known: {sorted(GATEWAYS)}")
    return GATEWAYS[name](config)


def current() -> PaymentGateway:
    """The card gateway (``PAYMENT_GATEWAY``), made once per app."""
    from flask import current_app

    extensions = current_app.extensions
    if extensions.get("gerai.gateway") is None:
        extensions["gerai.gateway"] = gateway_from_config(current_app.config)
    return extensions["gerai.gateway"]


def get(name: str) -> PaymentGateway:
    """The gateway called ``name``, made once per app: the one a purchase was made with."""
    from flask import current_app

    if name not in enabled():
        # PAYMENT_GATEWAY=none and no QRIS: nothing takes money here; say so, no 500.
        raise GatewayUnavailable(detail=f"payment gateway {name!r} is not configured here")
    if name == current_app.config["PAYMENT_GATEWAY"]:
        return current()
    made = current_app.extensions.setdefault("gerai.gateways", {})
    if made.get(name) is None:
        made[name] = gateway_from_config(current_app.config, name)
    return made[name]


def qris_gateway() -> str:
    """The name of the gateway that makes QRIS codes, or "" when none is configured."""
    from flask import current_app

    return current_app.config.get("QRIS_GATEWAY") or ""


def stand_gateway() -> str:
    """The gateway for a fair stand's QR charges: QRIS when there is one."""
    from flask import current_app

    return current_app.config.get("STAND_GATEWAY") or qris_gateway() or \
        current_app.config["PAYMENT_GATEWAY"]


def online_methods() -> list[tuple[str, str]]:
    """(method, gateway name) offered at online checkout, QRIS first: most Indonesian
    shoppers pay with an e-wallet or bank app."""
    from flask import current_app

    methods = []
    if qris_gateway():
        methods.append(("qris", qris_gateway()))
    card = current_app.config["PAYMENT_GATEWAY"]
    if card and card not in ("none", "cash") and card != qris_gateway():
        methods.append(("card", card))
    return methods


def enabled() -> set[str]:
    """Every gateway name this app takes money through (and accepts webhooks from)."""
    from flask import current_app

    names = {current_app.config["PAYMENT_GATEWAY"], qris_gateway(), stand_gateway(), "cash"}
    return {name for name in names if name and name != "none"}
