"""QRIS through Xendit behind Gerai's PaymentGateway protocol: the only module that talks
to Xendit.

Which API, and why not the SDK: Xendit has two ways to take QRIS. The official
``xendit-python`` SDK (7.x) covers the Payment Requests API, but for QRIS that API
refuses an ``expires_at`` (a stand's code must die with its charge, in minutes, not
Xendit's 48 hours), has no endpoint to list a code's payments, and its callbacks are
shaped differently. The QR Codes API (``/qr_codes``, ``api-version: 2022-07-31``) does
what a stand needs and is the one Xendit documents for point-of-sale QRIS; the SDK
dropped it in 2023. So this is a thin client over ``requests`` (already installed for
the stripe SDK) for exactly five calls:

    POST /qr_codes                                  create a DYNAMIC code (amount, expiry)
    GET  /qr_codes/{id}                             the code (ACTIVE / INACTIVE)
    GET  /qr_codes/{id}/payments                    what was paid on it
    POST /qr_codes/payments/{payment_id}/refunds    give money back (PENDING, then a callback)
    GET  /qr_codes/payments/refunds/{refund_id}     where a refund stands
    GET  /transactions?product_id={payment_id}      the fee Xendit kept (MDR)

A Gerai payment's id is the QR code's id (``qr_...``); the money that arrives on it
is a QR payment (``qrpy_...``, ``Payment.charge_id``). Xendit cannot deactivate a
dynamic code, so "cancel" means Gerai stops counting it: a payment made on it later
is a late payment, recorded as a mismatch and given back (settlement's rules).

Callbacks carry ``x-callback-token`` (compared in constant time) and no signature;
they are deduplicated on the QR payment's id, may come six times and in any order.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
from datetime import UTC, datetime, timedelta

import requests

from ..timeutil import utcnow
from .gateway import (
    CANCELLED,
    EXPIRED,
    PAID,
    PENDING,
    GatewayUnavailable,
    InvalidWebhook,
    Payment,
    PaymentDeclined,
    PaymentError,
    Refund,
    RefundNotSupported,
    WebhookEvent,
    register,
)

log = logging.getLogger(__name__)

API_VERSION = "2022-07-31"
DEFAULT_API_URL = "https://api.xendit.co"
SANDBOX_SECRET_KEY = "xnd_development_gerai_sandbox"
SANDBOX_CALLBACK_TOKEN = "gerai-xendit-callback-development"
REFUND_STATES = {"SUCCEEDED": "succeeded", "PENDING": "pending", "FAILED": "failed"}


def _time(text: str | None) -> datetime | None:
    """Xendit's ISO 8601 times as naive UTC, as Gerai stores them."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


MAX_AMOUNT = 10**12  # rupiah: far above any QRIS payment (Bank Indonesia caps one at Rp10 jt)


def _whole(amount) -> tuple[int, bool]:
    """Xendit's amounts are rupiah, sometimes written 25000.0: (rupiah, whole or not).
    Anything that is not a finite amount in range is refused, never guessed at."""
    if isinstance(amount, bool) or not isinstance(amount, int | float) or \
            not math.isfinite(amount) or not 0 <= amount <= MAX_AMOUNT:
        raise PaymentError(detail=f"not an amount in rupiah: {amount!r}"[:200])
    return int(amount), float(amount).is_integer()


