"""Stripe Checkout behind Gerai's PaymentGateway protocol: the only module that imports stripe.

Each ``StripeGateway`` has its own ``stripe.StripeClient`` (API key, base address, HTTP
client, retries), so a real Stripe gateway and the local sandbox can live in one
process; the global ``stripe.api_key``/``api_base`` are never touched. Rupiah become
Stripe's minor units here and nowhere else (IDR has two decimals in Stripe's API:
Rp15.000 is ``1500000``), and come back as whole rupiah.

A payment is a Checkout Session; its id is the session id. Gerai's states come from
the session and, when there is one, its PaymentIntent:

    session open                                   -> pending
    session complete, payment_status paid          -> paid
    session complete, unpaid, intent failed        -> failed  (sandbox "Tolak", async failures)
    session complete, unpaid, intent processing    -> pending (a slow method, e.g. a transfer)
    session expired                                -> expired
    intent canceled                                -> cancelled
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime

import stripe

from .gateway import (
    CANCELLED,
    EXPIRED,
    FAILED,
    PAID,
    PENDING,
    GatewayUnavailable,
    InvalidWebhook,
    Payment,
    PaymentDeclined,
    PaymentError,
    Refund,
    WebhookEvent,
    register,
)

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.stripe.com"
SANDBOX_API_KEY = "sk_test_sandbox"
WEBHOOK_TOLERANCE = 300  # seconds, both ways: too old is a replay, too new a forged clock
# Stripe's zero-decimal currencies; every other one (IDR included) counts hundredths.
ZERO_DECIMAL = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf",
                          "ugx", "vnd", "vuv", "xaf", "xof", "xpf"})
# expires_at is rounded up to this grid so that a create retried with the same
# idempotency key, in another process, usually sends the very same parameters.
EXPIRY_GRID = 300
MIN_EXPIRY_MINUTES, MAX_EXPIRY_MINUTES = 30, 24 * 60


class StripeGateway:
    """Payments through Stripe Checkout (or the sandbox, which speaks the same API)."""

    def __init__(self, api_key: str, api_base: str = DEFAULT_API_BASE, webhook_secret: str = "",
                 currency: str = "idr", timeout: float = 10.0, *, max_network_retries: int = 2,
                 name: str = "stripe"):
        if not api_key:
            raise ValueError("a Stripe API key is required")
        self.name = name
        self.currency = currency.lower()
        self._per_rupiah = 1 if self.currency in ZERO_DECIMAL else 100
        self._webhook_secret = webhook_secret
        self._http = stripe.RequestsClient(timeout=timeout)
        self._client = stripe.StripeClient(
            api_key, base_addresses={"api": api_base.rstrip("/")}, http_client=self._http,
            max_network_retries=max_network_retries)
        # idempotency key -> expires_at first sent with it (see _expires_at)
        self._expiries: OrderedDict[str, int] = OrderedDict()
        self._expiries_lock = threading.Lock()

    def close(self) -> None:
        """Close this thread's pooled connections (the HTTP client keeps one pool per thread)."""
        self._http.close()

    # -- money --------------------------------------------------------------------------------

    def to_minor(self, rupiah: int) -> int:
        if isinstance(rupiah, bool) or not isinstance(rupiah, int):
            raise TypeError(f"amounts are whole rupiah (int), not {type(rupiah).__name__}")
        return rupiah * self._per_rupiah

    def from_minor(self, minor: int | None) -> int:
        # Gerai only ever asks for whole rupiah; round anything else half up, never drop it.
        return (int(minor or 0) + self._per_rupiah // 2) // self._per_rupiah

    # -- the protocol -------------------------------------------------------------------------

    def create_payment(self, *, amount: int, reference: str, description: str,
                       success_url: str, cancel_url: str, idempotency_key: str,
                       expires_in_minutes: int = 30, metadata: dict | None = None,
                       expires_at: datetime | None = None) -> Payment:
        if self.to_minor(amount) <= 0:
            raise ValueError("a payment amount must be positive")
        params = {
            "mode": "payment",
            "line_items": [{
                "price_data": {"currency": self.currency, "unit_amount": self.to_minor(amount),
                               "product_data": {"name": description}},
                "quantity": 1,
            }],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": reference,
            "metadata": {**{k: str(v) for k, v in (metadata or {}).items()},
                         "reference": reference},
            "expires_at": self._expires_at(idempotency_key, expires_in_minutes),
            "payment_intent_data": {"metadata": {"reference": reference}},
        }
        with self._calling("create a Checkout Session"):
            session = self._client.v1.checkout.sessions.create(
                params, {"idempotency_key": idempotency_key})
        return self._payment_from_session(session.to_dict())

    def retrieve_payment(self, payment_id: str) -> Payment:
        with self._calling("retrieve a Checkout Session"):
            session = self._client.v1.checkout.sessions.retrieve(
                payment_id, {"expand": ["payment_intent"]})
        return self._payment_from_session(session.to_dict())

    def cancel_payment(self, payment_id: str) -> Payment:
        """Expire the session so it can no longer be paid; refuses a paid one.

        Stripe records a cancelled session as ``expired``: a later retrieve_payment
        says expired, this answer says cancelled. Cancelling an already finished,
        unpaid payment (expired, failed) changes nothing and answers its state.
        """
        try:
            with self._calling("expire a Checkout Session"):
                session = self._client.v1.checkout.sessions.expire(payment_id)
        except PaymentError as refusal:
            if not isinstance(refusal.__cause__, stripe.InvalidRequestError) or \
                    refusal.__cause__.http_status == 404:
                raise
            current = self.retrieve_payment(payment_id)  # not open: find out why
            if current.status == PAID:
                raise PaymentError("Pembayaran ini sudah lunas dan tidak dapat dibatalkan.",
                                   detail=f"{payment_id} is already paid") from refusal
            if current.status in (EXPIRED, FAILED, CANCELLED):
                return current
            raise
        return replace(self._payment_from_session(session.to_dict()), status=CANCELLED, url=None)

    def refund(self, payment: Payment, amount: int | None = None, *,
               idempotency_key: str) -> Refund:
        intent = payment.payment_intent or self.retrieve_payment(payment.id).payment_intent
        if not intent:
            raise PaymentError("Pembayaran ini belum dibayar, jadi tidak ada yang dikembalikan.",
                               detail=f"{payment.id} has no PaymentIntent to refund")
        params: dict = {"payment_intent": intent,
                        "metadata": {"reference": payment.reference}}
        if amount is not None:
            if self.to_minor(amount) <= 0:
                raise ValueError("a refund amount must be positive")
            params["amount"] = self.to_minor(amount)
        with self._calling("create a Refund"):
            refund = self._client.v1.refunds.create(params, {"idempotency_key": idempotency_key})
        return self._refund(refund.to_dict())

    def retrieve_refund(self, refund_id: str) -> Refund:
        with self._calling("retrieve a Refund"):
            refund = self._client.v1.refunds.retrieve(refund_id)
        return self._refund(refund.to_dict())

    def _refund(self, refund: dict) -> Refund:
        status = {"succeeded": "succeeded", "pending": "pending", "requires_action": "pending",
                  "failed": "failed", "canceled": "failed"}.get(refund.get("status"), "pending")
        return Refund(id=refund["id"], amount=self.from_minor(refund.get("amount")), status=status)

    def parse_webhook(self, body: bytes, headers: dict[str, str]) -> WebhookEvent:
        header = next((value for name, value in headers.items()
                       if name.lower() == "stripe-signature"), None)
        try:
            stripe.WebhookSignature.verify_header(body, header, self._webhook_secret,
                                                  WEBHOOK_TOLERANCE)
        except stripe.SignatureVerificationError as error:
            raise InvalidWebhook(detail=f"webhook refused: {error.user_message}") from error
        except UnicodeDecodeError as error:
            raise InvalidWebhook(detail="webhook body is not UTF-8") from error
        # The SDK refuses signatures that are too old; one from the future is as suspect.
        if _signed_at(header) > _now() + WEBHOOK_TOLERANCE:
            raise InvalidWebhook(detail="webhook timestamp is too far in the future")
        try:
            event = json.loads(body)
            event_id, event_type, obj = event["id"], event["type"], event["data"]["object"]
        except (ValueError, KeyError, TypeError, RecursionError) as error:
            # RecursionError: nested deeper than json goes, which no Stripe event is
            raise InvalidWebhook(detail="signed webhook body is not a Stripe event") from error
        if not isinstance(obj, dict):
            raise InvalidWebhook(detail="signed webhook event has no object")
        return self._event(event_id, event_type, obj)

    # -- mapping ------------------------------------------------------------------------------

    def _event(self, event_id: str, event_type: str, obj: dict) -> WebhookEvent:
        session_states = {
            "checkout.session.async_payment_succeeded": PAID,
            "checkout.session.async_payment_failed": FAILED,
            "checkout.session.expired": EXPIRED,
        }
        if event_type == "checkout.session.completed":
            return WebhookEvent(event_id, event_type, self._payment_from_session(obj))
        if event_type in session_states:
            payment = self._payment_from_session(obj, status=session_states[event_type])
            return WebhookEvent(event_id, event_type, payment)
        intent_states = {"payment_intent.payment_failed": FAILED,
                         "payment_intent.canceled": CANCELLED}
        if event_type in intent_states:
            # The session is not named in a PaymentIntent: the payment is found by its
            # intent id (Payment.payment_intent, also put in id) or the reference.
            payment = Payment(id=obj.get("id", ""), status=intent_states[event_type],
                              amount=self.from_minor(obj.get("amount")),
                              reference=(obj.get("metadata") or {}).get("reference", ""),
                              payment_intent=obj.get("id"))
            return WebhookEvent(event_id, event_type, payment)
        if event_type in ("refund.created", "refund.updated", "refund.failed"):
            refund = self._refund(obj)
            return WebhookEvent(event_id, event_type, data={"refund": refund})
        if event_type == "charge.refunded":
            return WebhookEvent(event_id, event_type, data={
                "charge": obj.get("id"),
                "payment_intent": obj.get("payment_intent"),
                "reference": (obj.get("metadata") or {}).get("reference"),
                "amount": self.from_minor(obj.get("amount")),
                "amount_refunded": self.from_minor(obj.get("amount_refunded")),
                "refunded": bool(obj.get("refunded")),
            })
        return WebhookEvent(event_id, event_type, data={"object": obj.get("object"),
                                                        "id": obj.get("id")})

    def _payment_from_session(self, session: dict, status: str | None = None) -> Payment:
        intent = session.get("payment_intent")
        intent_id = intent.get("id") if isinstance(intent, dict) else intent
        status = status or _session_status(session, intent if isinstance(intent, dict) else None)
        return Payment(
            id=session["id"],
            status=status,
            amount=self.from_minor(session.get("amount_total")),
            reference=session.get("client_reference_id")
            or (session.get("metadata") or {}).get("reference", ""),
            url=session.get("url") if status == PENDING else None,
            payment_intent=intent_id,
            currency=(session.get("currency") or self.currency).upper(),
            whole_rupiah=int(session.get("amount_total") or 0) % self._per_rupiah == 0,
        )

    def _expires_at(self, idempotency_key: str, minutes: int) -> int:
        """The deadline sent with this key: the same one again when the create is retried.

        Stripe refuses a key reused with different parameters, and "now + 30 minutes"
        differs from one second to the next. A retry in this process reuses the
        remembered value; one from another process lands on the same rounded value
        unless the two straddle a 5-minute mark. Out-of-range durations go to Stripe
        unrounded, for it to refuse.
        """
        with self._expiries_lock:
            if idempotency_key in self._expiries:
                self._expiries.move_to_end(idempotency_key)
                return self._expiries[idempotency_key]
        now = _now()
        target = now + minutes * 60
        if MIN_EXPIRY_MINUTES <= minutes <= MAX_EXPIRY_MINUTES:
            rounded = math.ceil(target / EXPIRY_GRID) * EXPIRY_GRID
            if rounded - now < MIN_EXPIRY_MINUTES * 60 + 60:  # leave a minute for the trip
                rounded += EXPIRY_GRID
            while rounded - now > MAX_EXPIRY_MINUTES * 60 - 60:
                rounded -= EXPIRY_GRID
            target = rounded
        expires_at = int(target)
        with self._expiries_lock:
            self._expiries[idempotency_key] = expires_at
            while len(self._expiries) > 10_000:
                self._expiries.popitem(last=False)
        return expires_at

    @contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        """Stripe's errors as Gerai's: each names what the shopper is told."""
        try:
            yield
        except stripe.CardError as error:
            raise PaymentDeclined(detail=f"{what}: declined ({error.code}): "
                                         f"{error.user_message}") from error
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
            # Unreachable, timed out, throttled or a 5xx: the basket is safe, try again later.
            raise GatewayUnavailable(detail=f"{what}: {type(error).__name__}: "
                                            f"{error.user_message}") from error
        except (stripe.InvalidRequestError, stripe.IdempotencyError) as error:
            # Our request was wrong (unknown id, a key reused with other parameters...).
            raise PaymentError(detail=f"{what}: {type(error).__name__} "
                                      f"({error.code or error.http_status}): "
                                      f"{error.user_message}") from error
        except (stripe.AuthenticationError, stripe.PermissionError) as error:
            log.error("Stripe refused our credentials while trying to %s: %s", what, error)
            raise PaymentError(detail=f"{what}: {type(error).__name__}: "
                                      f"{error.user_message}") from error
        except stripe.StripeError as error:
            raise PaymentError(detail=f"{what}: {type(error).__name__}: "
                                      f"{error.user_message}") from error


def _now() -> float:
    return time.time()


def _session_status(session: dict, intent: dict | None) -> str:
    if session.get("status") == "expired":
        return EXPIRED
    if intent is not None and intent.get("status") == "canceled":
        return CANCELLED
    if session.get("status") == "complete":
        if session.get("payment_status") in ("paid", "no_payment_required"):
            return PAID
        if intent is not None and intent.get("status") == "requires_payment_method" \
                and intent.get("last_payment_error"):
            return FAILED
        return PENDING  # complete but unpaid: a delayed method still settling
    # Open: the shopper may still pay, even after a declined card (Checkout lets them
    # try another); an intent that requires_action (3-D Secure) is finished on the
    # hosted page, so it stays pending with the page's url.
    return PENDING


def _signed_at(header: str | None) -> int:
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                return int(value)
            except ValueError:
                break
    raise InvalidWebhook(detail="webhook signature has no timestamp")


# -- factories: PAYMENT_GATEWAY = "stripe" | "sandbox" ---------------------------------------------

def _setting(config, key: str, default=None):
    value = config.get(key, default)
    if value in (None, ""):
        raise ValueError(f"{key} must be set to use PAYMENT_GATEWAY={config.get('PAYMENT_GATEWAY')!r}")
    return value


@register("stripe")
def stripe_from_config(config) -> StripeGateway:
    return StripeGateway(
        api_key=_setting(config, "STRIPE_API_KEY"),
        api_base=config.get("STRIPE_API_BASE") or DEFAULT_API_BASE,
        webhook_secret=_setting(config, "STRIPE_WEBHOOK_SECRET"),
        timeout=float(config.get("PAYMENT_GATEWAY_TIMEOUT", 10.0)),
        max_network_retries=int(config.get("PAYMENT_GATEWAY_RETRIES", 2)),
        name="stripe",
    )


@register("sandbox")
def sandbox_from_config(config) -> StripeGateway:
    return StripeGateway(
        api_key=SANDBOX_API_KEY,
        api_base=_setting(config, "SANDBOX_GATEWAY_URL"),
        webhook_secret=_setting(config, "SANDBOX_WEBHOOK_SECRET"),
        timeout=float(config.get("PAYMENT_GATEWAY_TIMEOUT", 10.0)),
        max_network_retries=int(config.get("PAYMENT_GATEWAY_RETRIES", 2)),
        name="sandbox",
    )
