"""The gateway contract, the same tests over every gateway Gerai ships (issue 15): the
Stripe-compatible sandbox through the stripe SDK, the Xendit-compatible QRIS sandbox through
the Xendit adapter, and cash. Each is driven over its real wire (loopback HTTP) where it
has one."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import pytest

from storefront.payments import gateway as contract
from storefront.payments.cash import CashGateway
from storefront.payments.xendit_gateway import XenditGateway
from tests.payments.conftest import XENDIT_KEY, XENDIT_TOKEN, xendit_control


@dataclass
class Under:
    """A gateway under test and how a payer pays on it."""

    gateway: object
    pay: Callable[[contract.Payment], None]
    paid_at_once: bool = False  # cash: paid the moment it is recorded


@pytest.fixture(params=["stripe-sandbox", "xendit-sandbox", "cash"])
def under(request) -> Under:
    if request.param == "stripe-sandbox":
        sandbox = request.getfixturevalue("sandbox")
        return Under(request.getfixturevalue("gateway"),
                     lambda p: sandbox.control(f"sessions/{p.id}/pay"))
    if request.param == "xendit-sandbox":
        served = request.getfixturevalue("xendit_sandbox")
        return Under(XenditGateway(XENDIT_KEY, XENDIT_TOKEN, served.url, timeout=5),
                     lambda p: xendit_control(served, f"qr_codes/{p.id}/pay"))
    return Under(CashGateway(), lambda p: None, paid_at_once=True)


def create(under: Under, amount: int = 15_000) -> contract.Payment:
    n = time.time_ns()
    return under.gateway.create_payment(
        amount=amount, reference=f"GR-C{n}", description="uji kontrak",
        success_url="http://gerai.test/ok", cancel_url="http://gerai.test/batal",
        idempotency_key=f"contract-{n}")


def test_a_payment_is_for_its_amount_and_reference_and_says_how_to_pay(under):
    payment = create(under, 27_500)
    assert payment.amount == 27_500 and payment.currency == "IDR" and payment.whole_rupiah
    if under.paid_at_once:
        assert payment.status == contract.PAID
        return
    assert payment.status == contract.PENDING
    assert payment.url or payment.qr_string  # a page to visit, or a code to scan
    again = under.gateway.retrieve_payment(payment.id)
    assert (again.id, again.status, again.amount) == (payment.id, contract.PENDING, 27_500)
    assert again.reference == payment.reference


def test_paid_is_what_retrieve_says_and_cancel_cannot_undo_it(under):
    payment = create(under)
    under.pay(payment)
    assert under.gateway.retrieve_payment(payment.id).status == contract.PAID
    if not under.paid_at_once:
        # Money taken is not cancelled away: the answer is "paid", or a refusal.
        try:
            assert under.gateway.cancel_payment(payment.id).status == contract.PAID
        except contract.PaymentError:
            pass
        assert under.gateway.retrieve_payment(payment.id).status == contract.PAID


def test_an_unpaid_payment_can_be_cancelled(under):
    if under.paid_at_once:
        pytest.skip("cash is paid when it is recorded")
    payment = create(under)
    assert under.gateway.cancel_payment(payment.id).status in (contract.CANCELLED,
                                                              contract.EXPIRED)


def test_a_paid_payment_is_refunded_once_per_key(under):
    payment = create(under, 20_000)
    under.pay(payment)
    paid = under.gateway.retrieve_payment(payment.id) if not under.paid_at_once else payment
    first = under.gateway.refund(paid, 20_000, idempotency_key=f"refund-{payment.id}")
    assert first.amount == 20_000 and first.status in ("pending", "succeeded")
    if not under.paid_at_once:
        again = under.gateway.refund(paid, 20_000, idempotency_key=f"refund-{payment.id}")
        assert again.id == first.id
    assert under.gateway.retrieve_refund(first.id).status in ("pending", "succeeded")


@pytest.mark.parametrize("amount", [0, -1, 1.5, True])
def test_an_amount_that_is_not_positive_whole_rupiah_is_refused(under, amount):
    with pytest.raises((ValueError, TypeError, contract.PaymentError)):
        create(under, amount)


def test_a_webhook_without_credentials_is_refused(under):
    with pytest.raises(contract.InvalidWebhook):
        under.gateway.parse_webhook(b'{"id": "evt_1", "type": "x", "event": "qr.payment", '
                                    b'"data": {"id": "qrpy_1", "qr_id": "qr_1"}}', {})
