"""The Xendit adapter against the Xendit-compatible sandbox, over real HTTP on loopback
(issue 15): QRIS payloads that an independent parser (qriskit) accepts, idempotency,
callbacks with the token, late payments, refunds (and the GoPay case), fees, and keys."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import qriskit
import requests

from storefront.payments import gateway as contract
from storefront.payments import qris
from storefront.payments.xendit_gateway import XenditGateway
from storefront.payments.xendit_sandbox import mdr
from storefront.timeutil import utcnow
from tests.payments.conftest import XENDIT_KEY as KEY
from tests.payments.conftest import XENDIT_TOKEN as TOKEN
from tests.payments.conftest import xendit_control as control


@pytest.fixture
def xendit(xendit_sandbox):
    return XenditGateway(KEY, TOKEN, xendit_sandbox.url, timeout=5)


def _new(xendit, amount=25_000, key=None, **kwargs):
    n = time.monotonic_ns()
    return xendit.create_payment(amount=amount, reference=f"ST-T{n}", description="uji",
                                 success_url="", cancel_url="", idempotency_key=key or f"k{n}",
                                 **kwargs)


def test_a_charge_is_a_dynamic_qris_for_its_amount_that_an_independent_parser_accepts(xendit):
    payment = _new(xendit, 25_000)
    assert payment.status == contract.PENDING and payment.id.startswith("qr_")
    parsed = qriskit.parse(payment.qr_string, strict=True)
    assert parsed.is_dynamic and int(parsed.amount) == 25_000
    assert [i for i in qriskit.validate(payment.qr_string) if i.severity == "error"] == []
    assert parsed.crc == qris.crc(payment.qr_string[:-4])
    assert parsed.currency == "360" and parsed.country == "ID"
    assert len(parsed.merchant_name) <= 25 and len(parsed.merchant_city) <= 15
    assert parsed.nmid and parsed.nmid.startswith("ID")
    ours = qris.parse(payment.qr_string)
    assert ours.amount == 25_000 and ours.dynamic and ours.reference == payment.reference[:25]


def test_the_same_idempotency_key_makes_one_code(xendit):
    first = _new(xendit, 30_000, key="same-key-1", expires_at=utcnow() + timedelta(minutes=15))
    again = xendit.create_payment(amount=30_000, reference=first.reference, description="uji",
                                  success_url="", cancel_url="", idempotency_key="same-key-1",
                                  expires_at=first.expires_at)
    assert again.id == first.id and again.qr_string == first.qr_string


def test_the_code_expires_when_the_charge_does(xendit):
    payment = _new(xendit, 10_000, expires_at=utcnow() + timedelta(minutes=15))
    assert abs((payment.expires_at - utcnow()).total_seconds() - 900) < 5


def test_paid_on_the_wallet_the_callback_carries_the_token_and_the_payment(xendit, xendit_sandbox,
                                                                            callback_receiver):
    payment = _new(xendit, 45_000)
    page = requests.post(f"{xendit_sandbox.url}/wallet", data={"qr_string": payment.qr_string},
                         timeout=5)
    assert page.status_code == 200 and "Rp45.000" in page.text
    paid = requests.post(f"{xendit_sandbox.url}/wallet/pay", data={"qr_string": payment.qr_string,
                                                            "app": "DANA", "hasil": "bayar"},
                         timeout=5)
    assert paid.status_code == 200 and "Berhasil" in paid.text
    now = xendit.retrieve_payment(payment.id)
    assert now.status == contract.PAID and now.amount == 45_000 and now.source == "DANA"
    headers, body = callback_receiver.wait("qr.payment", now.charge_id)[0]
    assert headers["X-Callback-Token"] == TOKEN
    event = xendit.parse_webhook(json.dumps(body).encode(), headers)
    assert event.payment.id == payment.id and event.payment.status == contract.PAID
    assert event.payment.amount == 45_000 and event.payment.reference == payment.reference
    assert event.id.startswith(now.charge_id)
    # A dynamic code is paid once.
    again = requests.post(f"{xendit_sandbox.url}/wallet/pay", data={"qr_string": payment.qr_string,
                                                             "hasil": "bayar"}, timeout=5)
    assert again.status_code == 400


@pytest.mark.parametrize("headers", [{}, {"x-callback-token": ""},
                                     {"x-callback-token": "wrong"},
                                     {"x-callback-token": TOKEN + "x"}])
def test_a_callback_without_the_right_token_is_refused(xendit, headers):
    body = json.dumps({"event": "qr.payment", "data": {"id": "qrpy_1", "qr_id": "qr_1",
                                                       "amount": 1, "status": "SUCCEEDED"}})
    with pytest.raises(contract.InvalidWebhook):
        xendit.parse_webhook(body.encode(), headers)


def test_a_cancelled_code_that_is_paid_late_still_says_paid(xendit, xendit_sandbox):
    payment = _new(xendit, 12_000)
    assert xendit.cancel_payment(payment.id).status == contract.CANCELLED
    control(xendit_sandbox, f"qr_codes/{payment.id}/expire")
    assert xendit.retrieve_payment(payment.id).status == contract.EXPIRED
    assert control(xendit_sandbox, f"qr_codes/{payment.id}/pay", {"late": True}).status_code == 200
    late = xendit.retrieve_payment(payment.id)
    assert late.status == contract.PAID and late.charge_id.startswith("qrpy_")


def test_refunds_go_back_through_the_api_except_for_gopay(xendit, xendit_sandbox, callback_receiver):
    paid_ovo = _new(xendit, 20_000)
    control(xendit_sandbox, f"qr_codes/{paid_ovo.id}/pay", {"source": "OVO"})
    refund = xendit.refund(xendit.retrieve_payment(paid_ovo.id), idempotency_key="r-ovo")
    assert refund.status == "pending" and refund.amount == 20_000
    headers, body = callback_receiver.wait("qr.refund", refund.id)[0]
    event = xendit.parse_webhook(json.dumps(body).encode(), headers)
    assert event.data["refund"].status == "succeeded"
    assert xendit.retrieve_refund(refund.id).status == "succeeded"
    # The same key again: the same refund, not a second one.
    assert xendit.refund(xendit.retrieve_payment(paid_ovo.id),
                         idempotency_key="r-ovo").id == refund.id

    paid_gopay = _new(xendit, 20_000)
    control(xendit_sandbox, f"qr_codes/{paid_gopay.id}/pay", {"source": "GOPAY"})
    with pytest.raises(contract.RefundNotSupported):
        xendit.refund(xendit.retrieve_payment(paid_gopay.id), idempotency_key="r-gopay")


def test_the_fee_is_the_micro_merchant_mdr(xendit, xendit_sandbox):
    small, large = _new(xendit, 500_000), _new(xendit, 600_000)
    for payment in (small, large):
        control(xendit_sandbox, f"qr_codes/{payment.id}/pay")
    assert xendit.fee(xendit.retrieve_payment(small.id).charge_id) == 0 == mdr(500_000)
    assert xendit.fee(xendit.retrieve_payment(large.id).charge_id) == 1_800 == mdr(600_000)


def test_the_sandbox_answers_only_its_own_key(xendit_sandbox):
    other = XenditGateway("xnd_development_someone_else", TOKEN, xendit_sandbox.url, timeout=5)
    with pytest.raises(contract.PaymentError):
        _new(other)
    assert control(xendit_sandbox, "callbacks", {"enabled": False}, key="xnd_development_x") \
        .status_code == 401
    assert requests.get(f"{xendit_sandbox.url}/_sandbox/callbacks", timeout=5).status_code == 401
    assert requests.post(f"{xendit_sandbox.url}/qr_codes", json={}, timeout=5).status_code == 401


def test_ids_that_are_not_xendits_never_reach_a_url(xendit):
    for bad in ("../transactions", "qr_1/../../x", "", "qrpy_1"):
        with pytest.raises(contract.PaymentError):
            xendit.retrieve_payment(bad)


@pytest.mark.parametrize("payload, words", [
    ("hello world", "bukan QRIS"),
    ("https://example.com/bayar/abc", "bukan QRIS"),
    ("", "kosong"),
])
def test_what_is_not_qris_is_named(payload, words):
    with pytest.raises(qris.QrisError) as refused:
        qris.parse(payload)
    assert words in str(refused.value.message)


def test_a_damaged_code_fails_its_crc():
    good = qris.build(merchant_name="Dapur Bu Sri", merchant_city="Tangerang",
                      nmid="ID1020000000001", amount=None)
    assert qris.parse(good).dynamic is False and qriskit.parse(good).is_static
    damaged = good[:40] + ("A" if good[40] != "A" else "B") + good[41:]
    with pytest.raises(qris.QrisError) as refused:
        qris.parse(damaged)
    assert "CRC" in str(refused.value.message)
    assert not qriskit.is_valid(damaged)


@pytest.mark.parametrize("data", [
    {"id": "qrpy_1", "qr_id": "qr_1", "reference_id": "ST-1", "amount": float("nan"),
     "status": "SUCCEEDED"},
    {"id": "qrpy_1", "qr_id": "qr_1", "reference_id": "ST-1", "amount": float("inf"),
     "status": "SUCCEEDED"},
    {"id": "qrpy_1", "qr_id": "qr_1", "reference_id": "ST-1", "amount": 10**23,
     "status": "SUCCEEDED"},
    {"id": "qrpy_1", "qr_id": "qr_1", "reference_id": "ST-1", "amount": -5, "status": "SUCCEEDED"},
    {"id": "qrpy_1", "qr_id": "qr_1", "reference_id": "ST-1", "amount": "15000",
     "status": "SUCCEEDED"},
    {"id": "qrpy_1", "qr_id": "qr_1", "reference_id": "ST-1", "amount": 1, "currency": ["IDR"],
     "status": "SUCCEEDED"},
    {"id": "qrpy_1", "qr_id": "qr_1", "reference_id": "ST-1", "amount": 1, "status": "SUCCEEDED",
     "payment_detail": {"source": ["OVO"]}},
    {"id": "q" * 100_000, "qr_id": "qr_1", "reference_id": "ST-1", "amount": 1,
     "status": "SUCCEEDED"},
    {"id": "qrpy_1", "qr_id": "qr_../../transactions", "reference_id": "ST-1", "amount": 1,
     "status": "SUCCEEDED"},
    {"id": "qrpy_é", "qr_id": "qr_1", "reference_id": "ST-1", "amount": 1, "status": "SUCCEEDED"},
    {"id": "qrpy_1", "qr_id": "qr_1", "reference_id": ["ST-1"], "amount": 1,
     "status": "SUCCEEDED"},
])
def test_a_callback_with_the_token_but_not_xendits_shape_is_refused(xendit, data):
    """Only Xendit has the token, but a leaked token must not reach the database with a
    value it cannot hold (NaN, 10^23, a list) or an id that is not Xendit's."""
    body = json.dumps({"event": "qr.payment", "data": data}).encode()
    with pytest.raises(contract.InvalidWebhook):
        xendit.parse_webhook(body, {"x-callback-token": TOKEN})
