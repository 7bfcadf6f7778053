"""Cash taken by a seller (at a fair stand): a payment that is paid the moment it is recorded.

No network and no memory: the record of the sale is Gerai's own database. Ids are
``cash_<random>`` and encode nothing, so ``retrieve_payment`` can only say that a
cash payment is paid; its amount and reference are in Gerai's records (it answers
0 and ""). Cancelling or refunding hands back the result at once (the money
changes hands at the stand). Cash has no webhooks.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from .gateway import (
    CANCELLED,
    PAID,
    InvalidWebhook,
    Payment,
    PaymentError,
    Refund,
    WebhookEvent,
    register,
)

PREFIX = "cash_"


class CashGateway:
    name = "cash"

    def create_payment(self, *, amount: int, reference: str, description: str,
                       success_url: str, cancel_url: str, idempotency_key: str,
                       expires_in_minutes: int = 30, metadata: dict | None = None,
                       expires_at: datetime | None = None) -> Payment:
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ValueError("a cash payment is a positive whole number of rupiah")
        return Payment(id=PREFIX + secrets.token_hex(12), status=PAID, amount=amount,
                       reference=reference)

    def retrieve_payment(self, payment_id: str) -> Payment:
        return Payment(id=self._checked(payment_id), status=PAID, amount=0, reference="")

    def cancel_payment(self, payment_id: str) -> Payment:
        return Payment(id=self._checked(payment_id), status=CANCELLED, amount=0, reference="")

    def refund(self, payment: Payment, amount: int | None = None, *,
               idempotency_key: str) -> Refund:
        self._checked(payment.id)
        amount = payment.amount if amount is None else amount
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ValueError("a refund is a positive whole number of rupiah")
        if payment.amount and amount > payment.amount:
            raise PaymentError("Jumlah pengembalian melebihi pembayaran.",
                               detail=f"refund of {amount} exceeds cash payment {payment.amount}")
        return Refund(id=PREFIX + "refund_" + secrets.token_hex(12), amount=amount,
                      status="succeeded")

    def retrieve_refund(self, refund_id: str) -> Refund:
        if not isinstance(refund_id, str) or not refund_id.startswith(PREFIX + "refund_"):
            raise PaymentError(detail=f"{refund_id!r} is not a cash refund")
        return Refund(id=refund_id, amount=0, status="succeeded")

    def parse_webhook(self, body: bytes, headers: dict[str, str]) -> WebhookEvent:
        raise InvalidWebhook(detail="the cash gateway sends no webhooks")

    @staticmethod
    def _checked(payment_id: str) -> str:
        if not isinstance(payment_id, str) or not payment_id.startswith(PREFIX):
            raise PaymentError(detail=f"{payment_id!r} is not a cash payment")
        return payment_id


@register("cash")
def cash_from_config(config) -> CashGateway:
    return CashGateway()