def _text(value, limit: int = 100) -> str | None:
    """A short text field of Xendit's (a currency, an app's name), or None."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        raise PaymentError(detail=f"not a short text: {value!r}"[:200])
    return value


class XenditGateway:
    """Dynamic QRIS codes through Xendit's QR Codes API (or the sandbox that speaks it)."""

    scan_to_pay = True  # the payer scans ``Payment.qr_string`` with their own app

    def __init__(self, secret_key: str, callback_token: str, api_url: str = DEFAULT_API_URL,
                 timeout: float = 10.0, *, name: str = "xendit"):
        if not secret_key:
            raise ValueError("a Xendit secret key is required (XENDIT_SECRET_KEY)")
        if not callback_token:
            raise ValueError("a Xendit callback token is required (XENDIT_CALLBACK_TOKEN)")
        self.name = name
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self._callback_token = callback_token.encode("utf-8")
        # One kept-alive connection pool per gateway (urllib3 sets TCP_NODELAY).
        self._http = requests.Session()
        self._http.auth = (secret_key, "")
        self._http.headers.update({"api-version": API_VERSION, "Accept": "application/json"})

    # --- the contract -----------------------------------------------------------------

    def create_payment(self, *, amount: int, reference: str, description: str,
                       success_url: str, cancel_url: str, idempotency_key: str,
                       expires_in_minutes: int = 30, metadata: dict | None = None,
                       expires_at: datetime | None = None) -> Payment:
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ValueError("a QRIS payment is a positive whole number of rupiah")
        # The code dies with the charge: a stand's code must not be payable after the
        # keeper gave up on it. Paying a code in its last seconds is a late payment.
        if expires_at is None:
            expires = datetime.now(UTC) + timedelta(minutes=expires_in_minutes)
        else:
            expires = expires_at.replace(tzinfo=UTC, microsecond=0)
        body = {"reference_id": reference, "type": "DYNAMIC", "currency": "IDR",
                "amount": amount, "expires_at": expires.isoformat().replace("+00:00", "Z"),
                "metadata": {**(metadata or {}), "description": description[:100]}}
        answer = self._request("POST", "/qr_codes", json=body,
                               headers={"idempotency-key": idempotency_key})
        return self._payment(answer, None)

    def retrieve_payment(self, payment_id: str) -> Payment:
        code = self._request("GET", f"/qr_codes/{self._id(payment_id, 'qr_')}")
        paid = self._request("GET", f"/qr_codes/{payment_id}/payments")
        succeeded = [p for p in paid.get("data", []) if p.get("status") == "SUCCEEDED"]
        return self._payment(code, succeeded[0] if succeeded else None)

    def cancel_payment(self, payment_id: str) -> Payment:
        # Xendit cannot switch a dynamic code off: if it was paid, that is the answer;
        # otherwise Gerai stops counting it and a later payment is handed back.
        payment = self.retrieve_payment(payment_id)
        if payment.status == PAID:
            return payment
        return Payment(id=payment.id, status=CANCELLED, amount=payment.amount,
                       reference=payment.reference, expires_at=payment.expires_at)

    def refund(self, payment: Payment, amount: int | None = None, *,
               idempotency_key: str) -> Refund:
        charge = payment.charge_id
        if not charge:
            paid = self.retrieve_payment(payment.id)
            if paid.status != PAID or not paid.charge_id:
                raise PaymentError(detail=f"{payment.id} has no payment to refund")
            charge = paid.charge_id
        body = {"reason": "REQUESTED_BY_CUSTOMER"}
        if amount is not None:
            body["amount"] = amount
        answer = self._request("POST", f"/qr_codes/payments/{self._id(charge, 'qrpy_')}/refunds",
                               json=body, headers={"idempotency-key": idempotency_key})
        return self._refund(answer)

    def retrieve_refund(self, refund_id: str) -> Refund:
        return self._refund(self._request(
            "GET", f"/qr_codes/payments/refunds/{self._id(refund_id, 'qrpyr_')}"))

    def fee(self, charge_id: str) -> int | None:
        """What Xendit kept of this QR payment (MDR plus its VAT), in rupiah; None while
        the transaction is not booked yet."""
        answer = self._request("GET", "/transactions",
                               params={"product_id": self._id(charge_id, "qrpy_")})
        for transaction in answer.get("data", []):
            fee = transaction.get("fee") or {}
            parts = [fee.get("xendit_fee"), fee.get("value_added_tax")]
            if all(isinstance(p, int | float) and not isinstance(p, bool) for p in parts):
                return round(sum(parts))
        return None

    def parse_webhook(self, body: bytes, headers: dict[str, str]) -> WebhookEvent:
        token = {k.lower(): v for k, v in headers.items()}.get("x-callback-token", "")
        if not token or not hmac.compare_digest(token.encode("utf-8", "replace"),
                                                self._callback_token):
            raise InvalidWebhook(detail="x-callback-token missing or wrong")
        try:
            event = json.loads(body)
            kind, data = event["event"], event["data"]
            if not isinstance(kind, str) or not isinstance(data, dict) or \
                    not isinstance(data.get("id"), str):
                raise TypeError
        except (ValueError, KeyError, TypeError, RecursionError) as error:
            # RecursionError: nested deeper than json goes; not Xendit's either
            raise InvalidWebhook(detail=f"not a Xendit callback: {error}"[:200]) from None
        if kind == "qr.payment":
            try:
                self._id(data["id"], "qrpy_")
                code = {"id": self._id(data.get("qr_id"), "qr_"),
                        "reference_id": _text(data.get("reference_id"), 255),
                        "currency": data.get("currency", "IDR"), "amount": data.get("amount")}
                payment = self._payment(code, data)
            except PaymentError as error:
                raise InvalidWebhook(detail=f"qr.payment: {error}") from None
            # One QR payment is one event, whatever its retries: dedupe on its id.
            return WebhookEvent(id=f"{data['id']}:{data.get('status')}", type=kind,
                                payment=payment)
        if kind == "qr.refund":
            try:
                refund = self._refund(data)
                self._id(refund.id, "qrpyr_")
            except PaymentError as error:
                raise InvalidWebhook(detail=f"qr.refund: {error}") from None
            return WebhookEvent(id=f"{refund.id}:{refund.status}", type=kind,
                                data={"refund": refund})
        return WebhookEvent(id=data["id"], type=kind)

    # --- the wire ----------------------------------------------------------------------

    @staticmethod
    def _id(value: str, prefix: str) -> str:
        # Ids go into URL paths: only Xendit's own shape, never a path of our choosing.
        if not isinstance(value, str) or not value.isascii() or not value.startswith(prefix) or \
                not value.replace("_", "").replace("-", "").isalnum() or len(value) > 80:
            raise PaymentError(detail=f"{value!r} is not a Xendit {prefix}... id")
        return value

    def _payment(self, code: dict, paid: dict | None) -> Payment:
        expires = _time(code.get("expires_at"))
        if paid is not None and paid.get("status") == "SUCCEEDED":
            amount, whole = _whole(paid.get("amount"))
            detail = paid.get("payment_detail") or {}
            status = PAID
        else:
            amount, whole = _whole(code.get("amount"))
            detail = {}
            if code.get("status") == "INACTIVE" or (expires and expires < utcnow()):
                status = EXPIRED
            else:
                status = PENDING
        return Payment(id=code["id"], status=status, amount=amount,
                       reference=_text(code.get("reference_id"), 255) or "",
                       currency=_text((paid or code).get("currency"), 3) or "IDR",
                       whole_rupiah=whole,
                       qr_string=_text(code.get("qr_string"), 512) if status == PENDING else None,
                       expires_at=expires, charge_id=_text(paid.get("id")) if paid else None,
                       source=_text(detail.get("source"), 30) if isinstance(detail, dict)
                       else None)

    @staticmethod
    def _refund(answer: dict) -> Refund:
        amount, _whole_rupiah = _whole(answer.get("amount"))
        return Refund(id=_text(answer.get("id")) or "", amount=amount,
                      status=REFUND_STATES.get(_text(answer.get("status")), "pending"))

    def _request(self, method: str, path: str, **kwargs) -> dict:
        try:
            response = self._http.request(method, self.api_url + path, timeout=self.timeout,
                                          **kwargs)
        except requests.RequestException as error:
            raise GatewayUnavailable(detail=f"Xendit {method} {path}: {error}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code < 300:
            return answer
        code = answer.get("error_code", "") if isinstance(answer, dict) else ""
        detail = f"Xendit {method} {path}: {response.status_code} {code} {answer.get('message', '')}"
        if response.status_code >= 500 or response.status_code == 429:
            raise GatewayUnavailable(detail=detail)
        if code in ("REFUND_NOT_SUPPORTED", "CHANNEL_NOT_SUPPORTED"):
            raise RefundNotSupported(detail=detail)
        if code in ("DUPLICATE_ERROR", "IDEMPOTENCY_ERROR"):
            raise PaymentError(detail=detail)
        if response.status_code == 402:
            raise PaymentDeclined(detail=detail)
        raise PaymentError(detail=detail)


@register("xendit")
def xendit_from_config(config) -> XenditGateway:
    return XenditGateway(config["XENDIT_SECRET_KEY"], config["XENDIT_CALLBACK_TOKEN"],
                         config.get("XENDIT_API_URL") or DEFAULT_API_URL,
                         timeout=config.get("PAYMENT_GATEWAY_TIMEOUT", 10))
