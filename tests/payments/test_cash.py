"""Cash taken at a stand: paid the moment the seller records it."""

from __future__ import annotations

import pytest

from storefront.payments.cash import CashGateway
from storefront.payments.gateway import CANCELLED, PAID, InvalidWebhook, PaymentError


@pytest.fixture
def cash():
    return CashGateway()


def record(cash, amount=20_000):
    return cash.create_payment(amount=amount, reference="GR-STAND-7", description="Batik tulis",
                               success_url="", cancel_url="", idempotency_key="stand-7-1")


def test_recorded_cash_is_paid_at_once(cash):
    payment = record(cash)

    assert payment.status == PAID
    assert payment.id.startswith("cash_") and len(payment.id) > len("cash_") + 16
    assert (payment.amount, payment.reference, payment.url) == (20_000, "GR-STAND-7", None)
    assert record(cash).id != payment.id


def test_retrieve_cancel_refund(cash):
    payment = record(cash)

    assert cash.retrieve_payment(payment.id).status == PAID
    assert cash.cancel_payment(payment.id).status == CANCELLED
    full = cash.refund(payment, idempotency_key="r1")
    assert (full.amount, full.status) == (20_000, "succeeded")
    assert cash.refund(payment, 5_000, idempotency_key="r2").amount == 5_000


def test_refusals(cash):
    payment = record(cash)
    with pytest.raises(PaymentError):
        cash.refund(payment, 20_001, idempotency_key="r3")
    with pytest.raises(PaymentError):
        cash.retrieve_payment("cs_test_not_cash")
    with pytest.raises(ValueError):
        record(cash, amount=0)
    with pytest.raises(InvalidWebhook):
        cash.parse_webhook(b"{}", {"Stripe-Signature": "t=1,v1=x"})
